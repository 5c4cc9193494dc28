#pragma once
// Cross-validated zero-shot decoding for small datasets (docs/generic_data.md):
// leave-k-classes-out over all classes, BrainSem and ridge in the same folds, with a permutation
// null in which the class <-> embedding assignment is shuffled and the whole cross-validation is
// rerun (with few classes, chance is not exactly 50% and depends on the data).
//
// Per fold, each held-out class's prediction is the mean predicted embedding of its samples.
// Metrics (cosine similarity, embeddings L2-normalised):
//   2-AFC: for each pair (a, b) of held-out classes, 1 if sim(p_a, e_a) + sim(p_b, e_b) >
//          sim(p_a, e_b) + sim(p_b, e_a), 0.5 on a tie, else 0; averaged over pairs and folds.
//   rank:  rank of e_a among ALL C classes' embeddings for p_a (1 = best, ties count against),
//          top-1 / top-5, mean rank and rank accuracy (C - rank) / (C - 1) (chance 0.5).
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "brainsem/data/class_embeddings.h"
#include "brainsem/data/subject.h"
#include "brainsem/train/train_config.h"

namespace brainsem::experiment {

// Every sample of a dataset (both splits pooled) with its class and the class embeddings.
struct CvDataset {
  torch::Tensor x;                       // [N, R, P] float32
  std::vector<std::string> roi_names;    // [R]
  std::vector<int64_t> roi_sizes;        // [R]
  std::vector<int64_t> sample_class;     // [N] index into class_names
  std::vector<std::string> class_names;  // [C] first-appearance order
  torch::Tensor embeddings;              // [C, E] float32, rows L2-normalised
  std::string source;

  int64_t num_classes() const { return static_cast<int64_t>(class_names.size()); }
};

// Pools train and test rows. Throws for a class with no embedding (naming it) and for fewer
// than 3 classes. Table classes that no sample uses are ignored.
CvDataset make_cv_dataset(const data::SubjectData& subject, const data::ClassEmbeddings& table);
// Keeps the named ROI tokens, in the order given (P shrinks to the widest kept). An unknown
// name is an error that lists the dataset's ROIs.
CvDataset select_rois(const CvDataset& d, const std::vector<std::string>& rois);

// Leave-k-classes-out splits of C classes: all C-choose-k subsets (lexicographic) when there are
// at most max_splits (0 = no limit), else max_splits distinct subsets drawn with `seed`, sorted.
std::vector<std::vector<int64_t>> leave_k_out_splits(int64_t classes, int64_t k, int64_t max_splits, uint64_t seed,
                                                     bool* all = nullptr);
// C choose k, saturating at INT64_MAX.
int64_t choose(int64_t n, int64_t k);

struct Fold {
  std::vector<int64_t> heldout;     // class indices (sorted)
  std::vector<int64_t> train_rows;  // every row whose class is not held out
  std::vector<int64_t> test_rows;   // every row of a held-out class
};
// Builds the fold and checks it (no training row of a held-out class, every row used once, every
// held-out class present).
Fold make_fold(const CvDataset& d, const std::vector<int64_t>& heldout);

// What a model was given in one fold, reported to CvOptions::observer (tests check leakage).
struct FoldView {
  std::string method;
  int64_t permutation = -1;  // -1 = the real assignment, else the permutation number
  const Fold* fold = nullptr;
  std::vector<int64_t> train_row_classes;  // class of every row the model was fitted on
  std::vector<int64_t> target_classes;     // classes whose embeddings the fit could depend on
  double heldout_target_weight = 0;  // ridge: max |coefficient| of a held-out class's embedding in a prediction (0)
};

struct CvOptions {
  int64_t k = 2;
  int64_t max_splits = 1000;          // ridge folds (0 = all)
  int64_t brainsem_max_splits = 0;    // BrainSem folds (0 = the ridge folds)
  int64_t permutations = 100;         // ridge permutation null
  int64_t brainsem_permutations = 0;  // BrainSem: each one retrains every fold, so off by default
  std::vector<std::string> methods{"ridge", "brainsem"};
  uint64_t seed = 0;
  std::vector<double> alphas;  // ridge grid (empty = eval::RidgeConfig::default_alphas())
  int inner_folds = 5;         // class-grouped inner CV that picks alpha per fold
  int workers = 0;             // ridge folds fitted at once (0 = one per CPU core); the results do not depend on it
  // Ridge: float32 dot products per scoring GEMM (2^18, about 1 MB, stays in cache; at least one
  // permutation's). The results do not depend on it.
  int64_t score_chunk = int64_t{1} << 18;
  train::TrainConfig train;                       // BrainSem configuration
  std::function<void(const FoldView&)> observer;  // optional instrumentation
};

struct CvMetrics {
  double two_afc = 0, top1 = 0, top5 = 0, mean_rank = 0, rank_accuracy = 0;
  int64_t folds = 0, pairs = 0, items = 0;
  nlohmann::json to_json() const;
};

struct FoldOutcome {
  std::vector<int64_t> heldout;
  double two_afc = 0;
  std::vector<int64_t> ranks;  // per held-out class
  double alpha = 0;            // ridge only
};

struct CvMethodResult {
  std::string method, rois;  // rois: "all" or e.g. "V1+V2"
  CvMetrics observed;
  std::vector<FoldOutcome> folds;                               // observed assignment
  std::vector<CvMetrics> null;                                  // one per permutation
  double p_two_afc = std::numeric_limits<double>::quiet_NaN();  // (1 + #{null >= obs}) / (1 + permutations)
  double p_top1 = std::numeric_limits<double>::quiet_NaN();
  double p_rank_accuracy = std::numeric_limits<double>::quiet_NaN();
  double null_mean_two_afc = std::numeric_limits<double>::quiet_NaN(),
         null_sd_two_afc = std::numeric_limits<double>::quiet_NaN();
  double null_mean_top1 = std::numeric_limits<double>::quiet_NaN();
  double null_mean_rank_accuracy = std::numeric_limits<double>::quiet_NaN();
  bool all_splits = false;
  double seconds = 0;
  nlohmann::json to_json() const;
};

// The class permutation number `p` (0-based) of C classes for `seed`: class c takes the embedding
// of class perm[c]. The same permutations serve every method and ROI subset.
std::vector<int64_t> class_permutation(int64_t classes, uint64_t seed, int64_t p);

// Scores one fold from similarities sim [k, C] of each held-out class's prediction (row i is
// class heldout[i]) to every class embedding. Adds into `m` (call finish_metrics at the end).
FoldOutcome score_fold(const torch::Tensor& sim, const std::vector<int64_t>& heldout, CvMetrics& m);
void finish_metrics(CvMetrics& m);

// Runs every requested method on one ROI subset. `rois_label` names the subset in results.
std::vector<CvMethodResult> run_cross_validation(const CvDataset& d, const CvOptions& o,
                                                 const std::string& rois_label = "all");

// A printed table: one row per (ROI subset, method).
std::string format_cv_table(const std::vector<CvMethodResult>& results);

}  // namespace brainsem::experiment
