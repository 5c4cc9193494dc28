#pragma once
// The peers' evaluation protocols, computed from one set of predictions so that a number can be
// put next to any paper's table as the same measurement (docs/protocols.md says which paper each
// matches and how it differs). Every similarity goes through eval/ranks.h's rule (ties count
// against the truth, a non-finite similarity is the worst) except where a peer's own rule differs,
// which is stated at the function.
#include <torch/torch.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "brainsem/eval/stats.h"
#include "brainsem/eval/svc.h"

namespace brainsem::eval {

// One reported number of a protocol, with its interval and (where one applies) its p-value
// against chance.
struct ProtocolScore {
  std::string protocol;  // "nway" | "retrieval" | "pairwise" | "bravl"
  std::string metric;    // e.g. "2-way top-1", "forward top-1", "identification rate"
  double value = 0;
  Interval interval;          // 95 %
  std::string interval_kind;  // "bootstrap over test items" | "normal over subsets (MindEye)"
  double chance = 0;
  double p_value = -1;  // one-sided against chance; -1 where the peer reports none
  int64_t trials = 0;   // items x repeats, or subsets
  nlohmann::json to_json() const;
};

// NICE / ATM k-way zero-shot classification: for each test item and each of `repeats` draws, the
// true class and k-1 distractor classes drawn without replacement from the other candidates;
// correct when the true class is the most similar (cosine) of the k (top-5: among the 5 most
// similar, reported for k > 5). predicted [N, E], prototypes [C, E], truth [N] in [0, C), ks <= C.
// Interval: bootstrap over items of each item's mean over draws; p: one-sided t-test of those per-item
// means against 1/k (5/k).
std::vector<ProtocolScore> nway_classification(const torch::Tensor& predicted, const torch::Tensor& prototypes,
                                               const std::vector<int64_t>& truth, const std::vector<int64_t>& ks,
                                               int64_t repeats, uint64_t seed);

// MindEye's retrieval: `loops` random subsets of min(subset, N) test items; within a subset,
// forward = the item's own image is the most similar (cosine) image to its prediction, backward =
// its own prediction is the most similar prediction to its image. predicted, images [N, E] (row i
// of each belongs to test item i). Interval: mean +- 1.96 sd / sqrt(loops) over the subsets, as
// MindEye reports it; no p-value. With N <= subset every loop is the whole test set.
std::vector<ProtocolScore> subset_retrieval(const torch::Tensor& predicted, const torch::Tensor& images, int64_t subset,
                                            int64_t loops, uint64_t seed);

// Kamitani-lab pairwise identification (bdpy.evals.metrics.pairwise_identification): for each test
// item, the fraction of other candidates whose Pearson correlation with the prediction is strictly
// below the true candidate's (a tie is a failure, as in bdpy); the mean over items. candidates
// [C, E], truth [N] in [0, C). Interval: bootstrap over items; p: one-sided t-test against 0.5.
ProtocolScore pairwise_identification(const torch::Tensor& predicted, const torch::Tensor& candidates,
                                      const std::vector<int64_t>& truth, uint64_t seed);

// Per-item rates [N] of pairwise_identification (for tests and paired comparisons).
torch::Tensor pairwise_identification_rates(const torch::Tensor& predicted, const torch::Tensor& candidates,
                                            const std::vector<int64_t>& truth);

// BraVL's protocol: an RBF support vector classifier with Platt-scaled probabilities (eval/svc.h,
// libsvm as scikit-learn's SVC(probability=True)) is fitted on image features of the candidate
// classes, train_x [L, E] with train_label in [0, C), and classifies each prediction [N, E]; top-1
// and top-5 by probability (a tie counts against the truth, eval/ranks.h). Rows of both are
// L2-normalised first: the shared space compares directions, and a brain embedding's norm is
// arbitrary. Interval: bootstrap over items; p: exact one-sided binomial test against 1/C (5/C).
std::vector<ProtocolScore> svc_classification(const torch::Tensor& predicted, const torch::Tensor& train_x,
                                              const std::vector<int64_t>& train_label, int64_t classes,
                                              const std::vector<int64_t>& truth, const SvcConfig& svc, uint64_t seed);

}  // namespace brainsem::eval
