// `brainsem train`: train BrainSem on one subject, then score the test set once (zero-shot).
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "brainsem/core/error.h"
#include "brainsem/core/output_lock.h"
#include "brainsem/experiment/run_dir.h"
#include "brainsem/experiment/baselines.h"
#include "brainsem/experiment/study.h"
#include "brainsem/report/results_table.h"
#include "brainsem/train/checkpoint.h"
#include "command.h"
#include "study_options.h"
#include "train_options.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace brainsem::app {
namespace {

struct Options {
  CommonOptions common;
  DistributedOptions dist;
  StudyOptions study;
  TrainOptions train;
  std::string out;
  bool resume = false;
  bool baselines = false;
};

void run(Options& o, core::ProcessGroup* group) {
  apply_common_options(o.common);
  const bool writer = group == nullptr || group->rank() == 0;  // rank 0 alone writes the run directory
  std::optional<core::OutputLock> lock;
  if (writer) lock.emplace(o.out);  // one writer per run directory
  auto cfg = resolve_train_config(o.train);
  const fs::path dir = o.out;
  bool resume =
      writer ? experiment::prepare_run_directory(dir, o.resume, cfg.retrain_all && cfg.val_classes > 0) : false;
  auto inputs = o.study.inputs();
  // A class-embedding table doubles as the library (one target per class).
  BRAINSEM_CHECK(!cfg.library || !inputs.library.empty() || !inputs.class_embeddings.empty(),
                 "the semantic library is on (V) but no library feature store "
                 "was given; pass --library FILE or train with --no-library");
  BRAINSEM_CHECK(cfg.ridge_targets != "class-library" || !inputs.library.empty() || !inputs.class_embeddings.empty(),
                 "--ridge-targets class-library regresses onto each class's mean library image, but no library "
                 "feature store was given; pass --library FILE or use --ridge-targets stimulus");
  auto study = experiment::load_study(inputs, cfg.normalize);  // validates everything before any output
  train::validate(cfg, study.stimuli.dim());                   // the encoder's output fits the image features
  const std::set<std::string> training_classes(study.subject.train_classes.begin(), study.subject.train_classes.end());
  train::validate_for_classes(cfg, static_cast<int64_t>(training_classes.size()));
  if (group) {
    // Every rank has checked its inputs; rank 0 tells the others whether the run resumes.
    std::vector<torch::Tensor> flag{torch::full({1}, writer && resume ? 1.0 : 0.0)};
    group->all_reduce_sum(flag);
    resume = flag[0].item<double>() > 0;
  }
  if (writer) experiment::write_run_inputs(dir, inputs);
  // Writes config.json (the config as run: steps resolved from --epochs).
  auto result = experiment::train_brainsem(cfg, study, dir, resume, "brainsem", cfg.seed, group);
  if (!writer) {
    std::printf("%s: trained its share of every step; rank 0 scores and writes %s\n", group->spec().source.c_str(),
                dir.c_str());
    return;
  }
  auto scores = result.scores;
  if (o.baselines)
    for (auto& m : experiment::run_baselines(study, cfg.seed, o.study.ridge_config(cfg.ridge_targets)))
      scores.push_back(m);
  experiment::write_run_results(dir, experiment::run_results(result, scores, inputs));
  std::printf("%s", report::format_subject_scores(scores).c_str());
  if (!result.selection.summary().empty()) std::printf("model selection: %s\n", result.selection.summary().c_str());
  std::printf("wrote %s\n", (dir / experiment::kRunResultsFile).c_str());
}

CommandRegistration reg(30, [](CLI::App& root) {
  auto o = std::make_shared<Options>();
  auto* cmd = root.add_subcommand("train", "Train BrainSem on one subject and score the test set zero-shot");
  cmd->footer(
      "Writes OUT/config.json, inputs.json, train_log.jsonl (JSON lines), checkpoint.safetensors and results.json.\n"
      "The test set is scored once, after training; it never chooses a step (--val-classes uses training classes;\n"
      "with --retrain-all the chosen step count is then retrained on all classes, the selection run in "
      "OUT/selection/).\n"
      "Several processes (torchrun, srun or --dist-url; docs/distributed.md) train data-parallel: each rank encodes\n"
      "its slice of every batch, gradients are summed over ranks (c10d, Gloo), rank 0 writes OUT.\n"
      "Example: brainsem train --subject data/Subject1.h5 --stimuli data/stimuli.safetensors \\\n"
      "           --library data/library_train.safetensors --library-test data/library_test.safetensors --out runs/s1");
  add_study_options(*cmd, o->study);
  add_train_options(*cmd, o->train);
  cmd->add_option("--out", o->out, "Run directory (new, or existing with --resume)")->required();
  cmd->add_flag("--resume", o->resume,
                "Continue OUT/checkpoint.safetensors with the same options (exactly as if never stopped)");
  cmd->add_flag("--baselines", o->baselines, "Also score ridge, nearest class mean and (with --truth) the oracle");
  add_common_options(*cmd, o->common);
  add_device_options(*cmd, o->common);
  add_distributed_options(*cmd, o->dist);
  cmd->callback([o] {
    const auto group = join_job(o->dist, o->common);
    core::run_as_rank(group.get(), [&] { run(*o, group.get()); });
  });
});

}  // namespace
}  // namespace brainsem::app
