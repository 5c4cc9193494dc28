#pragma once
// Where a subject's decodable semantics lie: for each ROI token, three attributions of BrainSem's
// zero-shot accuracy, over subjects and seeds:
//   without R  leave-one-ROI-out: trained and tested on every token but R's;
//   only R     single-ROI: trained and tested on R's token alone;
//   masked R   the full model, no retraining, with R's test token replaced by its training mean
//              (zero after z-scoring): how much the trained model relies on R.
// Every row is compared with the full model ("all") by the ablation's paired tests (units:
// (subject, test item), each item averaged over the seeds first; experiment/ablation.h).
// Trained cells are run directories OUT/cells/<all|without-R|only-R>/Subject<s>-seed<k>/, reused
// when finished, so a stopped attribution resumes.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "brainsem/eval/stats.h"
#include "brainsem/train/train_config.h"

namespace brainsem::experiment {

// OUT/roi.json (RoiTable::to_json); OUT/roi.csv holds the same rows.
inline constexpr const char* kRoiTableFormat = "brainsem.roi_attribution";
inline constexpr int kRoiTableVersion = 1;

struct RoiAttributionOptions {
  std::filesystem::path data;  // as `brainsem ablate --data`: Subject<s>.h5, stimuli and libraries
  std::filesystem::path out;
  std::vector<int> subjects{1};
  std::vector<uint64_t> seeds{0};
  std::vector<std::string> modes{"without", "only", "masked"};  // any of these, in any order
  std::vector<std::string> rois;  // the ROI tokens (empty: every ROI of the first subject)
  train::TrainConfig base;
  std::string prototype = "stimulus";
};

struct RoiRow {
  std::string mode;  // "all" (the reference) | "without" | "only" | "masked"
  std::string roi;   // "" for "all"
  int64_t cells = 0;
  eval::MeanSd top1, top5;          // over (subject, seed) cells
  eval::Interval ci_top1, ci_top5;  // 95 %, see RoiTable::interval
  double mean_rank = 0;
  eval::PairedTest test_top1, test_top5, test_rank;  // vs "all"
  std::string name() const { return mode == "all" ? "all" : mode + " " + roi; }
};

struct RoiTable {
  std::vector<RoiRow> rows;  // "all" first, then each mode's rows in ROI order
  std::vector<int> subjects;
  std::vector<uint64_t> seeds;
  std::vector<std::string> rois;
  std::string prototype;
  // "t over subjects, clipped to [0, 100] %" (several subjects: Student-t over the subjects'
  // seed-averaged scores) or
  // "bootstrap over test items" (one subject: percentile bootstrap over its seed-averaged items).
  std::string interval;
  std::string top_k_test = "mcnemar";  // as AblationTable
  int64_t paired_units = 0;
  int64_t cells_run = 0, cells_reused = 0;
  const RoiRow* find(const std::string& mode, const std::string& roi) const;
  nlohmann::json to_json() const;
  std::string text() const;
  std::string csv() const;
};

// Runs (or reuses) every cell, then writes OUT/roi.json and OUT/roi.csv atomically. Every input
// and ROI name is checked before anything is trained.
RoiTable run_roi_attribution(const RoiAttributionOptions& options);

RoiTable load_roi_table(const std::filesystem::path& file);

}  // namespace brainsem::experiment
