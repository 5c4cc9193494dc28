#include "brainsem/experiment/run_dir.h"

#include <cstdio>

#include "brainsem/core/atomic_file.h"
#include "brainsem/core/error.h"
#include "brainsem/core/json_document.h"
#include "brainsem/train/checkpoint.h"

using nlohmann::json;
namespace fs = std::filesystem;

namespace brainsem::experiment {
namespace {

void write_document(const fs::path& file, const json& doc) {
  fs::create_directories(file.parent_path());
  core::write_text_atomically(file, doc.dump(2) + "\n");
}

// The document in `file` with its format checked and its format keys removed.
json read_document(const fs::path& file, const char* format, int version) {
  BRAINSEM_CHECK(fs::exists(file), file, " does not exist; is this a run directory of `brainsem train`?");
  json doc;
  try {
    doc = json::parse(core::read_text_file(file));
  } catch (const json::exception& e) {
    fail(file, " is not valid JSON (", e.what(), ")");
  }
  core::take_document_format(doc, format, version, file);
  return doc;
}

}  // namespace

void write_run_config(const fs::path& dir, const train::TrainConfig& config) {
  write_document(dir / kRunConfigFile, train::train_config_document(config));
}

train::TrainConfig read_run_config(const fs::path& dir) {
  const fs::path file = dir / kRunConfigFile;
  return train::train_config_from_document(read_document(file, train::kTrainConfigFormat, train::kTrainConfigVersion),
                                           file.string());
}

json read_run_config_fields(const fs::path& dir) {
  return read_document(dir / kRunConfigFile, train::kTrainConfigFormat, train::kTrainConfigVersion);
}

void write_run_inputs(const fs::path& dir, const StudyInputs& inputs) {
  write_document(dir / kRunInputsFile, core::versioned_document(kRunInputsFormat, kRunInputsVersion, inputs.to_json()));
}

StudyInputs read_run_inputs(const fs::path& dir) {
  const fs::path file = dir / kRunInputsFile;
  const json doc = read_document(file, kRunInputsFormat, kRunInputsVersion);
  try {
    return StudyInputs::from_json(doc);
  } catch (const json::exception& e) {
    fail(file, " is not a valid inputs file: ", e.what());
  }
}

const MethodScore* RunResults::find(const std::string& method, const std::string& prototype) const {
  for (const auto& s : scores)
    if (s.method == method && s.prototype == prototype) return &s;
  return nullptr;
}

RunResults run_results(const BrainSemRun& run, const std::vector<MethodScore>& scores, const StudyInputs& inputs) {
  RunResults r;
  r.subject = inputs.subject.string();
  r.best_step = run.best_step;
  r.steps = run.steps;
  r.selection = run.selection.to_json();
  r.parameters = run.parameters;
  r.train_seconds = run.seconds;
  r.scores = scores;
  return r;
}

void write_run_results(const fs::path& dir, const RunResults& r) {
  json fields{{"subject", r.subject},
              {"steps", r.steps},
              {"selection", r.selection},
              {"parameters", r.parameters},
              {"train_seconds", r.train_seconds},
              {"scores", json::array()}};
  // Only a step chosen on held-out classes is recorded; without validation the model is the last step's.
  if (r.best_step >= 0) fields["best_step"] = r.best_step;
  for (const auto& m : r.scores) fields["scores"].push_back(m.to_json());
  write_document(dir / kRunResultsFile,
                 core::versioned_document(kRunResultsFormat, kRunResultsVersion, std::move(fields)));
}

RunResults read_run_results(const fs::path& dir) {
  const fs::path file = dir / kRunResultsFile;
  const json doc = read_document(file, kRunResultsFormat, kRunResultsVersion);
  RunResults r;
  try {
    r.subject = doc.value("subject", "");
    r.best_step = doc.value("best_step", int64_t{-1});
    r.steps = doc.value("steps", int64_t{0});
    if (doc.contains("selection")) r.selection = doc.at("selection");
    r.parameters = doc.value("parameters", int64_t{0});
    r.train_seconds = doc.value("train_seconds", 0.0);
    for (const auto& s : doc.at("scores")) r.scores.push_back(MethodScore::from_json(s));
  } catch (const json::exception& e) {
    fail(file, " is not a results file of `brainsem train`: ", e.what());
  }
  BRAINSEM_CHECK(!r.scores.empty(), file, " holds no scores");
  return r;
}

namespace {
bool is_unstarted_leftover(const fs::directory_entry& e) {
  const std::string name = e.path().filename().string();
  if (name == kRunConfigFile || name == kRunInputsFile || name == "train_log.jsonl") return true;
  return !name.empty() && name[0] == '.' && name.find(".tmp-") != std::string::npos;  // write_atomically's
}

// True when dir holds only unstarted leftovers (recursing into selection/).
bool only_leftovers(const fs::path& dir) {
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.is_directory() && e.path().filename() == "selection" && dir.filename() != "selection") {
      if (!only_leftovers(e.path())) return false;
    } else if (!e.is_regular_file() || !is_unstarted_leftover(e)) {
      return false;
    }
  }
  return true;
}
}  // namespace

RunDirState run_directory_state(const fs::path& dir) {
  if (!fs::exists(dir) || (fs::is_directory(dir) && fs::is_empty(dir))) return RunDirState::fresh;
  if (!fs::is_directory(dir)) return RunDirState::other;
  if (train::has_checkpoint(dir) || train::has_checkpoint(dir / "selection")) return RunDirState::started;
  return only_leftovers(dir) ? RunDirState::unstarted : RunDirState::other;
}

void clear_unstarted_run(const fs::path& dir) {
  BRAINSEM_CHECK(run_directory_state(dir) == RunDirState::unstarted, dir, " is not an unstarted run directory");
  for (const auto& sub : {dir / "selection", dir})
    if (fs::is_directory(sub))
      for (const auto& e : fs::directory_iterator(sub))
        if (e.is_regular_file() && is_unstarted_leftover(e)) fs::remove(e.path());
  std::error_code ec;
  fs::remove(dir / "selection", ec);  // only if now empty
}

bool prepare_run_directory(const fs::path& dir, bool resume, bool retrain_all) {
  const auto state = run_directory_state(dir);
  if (state == RunDirState::unstarted) {
    // A run that stopped before its first checkpoint: nothing to continue, so start it again.
    std::fprintf(stderr,
                 "brainsem: note: %s holds only a run that stopped before its first checkpoint; starting again\n",
                 dir.c_str());
    clear_unstarted_run(dir);
    return false;
  }
  if (resume) {
    // A retrain-all run may have been stopped during its selection run (DIR/selection/).
    BRAINSEM_CHECK(train::has_checkpoint(dir) || (retrain_all && train::has_checkpoint(dir / "selection")),
                   "--resume: ", dir / train::kCheckpointFile, " does not exist");
    return true;
  }
  BRAINSEM_CHECK(state == RunDirState::fresh, "run directory ", dir,
                 state == RunDirState::started
                     ? " already holds a run; use --resume to continue it or choose another --out"
                     : " already exists and holds files BrainSem did not write; choose another --out");
  return false;
}

}  // namespace brainsem::experiment
