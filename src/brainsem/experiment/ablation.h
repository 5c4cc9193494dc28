#pragma once
// Tables 2-3: the ablation grid V (semantic library) on/off x B (virtual brain activity) on/off x
// batch x fMRI-encoder size, over subjects and seeds. Each cell is a
// run directory (experiment/run_dir.h) OUT/cells/<config>/Subject<s>-seed<k>/; a cell whose
// results.json exists is not run again (resumable), one with only a checkpoint is resumed.
// Significance: every configuration against the reference (the first: V on, B on), paired on
// (subject, test item) units. Seeds are repeated trainings of the same model on the same items, not
// independent observations, so each item is first averaged over the seeds (its hit rate at top-1
// and top-5, its mean rank of the true class) and the test runs over the subjects x items units:
//   * one seed: exact McNemar on top-1 and on top-5 correctness (the hit rates are 0 or 1);
//   * several seeds: the hit rates are fractions, for which McNemar does not apply, so top-1 and
//     top-5 use the paired sign-flip test on the seed-averaged hit rates;
//   * rank: the paired sign-flip test on the seed-averaged rank (any number of seeds).
// Pooling the (subject, seed, item) cells instead would count every item once per seed and make
// p-values too small.
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "brainsem/core/launch.h"
#include "brainsem/eval/stats.h"
#include "brainsem/train/train_config.h"

namespace brainsem::experiment {

// OUT/ablation.json (AblationTable::to_json); OUT/ablation.csv is its rows for spreadsheets.
inline constexpr const char* kAblationTableFormat = "brainsem.ablation_table";
inline constexpr int kAblationTableVersion = 1;

struct AblationConfig {
  std::string name;  // e.g. "V+B+_b200_vit6x4"
  train::TrainConfig config;
};

// The grid: V x B always; batch and encoder from `base` unless `full` (then batch 100/200 x ViT
// (depth, heads) (6,4), (12,8), (24,16)). The reference (V on, B on, base batch/encoder) is first.
std::vector<AblationConfig> ablation_grid(const train::TrainConfig& base, bool full);

struct AblationOptions {
  std::filesystem::path data;  // synthetic or GOD directory: Subject<s>.h5 (or .safetensors), stimuli, libraries
  std::filesystem::path out;
  std::vector<int> subjects{1};
  std::vector<uint64_t> seeds{0};
  bool full = false;
  train::TrainConfig base;
  std::string prototype = "stimulus";
  // This process's share of the cells (core/launch.h: a Slurm array task, a torchrun/srun rank, or
  // --shard): cell k (in table order) is trained here when share.mine(k); other shares' cells are
  // reused when finished.
  core::WorkShare share;
};

struct AblationRow {
  std::string name;
  bool library = true, virtual_brain = true;
  int64_t batch = 0;
  std::string encoder;  // "vit 6x4", "linear"
  int64_t cells = 0;
  eval::MeanSd top1, top5;  // over (subject, seed) cells
  double mean_rank = 0;
  eval::PairedTest test_top1, test_top5, test_rank;  // vs the reference row, see paired_comparison
};

// The paired tests of one configuration against the reference. ranks[cell][item] and
// reference[cell][item]: the true class's rank of every test item, cells in (subject, seed) order
// with `seeds` seeds per subject, the same items in the same order in both.
struct PairedComparison {
  eval::PairedTest top1, top5, rank;
  std::string top_k_test;  // "mcnemar" (one seed) | "sign-flip" (several: on seed-averaged hit rates)
  int64_t units = 0;       // (subject, item) pairs tested
};
PairedComparison paired_comparison(const std::vector<std::vector<int64_t>>& ranks,
                                   const std::vector<std::vector<int64_t>>& reference, size_t seeds);

// A paired test as the tables store it: {statistic, p, b, c, exact}.
nlohmann::json paired_test_to_json(const eval::PairedTest& t);
eval::PairedTest paired_test_from_json(const nlohmann::json& j);  // throws nlohmann::json::exception

struct AblationTable {
  std::vector<AblationRow> rows;
  std::vector<int> subjects;
  std::vector<uint64_t> seeds;
  std::string prototype;
  std::string top_k_test = "mcnemar";       // the top-1/top-5 test of every row (PairedComparison)
  int64_t paired_units = 0;                 // (subject, item) units of the paired tests
  int64_t cells_run = 0, cells_reused = 0;  // by this invocation
  // Cells of other shares not finished yet: the table is incomplete (no rows) and was not written;
  // the share that finishes last writes it.
  int64_t cells_waiting = 0;
  nlohmann::json to_json() const;
  std::string text() const;  // plain-text table
  std::string csv() const;
};

// Runs (or reuses) every cell of options.share, then, once every cell of the grid is finished,
// writes OUT/ablation.json and OUT/ablation.csv atomically. Each cell directory is locked while it
// trains, so shares never train one cell twice; every share that sees the grid finished writes the
// same rows.
AblationTable run_ablation(const AblationOptions& options);

// Reads OUT/ablation.json back (for the report).
AblationTable load_ablation(const std::filesystem::path& file);

}  // namespace brainsem::experiment
