#pragma once
// The fuzzy matching loss of the paper (Eq. 2-3).
//   logits_ij = cos(f_b(X_i), f_v(Y_j)) / temperature           [N, N]
//   J_ij      = 1 if class(X_i) == class(Y_j) else 0
//   L         = -1/N sum_i sum_j (J_ij / sum_n J_in) log softmax_j(logits_i)
// The paper's logits are plain cosine similarities (temperature 1). With one image per class in
// the batch J is the identity and L is ordinary cross-entropy (InfoNCE).
#include <torch/torch.h>

namespace brainsem::model {

struct FuzzyLossOptions {
  double temperature = 1.0;  // the paper: 1 (plain cosine)
  bool symmetric = false;    // also the image->fMRI direction, averaged (CLIP-style)
  torch::Tensor scale;       // if defined ([1], may require grad): logits * scale replaces / temperature
};

// brain [N, E], image [N, E] (any scale), classes [N] int64 (class of row i of both).
torch::Tensor fuzzy_matching_loss(const torch::Tensor& brain, const torch::Tensor& image, const torch::Tensor& classes,
                                  const FuzzyLossOptions& opts = {});

// The regression term of the combined objective (TrainConfig::regression_weight): the mean over
// rows of 1 - cos(brain_i, v_i - mean_n v_n), v = the L2-normalised image rows. What the ridge
// fits (normalised targets centred on their mean), as a cosine, so that it ignores the
// encoder's scale as the fuzzy loss does. brain [N, E], image [N, E].
torch::Tensor centred_cosine_regression_loss(const torch::Tensor& brain, const torch::Tensor& image);

// The soft target J / rowsum(J) [N, N] (exposed for tests).
torch::Tensor fuzzy_targets(const torch::Tensor& classes);

}  // namespace brainsem::model
