#include "brainsem/data/dataset_import.h"

#include <map>

#include "brainsem/core/atomic_file.h"
#include "brainsem/core/error.h"
#include "brainsem/core/text.h"
#include "brainsem/data/subject_export.h"
#include "brainsem/io/matrix_file.h"

namespace fs = std::filesystem;

namespace brainsem::data {

SubjectData import_dataset(const ImportInputs& in) {
  BRAINSEM_CHECK(!in.x.empty() && !in.rois.empty() && !in.classes.empty(),
                 "data import needs --x (samples x voxels .npy or .csv), --rois and --classes");
  const std::string xw = in.x.string();
  torch::Tensor x = io::read_matrix_file(in.x);  // [N, V] float64; .npy, .csv, .tsv or .txt
  const int64_t n = x.size(0), v = x.size(1);
  BRAINSEM_CHECK(n > 0 && v > 0, xw, ": empty matrix ", x.sizes());
  // Name the first bad cell: users need the sample and the voxel to fix their export.
  x = io::to_finite_float32(x, xw, "sample row", "voxel column", "drop or impute those voxels before importing");

  auto rois = core::read_lines(in.rois, "the ROI file (one ROI name per voxel)");
  BRAINSEM_CHECK(static_cast<int64_t>(rois.size()) == v, in.rois.string(), ": ", rois.size(), " ROI names but ", xw,
                 " has ", v, " voxel columns; give one ROI name per voxel column");
  for (size_t i = 0; i < rois.size(); ++i)
    BRAINSEM_CHECK(rois[i].find_first_of(" \t,+") == std::string::npos, in.rois.string(), ": line ", i + 1,
                   ": ROI name '", rois[i], "' is not one token (no spaces, ',' or '+', which --rois lists use)");
  auto classes = core::read_lines(in.classes, "the class file (one class name per sample)");
  BRAINSEM_CHECK(static_cast<int64_t>(classes.size()) == n, in.classes.string(), ": ", classes.size(),
                 " class names but ", xw, " has ", n, " sample rows; give one class per sample row");
  std::vector<std::string> names;
  if (!in.stimuli.empty()) {
    names = core::read_lines(in.stimuli, "the stimulus file (one stimulus name per sample)");
    BRAINSEM_CHECK(static_cast<int64_t>(names.size()) == n, in.stimuli.string(), ": ", names.size(),
                   " stimulus names but ", xw, " has ", n, " sample rows");
  } else {
    for (int64_t i = 0; i < n; ++i) names.push_back("sample" + std::to_string(i));
  }
  std::vector<bool> is_test(n, false);
  if (!in.split.empty()) {
    auto split = core::read_lines(in.split, "the split file (train or test per sample)");
    BRAINSEM_CHECK(static_cast<int64_t>(split.size()) == n, in.split.string(), ": ", split.size(),
                   " split entries but ", xw, " has ", n, " sample rows");
    for (int64_t i = 0; i < n; ++i) {
      BRAINSEM_CHECK(split[i] == "train" || split[i] == "test", in.split.string(), ": line ", i + 1, ": '", split[i],
                     "' is not 'train' or 'test'");
      is_test[i] = split[i] == "test";
    }
  }

  // ROI tokens in first-appearance order; each ROI's voxels in column order.
  SubjectData s;
  std::map<std::string, int64_t> roi_index;
  std::vector<std::vector<int64_t>> columns;
  for (int64_t c = 0; c < v; ++c) {
    auto [it, fresh] = roi_index.emplace(rois[c], static_cast<int64_t>(s.roi_names.size()));
    if (fresh) {
      s.roi_names.push_back(rois[c]);
      columns.emplace_back();
    }
    columns[it->second].push_back(c);
  }
  int64_t p = 0;
  for (const auto& cols : columns) {
    s.roi_sizes.push_back(static_cast<int64_t>(cols.size()));
    p = std::max<int64_t>(p, cols.size());
  }
  const int64_t r = static_cast<int64_t>(columns.size());
  auto tokens = torch::zeros({n, r, p}, torch::kFloat32);  // [N, R, P], zero padding at each token's end
  for (int64_t k = 0; k < r; ++k)
    tokens.select(1, k).narrow(1, 0, s.roi_sizes[k]).copy_(x.index_select(1, torch::tensor(columns[k], torch::kInt64)));

  std::vector<int64_t> tr, te;
  for (int64_t i = 0; i < n; ++i) (is_test[i] ? te : tr).push_back(i);
  BRAINSEM_CHECK(!tr.empty(), in.split.string(), ": every sample is marked 'test'; at least one must be 'train'");
  s.train_x = tokens.index_select(0, torch::tensor(tr, torch::kInt64));
  s.test_x = tokens.index_select(0, torch::tensor(te, torch::kInt64));
  s.train_stimulus_id = torch::zeros({0}, torch::kFloat64);
  s.test_stimulus_id = torch::zeros({0}, torch::kFloat64);
  for (auto i : tr) {
    s.train_names.push_back(names[i]);
    s.train_classes.push_back(classes[i]);
  }
  for (auto i : te) {
    s.test_names.push_back(names[i]);
    s.test_classes.push_back(classes[i]);
  }
  s.source = in.x.filename().string();
  validate_subject(s, xw);
  return s;
}

SubjectData import_dataset_file(const ImportInputs& in, const fs::path& out) {
  auto s = import_dataset(in);
  write_subject_safetensors(out, s, Normalize::none);
  return s;
}

}  // namespace brainsem::data
