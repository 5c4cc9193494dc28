#include "brainsem/experiment/inspect.h"

#include <cstdio>
#include <fstream>
#include <set>

#include "brainsem/core/atomic_file.h"
#include "brainsem/core/error.h"
#include "brainsem/core/text.h"
#include "brainsem/data/class_embeddings.h"
#include "brainsem/data/feature_store.h"
#include "brainsem/data/plain_files.h"
#include "brainsem/data/subject_export.h"
#include "brainsem/experiment/run_dir.h"
#include "brainsem/io/bdata.h"
#include "brainsem/train/checkpoint.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace brainsem::experiment {
namespace {

// Distinct values in first-appearance order.
std::vector<std::string> distinct(const std::vector<std::string>& v) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const auto& x : v)
    if (seen.insert(x).second) out.push_back(x);
  return out;
}

json subject_summary(const fs::path& path) {
  auto s = data::read_subject_safetensors(path);
  json rois = json::array();
  for (size_t r = 0; r < s.roi_names.size(); ++r)
    rois.push_back({{"name", s.roi_names[r]}, {"voxels", s.roi_sizes[r]}});
  return {{"train_x", s.train_x.sizes().vec()},
          {"test_x", s.test_x.sizes().vec()},
          {"rois", rois},
          {"width", s.width()},
          {"train_classes", distinct(s.train_classes)},
          {"test_classes", distinct(s.test_classes)},
          {"normalize", data::normalize_name(data::subject_file_normalize(path))},
          {"source", s.source}};
}

json features_summary(const fs::path& path) {
  auto s = data::FeatureStore::open(path);
  return {{"rows", s.size()},           {"dim", s.dim()},
          {"encoder", s.encoder},       {"preprocessing", s.preprocessing},
          {"names", s.names},           {"classes", s.class_list()},
          {"skipped", s.skipped.size()}};
}

json class_embeddings_summary(const fs::path& path) {
  auto t = data::read_class_embeddings(path);
  return {{"rows", t.size()}, {"dim", t.dim()}, {"encoder", t.encoder}, {"classes", t.classes}};
}

json checkpoint_summary(const fs::path& path) {
  auto c = train::read_checkpoint(path);
  int64_t parameters = 0;
  for (const auto& [name, t] : c.model) parameters += t.numel();
  json out = {{"step", c.step},
              {"parameters", parameters},
              {"tensors", c.model.size()},
              {"optimiser_state", !c.adam.empty()},
              {"config", c.config}};
  if (c.best_step >= 0) out["best_step"] = c.best_step;
  return out;
}

json run_directory_summary(const fs::path& dir) {
  json out = {{"config", read_run_config_fields(dir)}};
  if (fs::exists(dir / kRunInputsFile)) out["inputs"] = read_run_inputs(dir).to_json();
  if (train::has_checkpoint(dir)) {
    const auto ckpt = train::checkpoint_in(dir);
    out["checkpoint"] = ckpt.filename().string();
    if (!train::is_legacy_checkpoint(ckpt)) out["checkpoint_step"] = train::read_checkpoint_step(ckpt);
  }
  if (fs::exists(dir / kRunResultsFile)) {
    auto r = read_run_results(dir);
    json scores = json::array();
    for (const auto& s : r.scores)
      scores.push_back({{"method", s.method},
                        {"prototype", s.prototype},
                        {"classes", s.classes},
                        {"top1", s.top1},
                        {"top5", s.top5}});
    out["results"] = {{"subject", r.subject}, {"steps", r.steps}, {"scores", scores}};
    if (r.best_step >= 0) out["results"]["best_step"] = r.best_step;
  }
  if (fs::exists(dir / "train_log.jsonl")) {
    std::ifstream in(dir / "train_log.jsonl");
    int64_t lines = 0;
    for (std::string line; std::getline(in, line);) lines += !line.empty();
    out["train_log_entries"] = lines;
  }
  return out;
}

bool is_safetensors(const fs::path& path) {
  char head[9] = {};
  std::ifstream in(path, std::ios::binary);
  in.read(head, 9);
  return in.gcount() == 9 && head[8] == '{';
}

std::string shape_text(const json& shape) {
  std::vector<std::string> dims;
  for (const auto& d : shape) dims.push_back(std::to_string(d.get<int64_t>()));
  return "[" + core::join(dims) + "]";
}

std::string list_text(const json& items, int64_t limit) {
  std::vector<std::string> shown;
  for (const auto& x : items) {
    if (static_cast<int64_t>(shown.size()) == limit) break;
    shown.push_back(x.get<std::string>());
  }
  std::string out = std::to_string(items.size()) + (items.empty() ? "" : ": " + core::join(shown));
  if (static_cast<int64_t>(items.size()) > limit) out += ", ...";
  return out;
}

std::string percent(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", 100 * x);
  return buf;
}

std::string text_of(const json& s, const InspectOptions& opts) {
  const std::string kind = s.at("kind");
  const int64_t n = opts.list_limit;
  std::string t = s.at("path").get<std::string>() + ": ";
  auto line = [&t](const std::string& key, const std::string& value) { t += "  " + key + ": " + value + "\n"; };
  if (kind == "subject") {
    t += "subject (" + s.at("format").get<std::string>() + ")\n";
    line("train_x", shape_text(s.at("train_x")) + " (samples, ROI tokens, width)");
    line("test_x", shape_text(s.at("test_x")));
    std::vector<std::string> rois;
    for (const auto& r : s.at("rois"))
      rois.push_back(r.at("name").get<std::string>() + "=" + std::to_string(r.at("voxels").get<int64_t>()));
    line("ROI tokens", core::join(rois, " "));
    line("training classes", list_text(s.at("train_classes"), n));
    line("test classes", list_text(s.at("test_classes"), n));
    line("normalize", s.at("normalize"));
    line("source", s.at("source"));
  } else if (kind == "features") {
    t += "feature store (" + s.at("format").get<std::string>() + ")\n";
    line("features",
         "[" + std::to_string(s.at("rows").get<int64_t>()) + ", " + std::to_string(s.at("dim").get<int64_t>()) + "]");
    line("encoder", s.at("encoder"));
    line("preprocessing", s.at("preprocessing"));
    line("images", list_text(s.at("names"), n));
    line("classes", list_text(s.at("classes"), n));
    line("skipped inputs", std::to_string(s.at("skipped").get<int64_t>()));
  } else if (kind == "class_embeddings") {
    t += "class-embedding table (" + s.at("format").get<std::string>() + ")\n";
    line("embeddings",
         "[" + std::to_string(s.at("rows").get<int64_t>()) + ", " + std::to_string(s.at("dim").get<int64_t>()) + "]");
    line("encoder", s.at("encoder"));
    line("classes", list_text(s.at("classes"), n));
  } else if (kind == "checkpoint") {
    t += "training checkpoint (" + s.at("format").get<std::string>() + ")\n";
    line("step", std::to_string(s.at("step").get<int64_t>()));
    if (s.contains("best_step")) line("best step", std::to_string(s.at("best_step").get<int64_t>()));
    line("parameters", std::to_string(s.at("parameters").get<int64_t>()) + " in " +
                           std::to_string(s.at("tensors").get<size_t>()) + " tensors");
    line("optimiser state", s.at("optimiser_state").get<bool>() ? "yes (resumable)" : "no");
    line("config", s.at("config").dump());
  } else if (kind == "run_directory") {
    t += "run directory\n";
    line("config", s.at("config").dump());
    if (s.contains("inputs")) line("inputs", s.at("inputs").dump());
    if (s.contains("checkpoint"))
      line("checkpoint",
           s.at("checkpoint").get<std::string>() +
               (s.contains("checkpoint_step") ? " at step " + std::to_string(s.at("checkpoint_step").get<int64_t>())
                                              : ""));
    if (s.contains("train_log_entries"))
      line("train_log.jsonl", std::to_string(s.at("train_log_entries").get<int64_t>()) + " entries");
    if (s.contains("results")) {
      const auto& r = s.at("results");
      line("results",
           std::to_string(r.at("steps").get<int64_t>()) + " steps" +
               (r.contains("best_step") ? ", best step " + std::to_string(r.at("best_step").get<int64_t>()) : ""));
      for (const auto& sc : r.at("scores"))
        line("  " + sc.at("method").get<std::string>() + " / " + sc.at("prototype").get<std::string>(),
             "top-1 " + percent(sc.at("top1")) + ", top-5 " + percent(sc.at("top5")) + " among " +
                 std::to_string(sc.at("classes").get<int64_t>()) + " classes");
    }
  } else if (kind == "plain_export") {
    t += "export of " + s.at("source").get<std::string>() + " (" + s.at("source_format").get<std::string>() + ")\n";
    for (const auto& [name, info] : s.at("tensors").items())
      line(info.at("file"), info.at("dtype").get<std::string>() + " " + shape_text(info.at("shape")));
  }
  return t;
}

}  // namespace

Inspection inspect_path(const fs::path& path, const InspectOptions& opts) {
  const std::string where = path.string();
  std::error_code ec;
  BRAINSEM_CHECK(fs::exists(path, ec), where, ": file not found");
  json out;
  if (fs::is_directory(path, ec)) {
    if (fs::exists(path / kRunConfigFile)) {
      out = run_directory_summary(path);
      out["kind"] = "run_directory";
    } else if (fs::exists(path / "metadata.json")) {
      json doc = json::parse(core::read_text_file(path / "metadata.json"), nullptr, false);
      BRAINSEM_CHECK(doc.is_object() && doc.value("format", "") == data::kPlainExportFormat, where,
                     ": metadata.json is not a BrainSem export");
      out = {{"kind", "plain_export"},
             {"source", doc.value("source", "")},
             {"source_format", doc.value("source_format", "")},
             {"tensors", doc.value("tensors", json::object())}};
    } else {
      fail(where, ": a directory that is neither a run directory (no ", kRunConfigFile,
           ") nor an export (no metadata.json)");
    }
  } else if (io::is_hdf5_file(path)) {
    data::LoadOptions o;
    o.rois = opts.bdata_rois;
    auto summary = data::summarize_bdata(io::read_bdata(path), o);
    Inspection bdata{data::to_json(summary), data::to_text(summary)};
    bdata.summary["kind"] = "bdata";
    bdata.summary["path"] = where;
    return bdata;
  } else if (is_safetensors(path)) {
    io::SafetensorsFile f(path);  // validates the container; the readers below validate the content
    auto it = f.metadata().find("format");
    const std::string format = it == f.metadata().end() ? "" : it->second;
    if (format == data::kSubjectFormat) {
      out = subject_summary(path);
      out["kind"] = "subject";
    } else if (format == data::kFeatureStoreFormat) {
      out = features_summary(path);
      out["kind"] = "features";
    } else if (format == data::kClassEmbeddingsFormat) {
      out = class_embeddings_summary(path);
      out["kind"] = "class_embeddings";
    } else if (format == train::kCheckpointFormat) {
      out = checkpoint_summary(path);
      out["kind"] = "checkpoint";
    } else {
      fail(where, ": a safetensors file of format '", format.empty() ? "(none)" : format,
           "', which is none of BrainSem's (", data::kSubjectFormat, ", ", data::kFeatureStoreFormat, ", ",
           data::kClassEmbeddingsFormat, ", ", train::kCheckpointFormat, ")");
    }
    out["format"] = format;
  } else if (train::is_legacy_checkpoint(path)) {
    fail(where,
         ": a TorchScript checkpoint of an earlier version; it is not opened because loading it can run code "
         "(`brainsem eval --run DIR --trust-checkpoint` converts a trusted one)");
  } else if (path.extension() == ".h5" || path.extension() == ".hdf5") {
    fail(where, ": not an HDF5 file (no HDF5 signature); a GOD BData file is HDF5, e.g. Subject1.h5");
  } else {
    fail(where,
         ": not a file BrainSem reads; inspect takes a GOD BData .h5, a subject/feature/class-embedding "
         "safetensors, a checkpoint, a run directory or an export directory");
  }
  out["path"] = where;
  return {out, text_of(out, opts)};
}

}  // namespace brainsem::experiment
