#include "brainsem/experiment/grid_cell.h"

#include <set>

#include <nlohmann/json.hpp>

#include "brainsem/core/output_lock.h"
#include "brainsem/core/error.h"
#include "brainsem/core/progress.h"
#include "brainsem/core/text.h"
#include "brainsem/experiment/run_dir.h"
#include "brainsem/train/checkpoint.h"
#include "brainsem/train/train_config.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace brainsem::experiment {
namespace {

fs::path first_existing(const fs::path& dir, const std::vector<std::string>& names) {
  for (const auto& n : names)
    if (fs::exists(dir / n)) return dir / n;
  return {};
}

CellScores read_cell(const fs::path& dir, const std::string& prototype) {
  const auto results = read_run_results(dir);
  const MethodScore* s = results.find("brainsem", prototype);
  BRAINSEM_CHECK(s, dir / kRunResultsFile, " has no brainsem score with '", prototype,
                 "' prototypes; delete the cell directory to run it again");
  return {s->ranks, s->top1, s->top5};
}

}  // namespace

StudyInputs data_directory_inputs(const fs::path& data_dir, int subject, const std::string& command) {
  const fs::path data = fs::absolute(data_dir);
  StudyInputs in;
  const std::string stem = "Subject" + std::to_string(subject);
  in.subject = first_existing(data, {stem + ".h5", stem + ".safetensors"});
  BRAINSEM_CHECK(!in.subject.empty(), command, ": ", data / (stem + ".h5"),
                 " (or .safetensors) not found; check --data and --subjects");
  in.stimuli = first_existing(data, {"stimuli.safetensors"});
  BRAINSEM_CHECK(!in.stimuli.empty(), command, ": ", data / "stimuli.safetensors",
                 " not found; --data must hold the stimulus feature store (as `brainsem synth` writes)");
  in.library = first_existing(data, {"library_train.safetensors"});
  in.library_test = first_existing(data, {"library_test.safetensors"});
  in.truth = first_existing(data, {"truth.safetensors"});
  in.subject_index = subject - 1;
  return in;
}

bool grid_cell_finished(const fs::path& dir) { return fs::exists(dir / kRunResultsFile); }

CellScores run_grid_cell(const fs::path& dir, const train::TrainConfig& cfg, const StudyInputs& inputs,
                         const std::function<const LoadedStudy&()>& study, const std::string& prototype,
                         const std::string& command, const std::string& position) {
  if (fs::exists(dir / kRunConfigFile)) {
    // Read through TrainConfig so keys added since the cell ran compare as their defaults.
    // The documents leave out what the encoder kind ignores, as config.json does.
    json old = train::train_config_document(read_run_config(dir));
    json wanted = train::train_config_document(cfg);
    old["encoder"].erase("out_dim");  // recorded as the features' dimension E
    wanted["encoder"].erase("out_dim");
    if (cfg.epochs > 0) {  // the cell recorded the steps it resolved from the epochs
      old.erase("steps");
      wanted.erase("steps");
    }
    BRAINSEM_CHECK(old == wanted, command, ": cell ", dir,
                   " was run with a different training config; use another --out or delete it");
  }
  if (fs::exists(dir / kRunInputsFile)) {
    // A cell is only reusable for the same data: the same subject file and ROI tokens.
    const StudyInputs recorded = read_run_inputs(dir);
    auto tokens = [](const std::vector<std::string>& rois) {
      return rois.empty() ? std::string("all of the subject's") : core::join(rois, ",");
    };
    BRAINSEM_CHECK(recorded.subject == inputs.subject && recorded.rois == inputs.rois, command, ": cell ", dir,
                   " was trained on ", recorded.subject, " with ROI tokens ", tokens(recorded.rois), ", not on ",
                   inputs.subject, " with ", tokens(inputs.rois), "; use another --out or delete it");
  }
  if (grid_cell_finished(dir)) {
    core::Progress::status(position + " " + dir.string() + ": finished earlier, reused");
    auto scores = read_cell(dir, prototype);
    scores.reused = true;
    return scores;
  }
  // One trainer per cell, whichever shares or reruns of the grid meet it (a second one stops,
  // naming the first); one that finished while we waited for nothing is reused.
  const core::OutputLock lock(dir);
  if (grid_cell_finished(dir)) {
    auto scores = read_cell(dir, prototype);
    scores.reused = true;
    return scores;
  }
  core::Progress::status(position + " training " + dir.string());
  const LoadedStudy& loaded = study();
  // Too few classes for held-out selection or the ridge start: refused before the cell writes
  // anything (the lock's folders go again), naming the flag that fixes it.
  const std::set<std::string> classes(loaded.subject.train_classes.begin(), loaded.subject.train_classes.end());
  train::validate_for_classes(cfg, static_cast<int64_t>(classes.size()));
  write_run_config(dir, cfg);
  write_run_inputs(dir, inputs);
  auto res = train_brainsem(cfg, loaded, dir, train::has_checkpoint(dir), "brainsem", cfg.seed);
  write_run_results(dir, run_results(res, res.scores, inputs));
  return read_cell(dir, prototype);
}

}  // namespace brainsem::experiment
