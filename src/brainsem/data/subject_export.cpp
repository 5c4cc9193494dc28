#include "brainsem/data/subject_export.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>

#include "brainsem/core/error.h"
#include "brainsem/data/god_stimuli.h"
#include "brainsem/io/safetensors.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace brainsem::data {
namespace {

const std::set<std::string> kTensorNames = {"train_x", "train_stimulus_id", "test_x", "test_stimulus_id"};

json parse_meta_json(const io::SafetensorsFile& f, const std::string& key) {
  const std::string& text = f.metadata_at(key);
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    fail(f.path().string(), ": __metadata__ '", key, "' is not valid JSON (", e.what(), ")");
  }
}

std::vector<std::string> string_array(const io::SafetensorsFile& f, const std::string& key) {
  json j = parse_meta_json(f, key);
  BRAINSEM_CHECK(j.is_array(), f.path().string(), ": __metadata__ '", key, "' must be a JSON array of strings");
  std::vector<std::string> out;
  for (const auto& e : j) {
    BRAINSEM_CHECK(e.is_string(), f.path().string(), ": __metadata__ '", key, "' must hold only strings");
    out.push_back(e.get<std::string>());
  }
  return out;
}

// A float tensor, converted to `type` (so F16/F64 writers are accepted too).
torch::Tensor float_tensor(const io::SafetensorsFile& f, const std::string& name, torch::ScalarType type) {
  auto t = f.tensor(name);
  BRAINSEM_CHECK(t.is_floating_point(), f.path().string(), ": tensor '", name, "' has dtype ", f.info(name).dtype,
                 "; expected a float type (F32 for *_x, F64 for *_stimulus_id)");
  return t.to(type).clone();  // own the memory: the mapping closes with `f`
}

// Names and classes of one split, by the rule in the header: names from metadata, else decoded
// from the ids; classes from metadata, else the part of the name before the first '_'.
void names_and_classes(const io::SafetensorsFile& f, const std::string& split, int64_t n, const torch::Tensor& ids,
                       std::vector<std::string>& names, std::vector<std::string>& classes) {
  const std::string where = f.path().string();
  const auto& md = f.metadata();
  if (md.count(split + "_names")) {
    names = string_array(f, split + "_names");
  } else {
    BRAINSEM_CHECK(ids.defined() && ids.numel() == n, where, ": ", split, "_names is absent and ", split,
                   "_stimulus_id is empty: one of them must identify the ", n, " ", split, " rows");
    auto c = ids.contiguous();
    for (int64_t i = 0; i < n; ++i) {
      try {
        names.push_back(god_stimulus_name(c.data_ptr<double>()[i]));
      } catch (const Error& e) {
        fail(where, ": ", split, "_stimulus_id[", i, "]: ", e.what(), " (store ", split, "_names instead)");
      }
    }
  }
  BRAINSEM_CHECK(static_cast<int64_t>(names.size()) == n, where, ": ", split, "_names has ", names.size(),
                 " entries for ", n, " rows");
  if (md.count(split + "_classes")) {
    classes = string_array(f, split + "_classes");
  } else {
    for (const auto& nm : names) classes.push_back(god_synset_of(nm));
  }
}

}  // namespace

void write_subject_safetensors(const fs::path& path, const SubjectData& s, Normalize normalize) {
  validate_subject(s, s.source.empty() ? path.string() : s.source);
  auto ids = [](const torch::Tensor& t) {
    return t.defined() ? t.to(torch::kFloat64).contiguous() : torch::empty({0}, torch::kFloat64);
  };
  std::map<std::string, std::string> md;
  md["format"] = kSubjectFormat;
  md["rois"] = json(s.roi_names).dump();
  md["roi_sizes"] = json(s.roi_sizes).dump();
  md["P"] = std::to_string(s.train_x.size(2));
  md["train_names"] = json(s.train_names).dump();
  md["train_classes"] = json(s.train_classes).dump();
  md["test_names"] = json(s.test_names).dump();
  md["test_classes"] = json(s.test_classes).dump();
  md["normalize"] = normalize_name(normalize);
  if (normalize == Normalize::zscore) md["normalize_stats"] = "training rows, per voxel, ddof=1; sd 0 -> 1";
  md["source"] = fs::path(s.source).filename().string();
  io::write_safetensors(path,
                        {{"train_x", s.train_x.to(torch::kFloat32).contiguous()},
                         {"train_stimulus_id", ids(s.train_stimulus_id)},
                         {"test_x", s.test_x.to(torch::kFloat32).contiguous()},
                         {"test_stimulus_id", ids(s.test_stimulus_id)}},
                        md);
}

Normalize subject_file_normalize(const fs::path& path) {
  io::SafetensorsFile f(path);
  auto it = f.metadata().find("normalize");
  return it == f.metadata().end() ? Normalize::none : parse_normalize(it->second);
}

SubjectData read_subject_safetensors(const fs::path& path) {
  io::SafetensorsFile f(path);
  const std::string where = path.string();
  auto fmt = f.metadata().find("format");
  BRAINSEM_CHECK(fmt != f.metadata().end() && fmt->second == kSubjectFormat, where,
                 ": not a brainsem subject file (__metadata__ format is '",
                 fmt == f.metadata().end() ? std::string("(absent)") : fmt->second, "', expected '", kSubjectFormat,
                 "'); write it with `brainsem data export` or `brainsem data import`");
  for (const auto& n : f.names())
    BRAINSEM_CHECK(kTensorNames.count(n), where, ": unexpected tensor '", n,
                   "'; a subject file holds exactly train_x, train_stimulus_id, test_x, test_stimulus_id");
  for (const char* n : {"train_x", "test_x"}) BRAINSEM_CHECK(f.contains(n), where, ": tensor '", n, "' is missing");
  SubjectData s;
  s.source = where;
  s.train_x = float_tensor(f, "train_x", torch::kFloat32);
  s.test_x = float_tensor(f, "test_x", torch::kFloat32);
  BRAINSEM_CHECK(s.train_x.dim() == 3 && s.test_x.dim() == 3, where, ": train_x ", s.train_x.sizes(), " and test_x ",
                 s.test_x.sizes(), " must both be [rows, R, P]");
  for (const char* n : {"train_stimulus_id", "test_stimulus_id"})
    if (f.contains(n)) {
      auto t = float_tensor(f, n, torch::kFloat64);
      BRAINSEM_CHECK(t.dim() == 1, where, ": ", n, " must be 1-D, got ", t.sizes());
      (std::string(n) == "train_stimulus_id" ? s.train_stimulus_id : s.test_stimulus_id) = t;
    }
  s.roi_names = string_array(f, "rois");
  json sizes = parse_meta_json(f, "roi_sizes");
  BRAINSEM_CHECK(sizes.is_array(), where, ": __metadata__ roi_sizes must be a JSON array of integers");
  for (const auto& e : sizes) {
    BRAINSEM_CHECK(e.is_number_integer(), where, ": __metadata__ roi_sizes must hold integers");
    s.roi_sizes.push_back(e.get<int64_t>());
  }
  const std::string& p_text = f.metadata_at("P");
  BRAINSEM_CHECK(p_text == std::to_string(s.train_x.size(2)), where, ": __metadata__ P = '", p_text,
                 "' but train_x has P = ", s.train_x.size(2));
  names_and_classes(f, "train", s.train_x.size(0), s.train_stimulus_id, s.train_names, s.train_classes);
  names_and_classes(f, "test", s.test_x.size(0), s.test_stimulus_id, s.test_names, s.test_classes);
  auto src = f.metadata().find("source");
  if (src != f.metadata().end() && !src->second.empty()) s.source = where + " (from " + src->second + ")";
  validate_subject(s, where);
  s.source = where;
  return s;
}

BDataSummary summarize_bdata(const io::BData& b, const LoadOptions& opts) {
  SubjectData packed = pack_subject(b, opts);  // same validation (and errors) as export
  BDataSummary s;
  s.source = b.source;
  s.samples = b.num_samples();
  s.columns = b.num_columns();
  for (size_t k = 0; k < b.keys.size(); ++k)
    s.keys.push_back({b.keys[k], b.descriptions[k], static_cast<int64_t>(b.columns(b.keys[k]).size())});
  auto dt = b.select("DataType").select(1, 0).contiguous();
  auto sid = b.select("stimulus_id").select(1, 0).contiguous();
  std::map<int64_t, std::set<double>> distinct;
  std::map<double, int64_t> repeats;
  for (int64_t i = 0; i < dt.size(0); ++i) {
    auto d = static_cast<int64_t>(dt.data_ptr<double>()[i]);
    double id = sid.data_ptr<double>()[i];
    ++s.samples_per_datatype[d];
    if (std::isfinite(id)) distinct[d].insert(id);
    if (d == 2) ++repeats[id];
  }
  for (const auto& [d, ids] : distinct) s.stimuli_per_datatype[d] = static_cast<int64_t>(ids.size());
  s.test_repeats_min = s.test_repeats_max = repeats.empty() ? 0 : repeats.begin()->second;
  for (const auto& [id, n] : repeats) {
    s.test_repeats_min = std::min(s.test_repeats_min, n);
    s.test_repeats_max = std::max(s.test_repeats_max, n);
  }
  // ROIs: GOD order, then LVC/HVC/VC, then any others in file order.
  std::vector<std::string> order = god_rois();
  for (const char* r : {"LVC", "HVC", "VC"}) order.push_back(r);
  for (const auto& k : b.keys)
    if (k.rfind("ROI_", 0) == 0 && std::find(order.begin(), order.end(), k.substr(4)) == order.end())
      order.push_back(k.substr(4));
  for (const auto& r : order)
    if (b.has_key("ROI_" + r)) s.rois.push_back({r, static_cast<int64_t>(b.columns("ROI_" + r).size())});
  s.packed_rois = packed.roi_names;
  s.width = packed.width();
  s.image_index_mismatches = image_index_mismatches(b);
  return s;
}

json to_json(const BDataSummary& s) {
  json j;
  j["file"] = s.source;
  j["samples"] = s.samples;
  j["columns"] = s.columns;
  j["keys"] = json::array();
  for (const auto& k : s.keys)
    j["keys"].push_back({{"key", k.key}, {"description", k.description}, {"columns", k.columns}});
  auto split_name = [](int64_t d) -> std::string {
    return d == 1 ? "train" : d == 2 ? "test" : d == 3 ? "imagery" : "DataType " + std::to_string(d);
  };
  j["samples_per_split"] = json::object();
  for (const auto& [d, n] : s.samples_per_datatype) j["samples_per_split"][split_name(d)] = n;
  j["unique_stimuli_per_split"] = json::object();
  for (const auto& [d, n] : s.stimuli_per_datatype) j["unique_stimuli_per_split"][split_name(d)] = n;
  j["voxels_per_roi"] = json::object();
  for (const auto& [r, n] : s.rois) j["voxels_per_roi"][r] = n;
  j["roi_order"] = json::array();  // voxels_per_roi is an object (unordered); this keeps the order
  for (const auto& [r, n] : s.rois) j["roi_order"].push_back(r);
  j["packed_rois"] = s.packed_rois;
  j["P"] = s.width;
  j["test_repeats"] = {{"min", s.test_repeats_min}, {"max", s.test_repeats_max}};
  j["image_index_mismatches"] = s.image_index_mismatches;
  return j;
}

std::string to_text(const BDataSummary& s) {
  std::ostringstream o;
  o << s.source << ": " << s.samples << " samples x " << s.columns << " columns, " << s.keys.size()
    << " metadata keys\n\nmetadata keys (columns with value == 1):\n";
  for (const auto& k : s.keys) o << "  " << k.key << "  " << k.columns << "  " << k.description << "\n";
  o << "\nsplit      DataType  samples  unique stimuli\n";
  for (const auto& [d, n] : s.samples_per_datatype) {
    const char* name = d == 1 ? "train" : d == 2 ? "test" : d == 3 ? "imagery" : "other";
    auto u = s.stimuli_per_datatype.count(d) ? s.stimuli_per_datatype.at(d) : 0;
    char line[128];
    std::snprintf(line, sizeof line, "%-10s %8lld %8lld %15lld\n", name, (long long)d, (long long)n, (long long)u);
    o << line;
  }
  o << "test repeats per stimulus: " << s.test_repeats_min << ".." << s.test_repeats_max << "\n";
  o << "\nvoxels per ROI:\n";
  for (const auto& [r, n] : s.rois) o << "  " << r << "  " << n << "\n";
  o << "\npacked tokens: ";
  for (size_t i = 0; i < s.packed_rois.size(); ++i) o << (i ? ", " : "") << s.packed_rois[i];
  o << "; P = " << s.width << "\n";
  if (s.image_index_mismatches > 0)
    o << "note: image_index disagrees with the GOD tables on " << s.image_index_mismatches
      << " rows; names follow stimulus_id\n";
  return o.str();
}

}  // namespace brainsem::data
