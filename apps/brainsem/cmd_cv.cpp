// `brainsem cv`: leave-k-classes-out cross-validated zero-shot decoding of a (small) dataset
// against a class-embedding table, BrainSem and ridge in the same folds, with a permutation null
// (docs/generic_data.md).
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "brainsem/core/atomic_file.h"
#include "brainsem/core/error.h"
#include "brainsem/data/class_embeddings.h"
#include "brainsem/data/subject.h"
#include "brainsem/experiment/cross_validation.h"
#include "command.h"
#include "train_options.h"

using nlohmann::json;

namespace brainsem::app {
namespace {

struct Options {
  CommonOptions common;
  TrainOptions train;
  experiment::CvOptions cv;  // every cross-validation option, with its default
  std::string dataset, embeddings, json_out;
  std::vector<std::string> rois;
};

// "V1,V2+V3" -> {{V1}, {V2, V3}}
std::vector<std::vector<std::string>> roi_subsets(const std::vector<std::string>& items) {
  std::vector<std::vector<std::string>> out;
  for (const auto& item : items) {
    std::vector<std::string> subset;
    std::stringstream ss(item);
    std::string part;
    while (std::getline(ss, part, '+')) {
      BRAINSEM_CHECK(!part.empty(), "--rois: empty ROI name in '", item, "'");
      subset.push_back(part);
    }
    BRAINSEM_CHECK(!subset.empty(), "--rois: empty subset");
    out.push_back(subset);
  }
  return out;
}

void run(Options& o) {
  apply_common_options(o.common);
  auto cfg = resolve_train_config(o.train);
  // cv trains each fold for --steps: its folds are small, and the score is over held-out classes
  // already. The default's held-out step choice is therefore off here unless asked for (then refused).
  if (o.train.cmd->count("--val-classes") == 0) cfg.val_classes = 0;
  auto subsets = roi_subsets(o.rois);
  auto subject = data::load_subject(o.dataset, data::Normalize::none);  // z-scoring happens per fold
  auto table = data::read_class_embeddings(o.embeddings);
  auto full = experiment::make_cv_dataset(subject, table);
  for (const auto& s : subsets) experiment::select_rois(full, s);  // fail on a bad ROI before any work

  experiment::CvOptions co = o.cv;
  co.workers = o.common.threads;  // ridge folds at once; 0 = one per core
  co.seed = cfg.seed;
  co.train = cfg;

  std::vector<experiment::CvMethodResult> results;
  for (auto& r : experiment::run_cross_validation(full, co, "all")) results.push_back(std::move(r));
  for (const auto& s : subsets) {
    std::string label;
    for (const auto& n : s) label += (label.empty() ? "" : "+") + n;
    for (auto& r : experiment::run_cross_validation(experiment::select_rois(full, s), co, label))
      results.push_back(std::move(r));
  }
  std::printf("%s: %lld samples, %lld classes, leave-%lld-classes-out, %lld folds%s\n", o.dataset.c_str(),
              (long long)full.x.size(0), (long long)full.num_classes(), (long long)co.k,
              (long long)results.front().observed.folds,
              results.front().all_splits ? " (all splits)" : " (seeded sample)");
  std::printf("%s", experiment::format_cv_table(results).c_str());
  std::printf(
      "2-AFC chance is the permutation null's mean (not exactly 0.5); p = (1 + #null >= observed) / (1 + "
      "permutations)\n");
  if (!o.json_out.empty()) {
    json tj;
    train::to_json(tj, cfg);
    json out{{"dataset", o.dataset},        {"class_embeddings", o.embeddings},
             {"encoder", table.encoder},    {"samples", full.x.size(0)},
             {"classes", full.class_names}, {"k", co.k},
             {"max_splits", co.max_splits}, {"seed", cfg.seed},
             {"train_config", tj},          {"results", json::array()}};
    for (const auto& r : results) out["results"].push_back(r.to_json());
    core::write_text_atomically(o.json_out, out.dump(2) + "\n");
    std::printf("wrote %s\n", o.json_out.c_str());
  }
}

CommandRegistration reg(45, [](CLI::App& root) {
  auto o = std::make_shared<Options>();
  auto* cmd =
      root.add_subcommand("cv", "Leave-k-classes-out cross-validated zero-shot (2-AFC, rank) with a permutation null");
  cmd->footer(
      "Pools every sample of --dataset; each fold holds out k classes, fits on the rest (targets: their class\n"
      "embeddings) and scores the held-out classes against ALL classes' embeddings. The permutation null\n"
      "shuffles class<->embedding and reruns the whole cross-validation. Ridge permutations are cheap (the\n"
      "fold fits are reused); each BrainSem permutation retrains every fold, so --brainsem-permutations is 0\n"
      "by default (no BrainSem p-value) - set it, with --max-splits and a small model, when you can afford it.\n"
      "Ridge folds run on one worker per CPU core (--threads N: N workers); the numbers do not depend on it.\n"
      "Example: brainsem cv --dataset mydata.safetensors --class-embeddings text.safetensors --rois V1,V2,LOC \\\n"
      "           --encoder vit --depth 2 --width 64 --mlp 128 --steps 300 --batch 32 --json cv.json");
  cmd->add_option("--dataset", o->dataset, "`data import`/`data export` .safetensors or GOD Subject*.h5")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--class-embeddings", o->embeddings, "Class-embedding table (targets and prototypes)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--k", o->cv.k, "Classes held out per fold (>= 2)")->capture_default_str();
  cmd->add_option("--max-splits", o->cv.max_splits, "At most this many folds (all C-choose-k when fewer; 0 = all)")
      ->capture_default_str();
  cmd->add_option("--permutations", o->cv.permutations, "Ridge permutation-null size (>= 100 recommended)")
      ->capture_default_str();
  cmd->add_option("--brainsem-permutations", o->cv.brainsem_permutations,
                  "BrainSem permutation-null size (each retrains every fold; 0 = no p-value)")
      ->capture_default_str();
  cmd->add_option("--rois", o->rois, "ROI subsets to compare besides all ROIs: V1,V2,V1+V2 ('+' joins ROIs)")
      ->delimiter(',');
  cmd->add_option("--methods", o->cv.methods, "ridge and/or brainsem")
      ->delimiter(',')
      ->check(CLI::IsMember({"ridge", "brainsem"}))
      ->capture_default_str();
  cmd->add_option("--alphas", o->cv.alphas, "Ridge alpha grid (default 1 .. 1e8 in half decades)")->delimiter(',');
  cmd->add_option("--inner-folds", o->cv.inner_folds, "Class-grouped inner folds that choose ridge alpha in each fold")
      ->capture_default_str();
  cmd->add_option("--json", o->json_out, "Write every result (per fold, null distribution) as JSON");
  add_train_options(*cmd, o->train);
  add_common_options(*cmd, o->common);
  add_device_options(*cmd, o->common);
  cmd->callback([o] { run(*o); });
});

}  // namespace
}  // namespace brainsem::app
