#include "brainsem/data/subject.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <map>

#include "brainsem/core/error.h"
#include "brainsem/data/god_stimuli.h"
#include "brainsem/data/subject_export.h"

namespace fs = std::filesystem;

namespace brainsem::data {
namespace {

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i];
  return s;
}

std::string strip_roi_prefix(const std::string& name) { return name.rfind("ROI_", 0) == 0 ? name.substr(4) : name; }

// ROI names (without "ROI_") present in the file, in file order.
std::vector<std::string> rois_in(const io::BData& b) {
  std::vector<std::string> out;
  for (const auto& k : b.keys)
    if (k.rfind("ROI_", 0) == 0) out.push_back(k.substr(4));
  return out;
}

// The single column of `key` as a [N] float64 tensor; throws unless exactly one column matches.
torch::Tensor single_column(const io::BData& b, const std::string& key, const std::string& why) {
  BRAINSEM_CHECK(b.has_key(key), b.source, ": metadata key '", key, "' is missing (", why,
                 "); a GOD subject file has DataType, stimulus_id and ROI_* keys");
  auto cols = b.columns(key);
  BRAINSEM_CHECK(cols.size() == 1, b.source, ": metadata key '", key, "' selects ", cols.size(),
                 " columns (value == 1); expected exactly 1");
  return b.dataset.select(1, cols[0]).contiguous();
}

struct Splits {
  std::vector<int64_t> train, test;  // row indices in file order
};

Splits split_rows(const io::BData& b) {
  auto dt = single_column(b, "DataType", "1 = training, 2 = test, 3 = imagery");
  const double* d = dt.data_ptr<double>();
  Splits s;
  for (int64_t i = 0; i < dt.size(0); ++i) {
    BRAINSEM_CHECK(std::isfinite(d[i]) && d[i] == std::round(d[i]), b.source, ": row ", i, " has DataType ", d[i],
                   "; expected an integer (1 = training, 2 = test, 3 = imagery)");
    if (d[i] == 1) s.train.push_back(i);
    if (d[i] == 2) s.test.push_back(i);
  }
  BRAINSEM_CHECK(!s.train.empty(), b.source, ": no training rows (DataType == 1)");
  BRAINSEM_CHECK(!s.test.empty(), b.source, ": no test rows (DataType == 2)");
  return s;
}

std::string name_of(const io::BData& b, double sid, int64_t row) {
  BRAINSEM_CHECK(std::isfinite(sid), b.source, ": row ", row, " has stimulus_id ", sid,
                 "; training and test rows need a finite GOD stimulus id");
  try {
    return god_stimulus_name(sid);
  } catch (const Error& e) {
    fail(b.source, ": row ", row, ": ", e.what());
  }
}

torch::Tensor rows_tensor(const std::vector<int64_t>& rows) { return torch::tensor(rows, torch::kInt64); }

}  // namespace

const std::vector<std::string>& god_rois() {
  static const std::vector<std::string> r = {"V1", "V2", "V3", "V4", "LOC", "FFA", "PPA"};
  return r;
}

Normalize parse_normalize(const std::string& name) {
  if (name == "none") return Normalize::none;
  if (name == "zscore") return Normalize::zscore;
  fail("unknown normalisation '", name, "'; use none or zscore");
}

std::string normalize_name(Normalize n) { return n == Normalize::zscore ? "zscore" : "none"; }
void to_json(nlohmann::json& j, Normalize n) { j = normalize_name(n); }
void from_json(const nlohmann::json& j, Normalize& n) { n = parse_normalize(j.get<std::string>()); }

int64_t image_index_mismatches(const io::BData& b) {
  if (!b.has_key("image_index") || !b.has_key("stimulus_id") || !b.has_key("DataType")) return 0;
  auto idx = single_column(b, "image_index", "1-based row in the GOD stimulus table");
  auto sid = single_column(b, "stimulus_id", "GOD stimulus id");
  auto dt = single_column(b, "DataType", "split");
  const double *pi = idx.data_ptr<double>(), *ps = sid.data_ptr<double>(), *pd = dt.data_ptr<double>();
  int64_t bad = 0;
  for (int64_t i = 0; i < idx.size(0); ++i) {
    if (pd[i] != 1 && pd[i] != 2) continue;
    const auto& table = pd[i] == 1 ? god_training_stimuli() : god_test_stimuli();
    double k = pi[i];
    bool ok = std::isfinite(k) && k >= 1 && k <= static_cast<double>(table.size()) && k == std::round(k) &&
              table[static_cast<size_t>(k) - 1].stimulus_id == ps[i];
    bad += ok ? 0 : 1;
  }
  return bad;
}

SubjectData pack_subject(const io::BData& b, const LoadOptions& opts) {
  const std::string& where = b.source;
  BRAINSEM_CHECK(b.dataset.defined() && b.dataset.dim() == 2 && b.dataset.size(0) > 0, where,
                 ": the BData dataset is empty");
  const auto present = rois_in(b);
  BRAINSEM_CHECK(!present.empty(), where,
                 ": no ROI_ keys in the metadata (expected ROI_V1, ROI_V2, ROI_V3, ROI_V4, ROI_LOC, ROI_FFA, "
                 "ROI_PPA); is this a GOD Subject*.h5 file?");
  std::vector<std::string> rois;
  for (const auto& r : opts.rois.empty() ? god_rois() : opts.rois) rois.push_back(strip_roi_prefix(r));
  BRAINSEM_CHECK(!rois.empty(), where, ": no ROIs requested");
  std::vector<std::vector<int64_t>> cols;
  for (const auto& r : rois) {
    BRAINSEM_CHECK(b.has_key("ROI_" + r), where, ": unknown ROI '", r, "': there is no metadata key ROI_", r,
                   "; ROIs in this file: ", join(present));
    cols.push_back(b.columns("ROI_" + r));
    BRAINSEM_CHECK(!cols.back().empty(), where, ": ROI_", r, " selects no voxel columns (no value == 1)");
  }
  Splits sp = split_rows(b);
  auto sid = single_column(b, "stimulus_id", "GOD stimulus id per row");
  const double* ps = sid.data_ptr<double>();

  // Every packed voxel must be finite (all rows, so imagery NaNs are caught too).
  for (size_t r = 0; r < rois.size(); ++r) {
    auto block = b.dataset.index_select(1, rows_tensor(cols[r]));
    auto bad = torch::logical_not(torch::isfinite(block));
    if (bad.any().item<bool>()) {
      auto first = bad.nonzero()[0];
      int64_t row = first[0].item<int64_t>(), c = cols[r][first[1].item<int64_t>()];
      fail(where, ": voxel value ", block[row][first[1].item<int64_t>()].item<double>(), " at row ", row, ", column ",
           c, " (ROI_", rois[r], "); ", bad.sum().item<int64_t>(),
           " non-finite values in this ROI. Remove or impute them before loading");
    }
    // The model computes in float32; a larger value would become Inf there (and square to Inf
    // in the z-scoring statistics), so it is refused here with its place named.
    auto huge = block.abs() > static_cast<double>(std::numeric_limits<float>::max());
    if (huge.any().item<bool>()) {
      auto first = huge.nonzero()[0];
      int64_t row = first[0].item<int64_t>(), c = cols[r][first[1].item<int64_t>()];
      fail(where, ": voxel value ", block[row][first[1].item<int64_t>()].item<double>(), " at row ", row, ", column ",
           c, " (ROI_", rois[r], ") is outside float32's range (|x| <= 3.4e38); rescale the data before loading");
    }
  }

  SubjectData s;
  s.source = where;
  s.roi_names = rois;
  int64_t P = 0;
  for (const auto& c : cols) {
    s.roi_sizes.push_back(static_cast<int64_t>(c.size()));
    P = std::max<int64_t>(P, static_cast<int64_t>(c.size()));
  }
  const int64_t R = static_cast<int64_t>(rois.size());

  // Training: rows in file order.
  const int64_t Ntr = static_cast<int64_t>(sp.train.size());
  auto train = torch::zeros({Ntr, R, P}, torch::kFloat64);
  auto train_rows = b.dataset.index_select(0, rows_tensor(sp.train));  // [Ntr, C]
  for (int64_t r = 0; r < R; ++r)
    train.select(1, r).narrow(1, 0, s.roi_sizes[r]).copy_(train_rows.index_select(1, rows_tensor(cols[r])));
  s.train_stimulus_id = sid.index_select(0, rows_tensor(sp.train)).clone();
  for (int64_t row : sp.train) {
    s.train_names.push_back(name_of(b, ps[row], row));
    s.train_classes.push_back(god_synset_of(s.train_names.back()));
  }

  // Test: one row per distinct stimulus_id (ascending), the mean over its repeats.
  std::map<double, std::vector<int64_t>> groups;
  for (int64_t row : sp.test) {
    name_of(b, ps[row], row);  // validates the id
    groups[ps[row]].push_back(row);
  }
  const int64_t Nte = static_cast<int64_t>(groups.size());
  std::vector<int64_t> group_of_row;
  std::vector<int64_t> order;  // test rows grouped
  std::vector<double> ids;
  for (const auto& [id, rows] : groups) {
    for (int64_t row : rows) {
      order.push_back(row);
      group_of_row.push_back(static_cast<int64_t>(ids.size()));
    }
    ids.push_back(id);
  }
  auto gidx = rows_tensor(group_of_row);
  auto counts =
      torch::zeros({Nte}, torch::kFloat64).index_add_(0, gidx, torch::ones({(int64_t)order.size()}, torch::kFloat64));
  auto test = torch::zeros({Nte, R, P}, torch::kFloat64);
  auto test_rows = b.dataset.index_select(0, rows_tensor(order));
  // The trials themselves, packed like the averages (grouped by image, file order within one).
  auto trials = torch::zeros({static_cast<int64_t>(order.size()), R, P}, torch::kFloat64);
  for (int64_t r = 0; r < R; ++r) {
    auto x = test_rows.index_select(1, rows_tensor(cols[r]));  // [n_test_rows, size_r]
    auto sums = torch::zeros({Nte, s.roi_sizes[r]}, torch::kFloat64).index_add_(0, gidx, x);
    test.select(1, r).narrow(1, 0, s.roi_sizes[r]).copy_(sums / counts.unsqueeze(1));
    trials.select(1, r).narrow(1, 0, s.roi_sizes[r]).copy_(x);
  }
  s.test_trial_image = group_of_row;
  s.test_stimulus_id = torch::tensor(ids, torch::kFloat64);
  for (double id : ids) {
    s.test_names.push_back(god_stimulus_name(id));
    s.test_classes.push_back(god_synset_of(s.test_names.back()));
  }

  if (int64_t bad = image_index_mismatches(b); bad > 0)
    std::fprintf(stderr,
                 "brainsem: note: %s: image_index disagrees with the GOD stimulus tables on %lld training/test rows "
                 "(a pre-2020 GOD file or non-GOD stimulus ids); names follow stimulus_id\n",
                 where.c_str(), static_cast<long long>(bad));

  s.train_x = train.to(torch::kFloat32);
  s.test_x = test.to(torch::kFloat32);
  s.test_trials_x = trials.to(torch::kFloat32);
  if (opts.normalize == Normalize::zscore) {
    // Normalise in float64 before the cast: z-scoring is affine per voxel, so averaging first
    // and normalising after gives the same test rows.
    s.train_x = train;
    s.test_x = test;
    s.test_trials_x = trials;
    zscore_with_training_stats(s);
  }
  validate_subject(s, where);
  return s;
}

void zscore_with_training_stats(SubjectData& s) {
  auto tr = s.train_x.to(torch::kFloat64);
  auto te = s.test_x.to(torch::kFloat64);
  const int64_t n = tr.size(0);
  BRAINSEM_CHECK(n >= 2, s.source, ": z-scoring needs at least 2 training rows, got ", n);
  auto mean = tr.mean(0);                                             // [R, P]
  auto var = (tr - mean).pow(2).sum(0) / static_cast<double>(n - 1);  // ddof = 1
  auto sd = var.sqrt();
  sd = torch::where(sd > 0, sd, torch::ones_like(sd));  // constant columns (and padding) keep sd 1
  // In place on a float64 copy: one temporary per split instead of three (the 1750 single
  // trials of a GOD subject are ~100 MB in float64), the same arithmetic.
  auto standardise = [&](const torch::Tensor& x) {
    return x.to(torch::kFloat64, /*non_blocking=*/false, /*copy=*/true).sub_(mean).div_(sd).to(torch::kFloat32);
  };
  s.train_x = standardise(tr);
  s.test_x = standardise(te);
  if (s.test_trials_x.defined()) s.test_trials_x = standardise(s.test_trials_x);
}

void validate_subject(const SubjectData& s, const std::string& where) {
  BRAINSEM_CHECK(s.train_x.defined() && s.train_x.dim() == 3, where, ": train_x must be [N_train, R, P]");
  BRAINSEM_CHECK(s.test_x.defined() && s.test_x.dim() == 3, where, ": test_x must be [N_test, R, P]");
  const int64_t Ntr = s.train_x.size(0), Nte = s.test_x.size(0), R = s.train_x.size(1), P = s.train_x.size(2);
  // An empty test split is allowed (a `data import` without --split: cross-validation pools the
  // rows); zero-shot commands refuse it where they need test classes.
  BRAINSEM_CHECK(Ntr > 0 && Nte >= 0, where, ": empty training split (", Ntr, " training rows, ", Nte, " test rows)");
  BRAINSEM_CHECK(s.test_x.size(1) == R && s.test_x.size(2) == P, where, ": test_x is ", s.test_x.sizes(),
                 " but train_x is ", s.train_x.sizes(), "; R and P must match");
  BRAINSEM_CHECK(static_cast<int64_t>(s.roi_names.size()) == R, where, ": ", s.roi_names.size(), " ROI names for ", R,
                 " ROI tokens");
  BRAINSEM_CHECK(static_cast<int64_t>(s.roi_sizes.size()) == R, where, ": ", s.roi_sizes.size(), " ROI sizes for ", R,
                 " ROI tokens");
  int64_t widest = 0;
  for (int64_t r = 0; r < R; ++r) {
    BRAINSEM_CHECK(s.roi_sizes[r] >= 1 && s.roi_sizes[r] <= P, where, ": ROI ", s.roi_names[r], " has size ",
                   s.roi_sizes[r], "; must be in 1..P = ", P);
    widest = std::max(widest, s.roi_sizes[r]);
    if (s.roi_sizes[r] < P) {
      bool pad_zero = s.train_x.select(1, r).narrow(1, s.roi_sizes[r], P - s.roi_sizes[r]).eq(0).all().item<bool>() &&
                      s.test_x.select(1, r).narrow(1, s.roi_sizes[r], P - s.roi_sizes[r]).eq(0).all().item<bool>();
      BRAINSEM_CHECK(pad_zero, where, ": ROI ", s.roi_names[r], " has nonzero values beyond its ", s.roi_sizes[r],
                     " voxels; each token must be zero-padded at its end");
    }
  }
  BRAINSEM_CHECK(widest == P, where, ": P = ", P, " but the widest ROI has ", widest, " voxels");
  BRAINSEM_CHECK(torch::isfinite(s.train_x).all().item<bool>(), where, ": train_x has non-finite values");
  BRAINSEM_CHECK(torch::isfinite(s.test_x).all().item<bool>(), where, ": test_x has non-finite values");
  auto check_len = [&](const std::vector<std::string>& v, int64_t n, const char* what) {
    BRAINSEM_CHECK(static_cast<int64_t>(v.size()) == n, where, ": ", v.size(), " ", what, " for ", n, " rows");
  };
  check_len(s.train_names, Ntr, "train names");
  check_len(s.train_classes, Ntr, "train classes");
  check_len(s.test_names, Nte, "test names");
  check_len(s.test_classes, Nte, "test classes");
  auto check_ids = [&](const torch::Tensor& t, int64_t n, const char* what) {
    if (!t.defined() || t.numel() == 0) return;
    BRAINSEM_CHECK(t.dim() == 1 && t.size(0) == n, where, ": ", what, " has shape ", t.sizes(), "; expected [", n,
                   "] or empty");
  };
  check_ids(s.train_stimulus_id, Ntr, "train_stimulus_id");
  check_ids(s.test_stimulus_id, Nte, "test_stimulus_id");
  if (s.test_trials_x.defined()) {
    const auto& t = s.test_trials_x;
    BRAINSEM_CHECK(t.dim() == 3 && t.size(1) == R && t.size(2) == P, where, ": test_trials_x is ", t.sizes(),
                   "; expected [N_test_trials, ", R, ", ", P, "]");
    BRAINSEM_CHECK(static_cast<int64_t>(s.test_trial_image.size()) == t.size(0), where, ": ", s.test_trial_image.size(),
                   " test trial image indices for ", t.size(0), " test trials");
    for (int64_t i : s.test_trial_image)
      BRAINSEM_CHECK(i >= 0 && i < Nte, where, ": a test trial points at test image ", i, " of ", Nte);
    BRAINSEM_CHECK(torch::isfinite(t).all().item<bool>(), where, ": test_trials_x has non-finite values");
  }
}

SubjectData select_roi_tokens(const SubjectData& s, const std::vector<std::string>& rois, const std::string& where) {
  BRAINSEM_CHECK(!rois.empty(), where, ": no ROIs requested");
  std::vector<int64_t> pick;
  SubjectData out = s;
  out.roi_names.clear();
  out.roi_sizes.clear();
  for (const auto& r0 : rois) {
    std::string r = strip_roi_prefix(r0);
    auto it = std::find(s.roi_names.begin(), s.roi_names.end(), r);
    BRAINSEM_CHECK(it != s.roi_names.end(), where, ": unknown ROI '", r, "'; ROIs in this file: ", join(s.roi_names));
    pick.push_back(it - s.roi_names.begin());
    out.roi_names.push_back(r);
    out.roi_sizes.push_back(s.roi_sizes[static_cast<size_t>(pick.back())]);
  }
  // The widest selected ROI sets the token width; narrower tokens keep their zero padding.
  const int64_t P = *std::max_element(out.roi_sizes.begin(), out.roi_sizes.end());
  auto pick_tokens = [&](const torch::Tensor& x) {  // [N, R, P_old] -> [N, R_new, P]
    return x.index_select(1, rows_tensor(pick)).narrow(2, 0, P).contiguous();
  };
  out.train_x = pick_tokens(s.train_x);
  out.test_x = pick_tokens(s.test_x);
  if (s.has_test_trials()) out.test_trials_x = pick_tokens(s.test_trials_x);
  return out;
}

SubjectData load_subject(const fs::path& path, Normalize normalize) {
  LoadOptions o;
  o.normalize = normalize;
  return load_subject(path, o);
}

SubjectData load_subject(const fs::path& path, const LoadOptions& opts) {
  const std::string where = path.string();
  std::error_code ec;
  BRAINSEM_CHECK(fs::exists(path, ec), where, ": file not found");
  if (io::is_hdf5_file(path)) return pack_subject(io::read_bdata(path), opts);
  // Safetensors: 8-byte header length, then JSON starting with '{'.
  char head[9] = {};
  {
    std::ifstream in(path, std::ios::binary);
    BRAINSEM_CHECK(in.good(), where, ": cannot be opened for reading");
    in.read(head, 9);
    BRAINSEM_CHECK(in.gcount() == 9 && head[8] == '{', where,
                   ": neither an HDF5 BData file (GOD Subject*.h5) nor a safetensors file from `brainsem data "
                   "export`");
  }
  SubjectData s = read_subject_safetensors(path);
  if (!opts.rois.empty()) s = select_roi_tokens(s, opts.rois, where);
  if (opts.normalize == Normalize::zscore) zscore_with_training_stats(s);
  validate_subject(s, where);
  return s;
}

}  // namespace brainsem::data
