// `brainsem train`: train BrainSem on one subject, then score the test set once (zero-shot).
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "brainsem/core/atomic_file.h"
#include "brainsem/core/error.h"
#include "brainsem/core/output_lock.h"
#include "brainsem/report/results_table.h"
#include "brainsem/train/checkpoint.h"
#include "brainsem/train/study.h"
#include "command.h"
#include "study_options.h"
#include "train_options.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace brainsem::app {
namespace {

struct Options {
  CommonOptions common;
  StudyOptions study;
  TrainOptions train;
  std::string out;
  bool resume = false;
  bool baselines = false;
};

void run(Options& o) {
  apply_common_options(o.common);
  const core::OutputLock lock(o.out);  // one writer per run directory
  auto cfg = resolve_train_config(o.train);
  fs::path dir = o.out;
  const auto state = train::run_directory_state(dir);
  bool resume = o.resume;
  if (state == train::RunDirState::unstarted) {
    // A run that stopped before its first checkpoint: nothing to continue, so start it again.
    std::fprintf(stderr, "brainsem: note: %s holds only a run that stopped before its first checkpoint; starting again\n",
                 dir.c_str());
    train::clear_unstarted_run(dir);
    resume = false;
  } else if (o.resume) {
    // A retrain-all run may have been stopped during its selection run (OUT/selection/).
    BRAINSEM_CHECK(train::has_checkpoint(dir) || (cfg.retrain_all && train::has_checkpoint(dir / "selection")),
                   "--resume: ", dir / train::kCheckpointFile, " does not exist");
  } else {
    BRAINSEM_CHECK(state == train::RunDirState::fresh, "run directory ", dir,
                   state == train::RunDirState::started ? " already holds a run; use --resume to continue it or choose another --out"
                                                        : " already exists and holds files BrainSem did not write; choose another --out");
  }
  auto inputs = o.study.inputs();
  // A class-embedding table doubles as the library (one target per class).
  BRAINSEM_CHECK(!cfg.library || !inputs.library.empty() || !inputs.class_embeddings.empty(), "the semantic library is on (V) but no library feature store "
                 "was given; pass --library FILE or train with --no-library");
  auto study = train::load_study(inputs, cfg.normalize);  // validates everything before any output
  train::validate(cfg, study.stimuli.dim());  // the encoder's output fits the image features
  fs::create_directories(dir);
  core::write_text_atomically(dir / "inputs.json", inputs.to_json().dump(2) + "\n");
  // Writes config.json (the config as run: steps resolved from --epochs).
  auto result = train::train_brainsem(cfg, study, dir, resume, "brainsem", cfg.seed);
  auto scores = result.scores;
  if (o.baselines)
    for (auto& m : train::run_baselines(study, cfg.seed, o.study.ridge_config())) scores.push_back(m);
  json out{{"subject", inputs.subject.string()}, {"best_step", result.best_step}, {"steps", result.steps},
           {"selection", result.selection.to_json()}, {"parameters", result.parameters},
           {"train_seconds", result.seconds}, {"scores", json::array()}};
  for (const auto& m : scores) out["scores"].push_back(m.to_json());
  core::write_text_atomically(dir / "results.json", out.dump(2) + "\n");
  std::printf("%s", report::format_subject_scores(scores).c_str());
  if (!result.selection.summary().empty()) std::printf("model selection: %s\n", result.selection.summary().c_str());
  std::printf("wrote %s\n", (dir / "results.json").c_str());
}

CommandRegistration reg(30, [](CLI::App& root) {
  auto o = std::make_shared<Options>();
  auto* cmd = root.add_subcommand("train", "Train BrainSem on one subject and score the test set zero-shot");
  cmd->footer(
      "Writes OUT/config.json, inputs.json, train_log.jsonl (JSON lines), checkpoint.safetensors and results.json.\n"
      "The test set is scored once, after training; it never chooses a step (--val-classes uses training classes;\n"
      "with --retrain-all the chosen step count is then retrained on all classes, the selection run in OUT/selection/).\n"
      "Example: brainsem train --subject data/Subject1.h5 --stimuli data/stimuli.safetensors \\\n"
      "           --library data/library_train.safetensors --library-test data/library_test.safetensors --out runs/s1");
  add_study_options(*cmd, o->study);
  add_train_options(*cmd, o->train);
  cmd->add_option("--out", o->out, "Run directory (new, or existing with --resume)")->required();
  cmd->add_flag("--resume", o->resume, "Continue OUT/checkpoint.safetensors with the same options (exactly as if never stopped)");
  cmd->add_flag("--baselines", o->baselines, "Also score ridge, nearest class mean and (with --truth) the oracle");
  add_common_options(*cmd, o->common);
  cmd->callback([o] { run(*o); });
});

}  // namespace
}  // namespace brainsem::app
