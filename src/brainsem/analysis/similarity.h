#pragma once
// Fig. 4: is a test image decoded correctly when it resembles the training images? For each test
// stimulus: the mean of its `top` largest CLIP cosine similarities to the training stimuli, against
// whether BrainSem's top-1 ("stimulus" prototypes) was right. The correlation of similarity with
// correctness is the point-biserial r (Pearson with a 0/1 variable) with its t-test p-value; the
// Spearman correlation of similarity with the true class's rank is given too.
#include <torch/torch.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "brainsem/eval/stats.h"
#include "brainsem/experiment/study.h"

namespace brainsem::analysis {

struct SimilarityItem {
  std::string name, cls;
  double similarity = 0;             // mean of the top-`top` cosines to training stimuli
  std::vector<std::string> nearest;  // those training stimuli, most similar first
  int64_t rank = 0;                  // rank of the true class (1 = decoded correctly)
};

struct SimilarityAnalysis {
  std::vector<SimilarityItem> items;
  int64_t top = 3;
  eval::Correlation point_biserial;         // similarity vs correct (1) / wrong (0)
  eval::Correlation spearman_rank;          // similarity vs rank of the true class
  double mean_correct = 0, mean_wrong = 0;  // mean similarity of each group (nan when empty)
  int64_t correct = 0;
  nlohmann::json to_json() const;
};

// test_features [N, E], train_features [M, E], ranks [N] (1 = correct).
SimilarityAnalysis analyse_similarity(const torch::Tensor& test_features, const torch::Tensor& train_features,
                                      const std::vector<std::string>& test_names,
                                      const std::vector<std::string>& test_classes,
                                      const std::vector<std::string>& train_names, const std::vector<int64_t>& ranks,
                                      int64_t top = 3);

// The same for a trained run: its test embeddings scored on "stimulus" prototypes.
SimilarityAnalysis analyse_run_similarity(experiment::TrainedRun& run, int64_t top = 3);

// DIR/similarity.{json,csv,png,svg}, atomically.
void write_similarity(const std::filesystem::path& dir, const SimilarityAnalysis& a);

}  // namespace brainsem::analysis
