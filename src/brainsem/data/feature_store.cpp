#include "brainsem/data/feature_store.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>

#include "brainsem/core/error.h"

using nlohmann::json;

namespace brainsem::data {

namespace {
constexpr const char* kFormat = kFeatureStoreFormat;

// Reads a JSON array of strings straight into the vector, without a parse tree, which would hold
// every one of a million names a second time, each in a node of its own.
class StringArrayReader : public nlohmann::json_sax<json> {
 public:
  explicit StringArrayReader(std::vector<std::string>& out) : out_(out) {}
  enum class Problem { kNone, kNotArray, kNotString, kSyntax };
  Problem problem = Problem::kNone;
  std::string syntax_error;

  bool start_array(std::size_t) override { return depth_++ == 0 || refuse(Problem::kNotString); }
  bool end_array() override { return --depth_ >= 0; }
  bool string(string_t& v) override {
    if (depth_ != 1) return refuse(depth_ == 0 ? Problem::kNotArray : Problem::kNotString);
    out_.push_back(std::move(v));
    return true;
  }
  bool null() override { return other(); }
  bool boolean(bool) override { return other(); }
  bool number_integer(number_integer_t) override { return other(); }
  bool number_unsigned(number_unsigned_t) override { return other(); }
  bool number_float(number_float_t, const string_t&) override { return other(); }
  bool binary(binary_t&) override { return other(); }
  bool start_object(std::size_t) override { return other(); }
  bool key(string_t&) override { return other(); }
  bool end_object() override { return other(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    syntax_error = e.what();
    return refuse(Problem::kSyntax);
  }

 private:
  bool other() { return refuse(depth_ == 0 ? Problem::kNotArray : Problem::kNotString); }
  bool refuse(Problem p) {
    if (problem == Problem::kNone) problem = p;
    return false;
  }
  std::vector<std::string>& out_;
  int depth_ = 0;
};

std::vector<std::string> json_strings(const std::string& text, const std::string& what) {
  std::vector<std::string> out;
  StringArrayReader reader(out);
  const bool complete = json::sax_parse(text, &reader);
  using Problem = StringArrayReader::Problem;
  BRAINSEM_CHECK(reader.problem != Problem::kSyntax, what, " is not valid JSON: ", reader.syntax_error);
  BRAINSEM_CHECK(reader.problem != Problem::kNotArray, what, " must be a JSON array of strings");
  BRAINSEM_CHECK(reader.problem != Problem::kNotString, what, " must contain only strings");
  BRAINSEM_CHECK(complete, what, " is not valid JSON");
  return out;
}
}  // namespace

std::vector<int64_t> FeatureStore::rows_of_class(const std::string& cls) const {
  std::vector<int64_t> rows;
  for (size_t i = 0; i < classes.size(); ++i)
    if (classes[i] == cls) rows.push_back(static_cast<int64_t>(i));
  return rows;
}

std::vector<int64_t> FeatureStore::rows_of_names(const std::vector<std::string>& wanted,
                                                 const std::string& what) const {
  std::unordered_map<std::string, int64_t> index;
  for (size_t i = 0; i < names.size(); ++i) index.emplace(names[i], static_cast<int64_t>(i));
  std::vector<int64_t> rows;
  rows.reserve(wanted.size());
  size_t missing = 0;
  std::string first_missing;
  for (const auto& n : wanted) {
    auto it = index.find(n);
    if (it == index.end()) {
      if (missing++ == 0) first_missing = n;
      continue;
    }
    rows.push_back(it->second);
  }
  BRAINSEM_CHECK(missing == 0, what, ": ", missing, " of ", wanted.size(),
                 " images are not in the feature store (first: '", first_missing,
                 "'); embed them with `brainsem embed` into the same store");
  return rows;
}

std::vector<std::string> FeatureStore::class_list() const {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const auto& c : classes)
    if (seen.insert(c).second) out.push_back(c);
  return out;
}

void FeatureStore::check_compatible(const FeatureStore& other, const std::string& what) const {
  BRAINSEM_CHECK(encoder == other.encoder, what, ": feature stores come from different encoders ('", encoder, "' vs '",
                 other.encoder, "'); embed all images with the same model");
  BRAINSEM_CHECK(preprocessing == other.preprocessing, what, ": feature stores use different preprocessing ('",
                 preprocessing, "' vs '", other.preprocessing, "')");
  BRAINSEM_CHECK(dim() == other.dim(), what, ": feature dimensions differ (", dim(), " vs ", other.dim(), ")");
}

FeatureStore FeatureStore::open(const std::filesystem::path& path) {
  auto file = std::make_shared<io::SafetensorsFile>(path);
  const std::string where = path.string();
  FeatureStore s;
  auto it = file->metadata().find("format");
  BRAINSEM_CHECK(it != file->metadata().end() && it->second == kFormat, where,
                 " is not a BrainSem feature store (metadata format != ", kFormat,
                 "); create one with `brainsem embed`");
  BRAINSEM_CHECK(file->contains("features"), where, ": no 'features' tensor");
  const auto& info = file->info("features");
  BRAINSEM_CHECK(info.dtype == "F32" && info.shape.size() == 2, where, ": 'features' must be F32 [N, E], found ",
                 info.dtype, " with ", info.shape.size(), " dims");
  s.features = file->tensor("features");
  s.encoder = file->metadata_at("encoder");
  s.preprocessing = file->metadata_at("preprocessing");
  s.names = json_strings(file->take_metadata("names"), where + " metadata 'names'");
  s.classes = json_strings(file->take_metadata("classes"), where + " metadata 'classes'");
  BRAINSEM_CHECK(static_cast<int64_t>(s.names.size()) == info.shape[0] && s.classes.size() == s.names.size(), where,
                 ": ", info.shape[0], " feature rows but ", s.names.size(), " names and ", s.classes.size(),
                 " classes");
  // A NaN row would rank first or last by accident in every cosine; refuse it here, naming the
  // image. Blocks keep the scan of a memory-mapped store sequential and its memory bounded.
  constexpr int64_t kBlock = 65536;
  for (int64_t r0 = 0; r0 < info.shape[0]; r0 += kBlock) {
    auto ok = torch::isfinite(s.features.narrow(0, r0, std::min(kBlock, info.shape[0] - r0))).all(1);
    if (ok.all().item<bool>()) continue;
    const int64_t row = r0 + (~ok).nonzero()[0][0].item<int64_t>();
    fail(where, ": feature row ", row, " (image '", s.names[row],
         "') contains NaN or Inf; re-embed that image or drop it");
  }
  if (auto sk = file->metadata().find("skipped"); sk != file->metadata().end()) {
    json j = json::parse(sk->second, nullptr, false);
    if (j.is_array())
      for (const auto& e : j) s.skipped.emplace_back(e.value("name", ""), e.value("reason", ""));
  }
  if (auto ex = file->metadata().find("extra"); ex != file->metadata().end()) {
    json j = json::parse(ex->second, nullptr, false);
    if (j.is_object())
      for (auto e = j.begin(); e != j.end(); ++e)
        s.extra[e.key()] = e.value().is_string() ? e.value().get<std::string>() : e.value().dump();
  }
  s.file_ = std::move(file);
  return s;
}

void FeatureStore::save(const std::filesystem::path& path) const {
  BRAINSEM_CHECK(features.defined() && features.dim() == 2, "feature store for ", path, ": features must be [N, E]");
  BRAINSEM_CHECK(features.size(0) == size() && classes.size() == names.size(), "feature store for ", path, ": ",
                 features.size(0), " rows but ", names.size(), " names and ", classes.size(), " classes");
  BRAINSEM_CHECK(!encoder.empty() && !preprocessing.empty(), "feature store for ", path,
                 ": encoder and preprocessing ids are required");
  BRAINSEM_CHECK(torch::isfinite(features).all().item<bool>(), "feature store for ", path,
                 ": features contain NaN or Inf");
  std::set<std::string> unique(names.begin(), names.end());
  BRAINSEM_CHECK(unique.size() == names.size(), "feature store for ", path, ": image names are not unique");
  json skipped_json = json::array();
  for (const auto& [n, r] : skipped) skipped_json.push_back({{"name", n}, {"reason", r}});
  std::map<std::string, std::string> meta = {{"format", kFormat},
                                             {"encoder", encoder},
                                             {"preprocessing", preprocessing},
                                             {"names", json(names).dump()},
                                             {"classes", json(classes).dump()},
                                             {"skipped", skipped_json.dump()},
                                             {"extra", json(extra).dump()}};
  io::write_safetensors(path, {{"features", features.to(torch::kFloat32)}}, meta);
}

FeatureStore concat_stores(const std::vector<FeatureStore>& parts) {
  BRAINSEM_CHECK(!parts.empty(), "concat_stores: nothing to concatenate");
  FeatureStore out;
  out.encoder = parts[0].encoder;
  out.preprocessing = parts[0].preprocessing;
  out.extra = parts[0].extra;
  std::vector<torch::Tensor> feats;
  for (const auto& p : parts) {
    parts[0].check_compatible(p, "concatenating feature stores");
    feats.push_back(p.features);
    out.names.insert(out.names.end(), p.names.begin(), p.names.end());
    out.classes.insert(out.classes.end(), p.classes.begin(), p.classes.end());
    out.skipped.insert(out.skipped.end(), p.skipped.begin(), p.skipped.end());
  }
  out.features = torch::cat(feats, 0);
  return out;
}

std::filesystem::path part_path(const std::filesystem::path& out, int index, int count) {
  return out.parent_path() / (out.stem().string() + ".part-" + std::to_string(index) + "-of-" + std::to_string(count) +
                              out.extension().string());
}

FeatureStore join_parts(const std::vector<FeatureStore>& parts, const std::vector<std::string>& paths) {
  BRAINSEM_CHECK(!parts.empty() && parts.size() == paths.size(), "join_parts: no parts given");
  const int count = static_cast<int>(parts.size());
  std::vector<const FeatureStore*> in_order(parts.size(), nullptr);
  std::vector<FeatureStore> stripped;
  for (size_t i = 0; i < parts.size(); ++i) {
    auto it = parts[i].extra.find(kPartKey);
    BRAINSEM_CHECK(it != parts[i].extra.end(), paths[i],
                   " is not a part of an embed run (its metadata has no \"part\"); join whole stores with "
                   "retrieve's several --library stores instead");
    int k = -1, n = -1;
    char tail = 0;
    BRAINSEM_CHECK(std::sscanf(it->second.c_str(), "%d/%d%c", &k, &n, &tail) == 2 && k >= 0 && k < n, paths[i],
                   ": part \"", it->second, "\" is not K/N");
    BRAINSEM_CHECK(n == count, paths[i], " is part ", k, " of ", n, ", but ", count,
                   " parts were given; give all of them (", kPartKey, " 0 to ", n - 1, ")");
    BRAINSEM_CHECK(in_order[k] == nullptr, paths[i], " and another input are both part ", k, " of ", n);
    in_order[k] = &parts[i];
  }
  for (int k = 0; k < count; ++k) {
    FeatureStore p = *in_order[k];
    p.extra.erase(kPartKey);
    if (!stripped.empty())
      BRAINSEM_CHECK(p.extra == stripped[0].extra, "part ", k, " of ", count,
                     " was embedded with other settings than part 0 (model path, device or precision differ); "
                     "re-embed it with the same command");
    stripped.push_back(std::move(p));
  }
  return concat_stores(stripped);
}

}  // namespace brainsem::data
