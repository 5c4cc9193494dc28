#include "brainsem/data/class_embeddings.h"

#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>

#include "brainsem/core/error.h"
#include "brainsem/io/safetensors.h"

using nlohmann::json;

namespace brainsem::data {

namespace {
std::string some_classes(const std::vector<std::string>& classes) {
  std::string out;
  for (size_t i = 0; i < classes.size() && i < 5; ++i) out += (i ? ", " : "") + classes[i];
  if (classes.size() > 5) out += ", ...";
  return out;
}
}  // namespace

int64_t ClassEmbeddings::row_of(const std::string& cls, const std::string& what) const {
  for (size_t i = 0; i < classes.size(); ++i)
    if (classes[i] == cls) return static_cast<int64_t>(i);
  fail(what, ": class '", cls, "' has no embedding in ",
       source.empty() ? std::string("the class-embedding table") : source, " (it has ", classes.size(),
       " classes: ", some_classes(classes),
       "); add the class to the table (e.g. `brainsem embed-text --classes`) or drop its samples");
}

torch::Tensor ClassEmbeddings::rows_for(const std::vector<std::string>& wanted, const std::string& what) const {
  std::unordered_map<std::string, int64_t> index;
  for (size_t i = 0; i < classes.size(); ++i) index.emplace(classes[i], static_cast<int64_t>(i));
  std::vector<int64_t> rows;
  rows.reserve(wanted.size());
  for (const auto& c : wanted) {
    auto it = index.find(c);
    if (it == index.end()) row_of(c, what);  // throws with the full message
    rows.push_back(it->second);
  }
  return embeddings.index_select(0, torch::tensor(rows, torch::kInt64));
}

ClassEmbeddings ClassEmbeddings::subset(const std::vector<std::string>& wanted, const std::string& what) const {
  ClassEmbeddings out = *this;
  out.embeddings = rows_for(wanted, what).clone();
  out.classes = wanted;
  return out;
}

void validate_class_embeddings(const ClassEmbeddings& t, const std::string& where) {
  BRAINSEM_CHECK(t.embeddings.defined() && t.embeddings.dim() == 2, where, ": embeddings must be a [C, E] matrix, got ",
                 t.embeddings.defined() ? t.embeddings.sizes() : torch::IntArrayRef{});
  BRAINSEM_CHECK(t.embeddings.size(0) == t.size(), where, ": ", t.embeddings.size(0), " embedding rows but ", t.size(),
                 " class names; the metadata 'classes' needs one name per row");
  BRAINSEM_CHECK(t.size() >= 1 && t.embeddings.size(1) >= 1, where, ": empty class-embedding table ",
                 t.embeddings.sizes());
  BRAINSEM_CHECK(t.embeddings.is_floating_point(), where, ": embeddings must be floating point");
  auto finite = torch::isfinite(t.embeddings).all(1);
  for (int64_t i = 0; i < t.size(); ++i)
    BRAINSEM_CHECK(finite[i].item<bool>(), where, ": the embedding of class '", t.classes[i], "' (row ", i,
                   ") has NaN or Inf values");
  std::set<std::string> seen;
  for (size_t i = 0; i < t.classes.size(); ++i) {
    BRAINSEM_CHECK(!t.classes[i].empty(), where, ": class name ", i, " is empty");
    BRAINSEM_CHECK(seen.insert(t.classes[i]).second, where, ": class '", t.classes[i], "' appears twice (rows ", i,
                   " and an earlier one); a table needs one row per class");
  }
}

ClassEmbeddings read_class_embeddings(const std::filesystem::path& path) {
  const std::string where = path.string();
  BRAINSEM_CHECK(std::filesystem::exists(path), where, ": file not found");
  io::SafetensorsFile f(path);
  auto fmt = f.metadata().find("format");
  BRAINSEM_CHECK(fmt != f.metadata().end() && fmt->second == kClassEmbeddingsFormat, where,
                 ": not a class-embedding table (metadata format must be '", kClassEmbeddingsFormat,
                 "'; write it with `brainsem embed-text` or see docs/generic_data.md)");
  BRAINSEM_CHECK(f.contains("embeddings"), where, ": tensor 'embeddings' [C, E] is missing");
  ClassEmbeddings t;
  t.source = where;
  t.embeddings = f.tensor("embeddings").to(torch::kFloat32).clone();
  auto cls = f.metadata().find("classes");
  BRAINSEM_CHECK(cls != f.metadata().end(), where, ": metadata 'classes' (JSON array of class names) is missing");
  json j;
  try {
    j = json::parse(cls->second);
  } catch (const json::exception& e) {
    fail(where, ": metadata 'classes' is not valid JSON: ", e.what());
  }
  BRAINSEM_CHECK(j.is_array(), where, ": metadata 'classes' must be a JSON array of strings");
  for (const auto& v : j) {
    BRAINSEM_CHECK(v.is_string(), where, ": metadata 'classes' must contain only strings");
    t.classes.push_back(v.get<std::string>());
  }
  if (auto e = f.metadata().find("encoder"); e != f.metadata().end()) t.encoder = e->second;
  if (auto e = f.metadata().find("extra"); e != f.metadata().end()) {
    try {
      const json extra = json::parse(e->second);  // named: items() must not outlive a temporary
      BRAINSEM_CHECK(extra.is_object(), where, ": metadata 'extra' must be a JSON object");
      for (auto& [k, v] : extra.items()) t.extra[k] = v.is_string() ? v.get<std::string>() : v.dump();
    } catch (const json::exception& ex) {
      fail(where, ": metadata 'extra' is not a JSON object: ", ex.what());
    }
  }
  validate_class_embeddings(t, where);
  return t;
}

void write_class_embeddings(const std::filesystem::path& path, const ClassEmbeddings& t,
                            const std::map<std::string, std::string>& provenance) {
  validate_class_embeddings(t, path.string());
  json extra = json::object();
  for (const auto& [k, v] : t.extra) extra[k] = v;
  std::map<std::string, std::string> md{{"format", kClassEmbeddingsFormat},
                                        {"classes", json(t.classes).dump()},
                                        {"encoder", t.encoder},
                                        {"extra", extra.dump()}};
  for (const auto& [k, v] : provenance)
    BRAINSEM_CHECK(md.emplace(k, v).second, "write_class_embeddings: metadata key '", k, "' is the table's own");
  io::write_safetensors(path, {{"embeddings", t.embeddings.to(torch::kFloat32).contiguous()}}, md);
}

std::string class_embedding_encoder_id(const ClassEmbeddings& t) { return "class-embeddings:" + t.encoder; }

FeatureStore class_embedding_stimuli(const ClassEmbeddings& t, const std::vector<std::string>& names,
                                     const std::vector<std::string>& classes) {
  BRAINSEM_CHECK(names.size() == classes.size(), "class_embedding_stimuli: ", names.size(), " names but ",
                 classes.size(), " classes");
  FeatureStore s;
  s.encoder = class_embedding_encoder_id(t);
  s.preprocessing = "none";
  s.extra["class_embeddings"] = t.source;
  std::unordered_map<std::string, std::string> class_of;
  for (size_t i = 0; i < names.size(); ++i) {
    auto [it, fresh] = class_of.emplace(names[i], classes[i]);
    if (fresh) {
      s.names.push_back(names[i]);
      s.classes.push_back(classes[i]);
    } else {
      BRAINSEM_CHECK(it->second == classes[i], "stimulus '", names[i], "' is labelled both '", it->second, "' and '",
                     classes[i], "'; a stimulus must belong to one class");
    }
  }
  s.features = t.rows_for(s.classes, "class-embedding targets").contiguous();
  return s;
}

FeatureStore class_embedding_library(const ClassEmbeddings& t, const std::vector<std::string>& classes) {
  FeatureStore s;
  s.encoder = class_embedding_encoder_id(t);
  s.preprocessing = "none";
  s.extra["class_embeddings"] = t.source;
  s.names = classes;
  s.classes = classes;
  s.features = t.rows_for(classes, "class-embedding library").contiguous();
  return s;
}

}  // namespace brainsem::data
