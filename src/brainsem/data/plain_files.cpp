#include "brainsem/data/plain_files.h"

#include <nlohmann/json.hpp>
#include <set>

#include "brainsem/core/atomic_file.h"
#include "brainsem/core/error.h"
#include "brainsem/core/text.h"
#include "brainsem/data/subject.h"
#include "brainsem/data/subject_export.h"
#include "brainsem/io/matrix_file.h"
#include "brainsem/io/npy.h"
#include "brainsem/io/safetensors.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace brainsem::data {
namespace {

// The matrix and one label per row from `labels`; throws for a count mismatch.
torch::Tensor read_rows(const fs::path& x, const fs::path& labels, const std::string& label_what,
                        const std::string& row_what, std::vector<std::string>& out_labels) {
  torch::Tensor m = io::read_matrix_file(x);  // [N, E] float64
  out_labels = core::read_lines(labels, label_what);
  BRAINSEM_CHECK(static_cast<int64_t>(out_labels.size()) == m.size(0), labels.string(), ": ", out_labels.size(),
                 " lines but ", x.string(), " has ", m.size(0), " rows; give one line per ", row_what);
  return io::to_finite_float32(m, x.string(), row_what, "column", "fix or drop that row before importing");
}

// True for a tensor name that is a safe file name (no directories, no hidden files).
bool plain_file_name(const std::string& name) {
  if (name.empty() || name.front() == '.') return false;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.')) return false;
  return true;
}

}  // namespace

FeatureStore import_features(const FeatureImportInputs& in) {
  BRAINSEM_CHECK(!in.encoder.empty(),
                 "features import: --encoder is required (what produced the features, e.g. "
                 "'openai/ViT-B-32'); stores are only combined with the same id");
  BRAINSEM_CHECK(!in.preprocessing.empty(), "features import: --preprocessing must not be empty");
  FeatureStore s;
  s.features = read_rows(in.x, in.names, "the image-name file (one name per feature row)", "feature row", s.names);
  s.classes = core::read_lines(in.classes, "the class file (one class per feature row)");
  BRAINSEM_CHECK(s.classes.size() == s.names.size(), in.classes.string(), ": ", s.classes.size(), " lines but ",
                 in.x.string(), " has ", s.names.size(), " rows; give one class per feature row");
  std::set<std::string> seen;
  for (size_t i = 0; i < s.names.size(); ++i)
    BRAINSEM_CHECK(seen.insert(s.names[i]).second, in.names.string(), ": line ", i + 1, ": image name '", s.names[i],
                   "' appears twice; names identify rows and must be unique");
  s.encoder = in.encoder;
  s.preprocessing = in.preprocessing;
  s.extra["imported_from"] = in.x.filename().string();
  return s;
}

ClassEmbeddings import_class_embeddings(const ClassEmbeddingImportInputs& in) {
  ClassEmbeddings t;
  t.embeddings =
      read_rows(in.x, in.classes, "the class-name file (one class per embedding row)", "embedding row", t.classes);
  t.encoder = in.encoder.empty() ? "unknown" : in.encoder;
  t.extra["imported_from"] = in.x.filename().string();
  t.source = in.x.string();
  validate_class_embeddings(t, in.classes.string());
  return t;
}

std::string safetensors_format(const fs::path& file) {
  try {
    io::SafetensorsFile f(file);
    auto it = f.metadata().find("format");
    return it == f.metadata().end() ? std::string() : it->second;
  } catch (const Error&) {
    return {};
  }
}

std::vector<std::string> export_plain(const fs::path& file, const fs::path& out,
                                      const std::vector<std::string>& accepted, bool force) {
  const std::string where = file.string();
  io::SafetensorsFile f(file);  // validates the container, or throws naming the file
  auto fmt_it = f.metadata().find("format");
  const std::string format = fmt_it == f.metadata().end() ? "" : fmt_it->second;
  bool ok = false;
  for (const auto& a : accepted) ok = ok || a == format;
  BRAINSEM_CHECK(ok, where, ": holds format '", format.empty() ? "(none)" : format, "', this export takes ",
                 core::join(accepted, " or "), "; `brainsem data inspect ", where, "` says what the file is");
  // The format's own reader first: an export never carries what that reader would refuse.
  if (format == kFeatureStoreFormat)
    FeatureStore::open(file);
  else if (format == kClassEmbeddingsFormat)
    read_class_embeddings(file);
  else if (format == kSubjectFormat)
    read_subject_safetensors(file);
  else
    fail(where, ": no reader validates format '", format, "' for export");

  json tensors = json::object();
  std::vector<std::string> names = f.names();
  for (const auto& n : names) {
    BRAINSEM_CHECK(plain_file_name(n), where, ": tensor name '", n, "' cannot be a file name");
    const auto& info = f.info(n);
    tensors[n] = {{"file", n + ".npy"}, {"dtype", info.dtype}, {"shape", info.shape}};
  }
  json meta = json::object();
  for (const auto& [k, v] : f.metadata()) {
    json parsed = json::parse(v, nullptr, false);
    meta[k] = (parsed.is_array() || parsed.is_object()) ? parsed : json(v);
  }
  json doc = {{"format", kPlainExportFormat},
              {"version", kPlainExportVersion},
              {"source", where},
              {"source_format", format},
              {"tensors", tensors},
              {"metadata", meta}};

  std::error_code ec;
  if (fs::exists(out, ec)) {
    BRAINSEM_CHECK(force, out.string(), " exists; choose another --out or pass --force to replace it");
    // --force replaces only an earlier export, never an arbitrary directory.
    BRAINSEM_CHECK(fs::is_directory(out) && fs::exists(out / "metadata.json"), out.string(),
                   " exists and is not an export directory (no metadata.json); --force replaces only an earlier "
                   "export");
    json old = json::parse(core::read_text_file(out / "metadata.json"), nullptr, false);
    BRAINSEM_CHECK(old.is_object() && old.value("format", "") == kPlainExportFormat, out.string(),
                   " exists and is not an export directory; --force replaces only an earlier export");
    fs::remove_all(out);
  }
  core::build_directory_atomically(out, [&](const fs::path& tmp) {
    for (const auto& n : names) io::write_npy(tmp / (n + ".npy"), f.tensor(n).contiguous());
    core::write_text_atomically(tmp / "metadata.json", doc.dump(2) + "\n");
  });
  return names;
}

}  // namespace brainsem::data
