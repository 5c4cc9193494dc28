#pragma once
// What a zero-shot score should be read against besides the binomial chance level:
//   * a label-permutation null of top-1 / top-5 (eval::topk_permutation_null): the test labels are
//     shuffled across the test items, keeping the similarity matrix, so p is the share of shuffles
//     that score at least as well as the real pairing;
//   * the split-half identification ceiling of the test fMRI (eval/noise_ceiling.h), when the
//     subject file holds the trial-level test data (GOD BData: 35 repeats per test image). It is a
//     brain-side reliability measure on the decoders' 1-of-N scale, not a bound on every decoder.
#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "brainsem/eval/noise_ceiling.h"
#include "brainsem/experiment/study.h"

namespace brainsem::experiment {

struct PermutationCheck {
  std::string method, prototype;
  int64_t permutations = 0;
  uint64_t seed = 0;
  double top1 = 0, top5 = 0;                      // observed (top-k of the similarity matrix)
  double null_mean_top1 = 0, null_mean_top5 = 0;  // mean accuracy over the shuffles
  double p_top1 = 1, p_top5 = 1;                  // (1 + #{null >= observed}) / (1 + permutations)
  nlohmann::json to_json() const;
};

// The permutation null of `method`'s predicted test embeddings [N_test, E] for every prototype set
// of the study (the same similarity matrices score_prediction ranks).
std::vector<PermutationCheck> permutation_checks(const std::string& method, const torch::Tensor& predicted,
                                                 const LoadedStudy& study, int64_t permutations = 10000,
                                                 uint64_t seed = 0);

// The split-half identification ceiling of the study's test trials (the voxels of its ROIs, as
// normalised for the run); nullopt when the subject file has no trial-level test data.
std::optional<eval::IdentificationCeiling> test_identification_ceiling(const LoadedStudy& study, int64_t splits = 100,
                                                                       uint64_t seed = 0);

struct ScoreContext {
  std::vector<PermutationCheck> permutation;
  std::optional<eval::IdentificationCeiling> ceiling;
  std::string ceiling_missing;  // why there is no ceiling (empty when there is one)
  int64_t test_classes = 0;     // candidates of the zero-shot score (the ceiling's are the test images)
  nlohmann::json to_json() const;
  std::string text() const;  // printed lines, after the scores table
};

// Both, for one method's predicted test embeddings [N_test, E].
ScoreContext score_context(const std::string& method, const torch::Tensor& predicted, const LoadedStudy& study,
                           uint64_t seed = 0);

}  // namespace brainsem::experiment
