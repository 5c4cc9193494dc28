#pragma once
// Zero-shot classification: each predicted embedding is compared (cosine) with one prototype per
// candidate class; top-k accuracy counts how often the true class is among the k most similar.
#include <torch/torch.h>

#include <vector>

namespace brainsem::eval {

struct ZeroShotResult {
  torch::Tensor similarity;        // [N, C] cosine similarities, float64 (ranks compare these)
  std::vector<int64_t> rank;       // [N] 1-based rank of the true class (1 = correct)
  std::vector<int64_t> predicted;  // [N] most similar class
  double top1 = 0, top5 = 0;       // fractions in [0, 1]
  double mean_rank = 0;
};

// predicted [N, E], prototypes [C, E], truth [N] with values in [0, C). Ranks follow eval/ranks.h:
// ties count against the true class and a non-finite similarity is the worst, never the best.
ZeroShotResult zero_shot(const torch::Tensor& predicted, const torch::Tensor& prototypes,
                         const std::vector<int64_t>& truth);

// Mean of the rows of `features` [M, E] per class: out [C, E], rows normalised.
torch::Tensor class_prototypes(const torch::Tensor& features, const std::vector<int64_t>& row_class,
                               int64_t num_classes);

}  // namespace brainsem::eval
