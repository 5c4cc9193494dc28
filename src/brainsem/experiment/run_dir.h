#pragma once
// The run directory of `brainsem train` (also each `ablate` cell and each demo subject), and the
// one reader and writer of its JSON files:
//   config.json             the training config as run (train::kTrainConfigFormat)
//   inputs.json             the study's input files (kRunInputsFormat)
//   results.json            the zero-shot scores (kRunResultsFormat)
//   checkpoint.safetensors  the weights (train/checkpoint.h owns that format)
//   train_log.jsonl, selection/ (a --retrain-all run's selection run, itself a run directory)
// Each JSON file carries its format and version (core/json_document.h); a file of a newer version
// is refused, one without a format (written before formats were recorded) is read with version 1's layout.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "brainsem/experiment/study.h"
#include "brainsem/train/train_config.h"

namespace brainsem::experiment {

inline constexpr const char* kRunConfigFile = "config.json";
inline constexpr const char* kRunInputsFile = "inputs.json";
inline constexpr const char* kRunResultsFile = "results.json";
inline constexpr const char* kRunInputsFormat = "brainsem.run_inputs";
inline constexpr int kRunInputsVersion = 1;
inline constexpr const char* kRunResultsFormat = "brainsem.run_results";
inline constexpr int kRunResultsVersion = 1;

void write_run_config(const std::filesystem::path& dir, const train::TrainConfig& config);
train::TrainConfig read_run_config(const std::filesystem::path& dir);
// config.json's fields as recorded (format keys removed), for reports that show them as they are.
nlohmann::json read_run_config_fields(const std::filesystem::path& dir);

void write_run_inputs(const std::filesystem::path& dir, const StudyInputs& inputs);
StudyInputs read_run_inputs(const std::filesystem::path& dir);

// What results.json holds.
struct RunResults {
  std::string subject;     // the subject file the run was trained on
  int64_t best_step = -1;  // chosen on held-out training classes (-1: the last step; not written)
  int64_t steps = 0;
  nlohmann::json selection;  // BrainSemRun::Selection::to_json()
  int64_t parameters = 0;
  double train_seconds = 0;
  std::vector<MethodScore> scores;  // BrainSem's and any baselines', one per method and prototype
  // The score of `method` with `prototype` prototypes, or nullptr.
  const MethodScore* find(const std::string& method, const std::string& prototype) const;
};
RunResults run_results(const BrainSemRun& run, const std::vector<MethodScore>& scores, const StudyInputs& inputs);
void write_run_results(const std::filesystem::path& dir, const RunResults& results);
RunResults read_run_results(const std::filesystem::path& dir);

// What a run directory holds before `train` writes into it. `unstarted`: only what a run that
// stopped before its first checkpoint leaves (config.json, inputs.json, train_log.jsonl,
// temporaries, an equally empty selection/), which a rerun may replace. `started`: a checkpoint
// exists (resumable, finished or not). `other`: anything else (files we did not write).
enum class RunDirState { fresh, unstarted, started, other };
RunDirState run_directory_state(const std::filesystem::path& dir);
// Removes what an unstarted run left (only the files listed above).
void clear_unstarted_run(const std::filesystem::path& dir);
// Makes `dir` ready for `brainsem train`: a fresh directory is used as is, an unstarted one is
// cleared (with a note on stderr), an existing run needs `resume` (and a checkpoint to resume),
// anything else is refused. Returns whether training resumes.
bool prepare_run_directory(const std::filesystem::path& dir, bool resume, bool retrain_all);

}  // namespace brainsem::experiment
