#pragma once
// Ridge regression fMRI -> CLIP, the baseline every decoding paper should beat (issue 3 §4).
// Closed form in the dual (N samples << D voxels): W = X^T (X X^T + alpha I)^-1 Y, with X the
// z-scored, flattened voxels (padding columns are dropped) and Y the centred targets.
// alpha is chosen by cross-validation over TRAINING classes only: folds hold out whole classes,
// and the score is zero-shot top-1 among the held-out classes (the same question the test asks).
#include <torch/torch.h>

#include <vector>

namespace brainsem::eval {

struct RidgeModel {
  torch::Tensor x_mean, x_scale;  // [D] standardisation of the inputs
  torch::Tensor y_mean;           // [E]
  torch::Tensor weight;           // [D, E]
  double alpha = 0;
  torch::Tensor predict(const torch::Tensor& x) const;  // [M, D] -> [M, E]
};

// x [N, D], y [N, E]; plain fit with a given alpha.
RidgeModel fit_ridge(const torch::Tensor& x, const torch::Tensor& y, double alpha);

struct RidgeCvResult {
  RidgeModel model;                  // refit on all training rows with the best alpha
  std::vector<double> alphas, scores;  // mean held-out-class top-1 per alpha
};

// Chooses alpha from `alphas` by `folds`-fold cross-validation over classes (row_class [N]),
// prototypes for scoring are the class means of y. Seeded fold assignment.
RidgeCvResult fit_ridge_cv(const torch::Tensor& x, const torch::Tensor& y, const std::vector<int64_t>& row_class,
                           const std::vector<double>& alphas, int folds, uint64_t seed);

// Flattens [N, R, P] tokens to [N, sum(roi_sizes)] dropping the zero padding.
torch::Tensor flatten_rois(const torch::Tensor& tokens, const std::vector<int64_t>& roi_sizes);

}  // namespace brainsem::eval
