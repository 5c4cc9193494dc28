#pragma once
// Ridge regression fMRI -> CLIP, the baseline every decoding paper should beat, and the one ridge
// implementation of the program (the study's baseline, cross-validation and the tests' calibration
// all go through RidgeSpectrum).
//
// Inputs X are z-scored with training statistics (ddof 1), targets are centred on the training
// mean, and the fit is closed form in the dual (N samples << D voxels):
//   W = Z^T (Z Z^T + alpha I)^-1 (Y - ybar).
// Predictions are the CENTRED prediction Z_test W, never Z_test W + ybar. CLIP features share a
// large common direction (|mean| is comparable to the spread around it), and a shrunk prediction
// is small, so adding ybar back before a cosine makes ybar decide the direction and every test
// item ranks the same classes first. The centred prediction ranks the deviation from the average
// training image, which is what the voxels carry.
//
// alpha is chosen by cross-validation over TRAINING classes only: folds hold out whole classes and
// the score is the mean rank accuracy (C - rank) / (C - 1) of each held-out sample's own class
// among the fold's held-out classes (the zero-shot question, graded by rank because top-1 over a
// few classes is too coarse to separate neighbouring alphas). Ties between alphas go to the
// LARGER alpha (the stronger regularisation), here and in cross-validation.
#include <torch/torch.h>

#include <string>
#include <vector>

namespace brainsem::eval {

// Standardises training inputs and diagonalises their Gram matrix once; every alpha then costs
// only matrix products.
struct RidgeSpectrum {
  torch::Tensor x_mean, x_scale;  // [D] float64, training statistics (constant columns: scale 1e-8)
  torch::Tensor z;                // [n, D] standardised training rows
  torch::Tensor eigenvalues;      // [n] of Z Z^T, clamped at 0
  torch::Tensor eigenvectors;     // [n, n] U

  static RidgeSpectrum fit(const torch::Tensor& x_train);   // x_train [n, D]
  torch::Tensor standardise(const torch::Tensor& x) const;  // [m, D] -> [m, D] float64
  // Test rows in the eigenbasis: (Z_test Z^T) U, [m, n].
  torch::Tensor test_basis(const torch::Tensor& x_test) const;
  // Centred predictions [A, m, T] for rows given as test_basis [m, n] (any linear combination of
  // test rows works, e.g. class means) from CENTRED training targets [n, T]:
  //   basis diag(1 / (lambda + alpha)) U^T targets.
  torch::Tensor predict_centred(const torch::Tensor& basis, const torch::Tensor& centred_targets,
                                const std::vector<double>& alphas) const;
  // Dual coefficients (Z Z^T + alpha I)^-1 targets, [n, T], for one alpha.
  torch::Tensor dual(const torch::Tensor& centred_targets, double alpha) const;
};

struct RidgeModel {
  torch::Tensor x_mean, x_scale;  // [D] standardisation of the inputs
  torch::Tensor y_mean;           // [E] training target mean (kept for reference; predict does not add it)
  torch::Tensor weight;           // [D, E]
  double alpha = 0;
  bool normalized_targets = false;  // targets were L2-normalised before centring
  // Centred prediction (x - x_mean) / x_scale W: [M, D] -> [M, E] float32.
  torch::Tensor predict(const torch::Tensor& x) const;
};

// x [N, D], y [N, E]; plain fit with a given alpha. `normalize_targets`: L2-normalise each target
// row before centring.
RidgeModel fit_ridge(const torch::Tensor& x, const torch::Tensor& y, double alpha, bool normalize_targets = false);

// The ridge baseline's settings, one place for every caller.
struct RidgeConfig {
  std::vector<double> alphas = default_alphas();
  int folds = 5;  // class-grouped CV folds over the training classes
  // Cosine ranking uses only directions, and a stored CLIP feature's norm varies with the image,
  // not its class; normalising makes every training image weigh the same. docs/method.md measures
  // both (--ridge-raw-targets).
  bool normalize_targets = true;
  // "stimulus" (each sample's own image feature) or "class-library" (its class's mean library
  // image, train::class_library_targets): read by the callers that build the targets.
  std::string targets = "stimulus";
  static std::vector<double> default_alphas();  // 10^0 .. 10^8 in half decades
};

struct RidgeCvResult {
  RidgeModel model;                    // refit on all training rows with the chosen alpha
  std::vector<double> alphas, scores;  // mean held-out-class rank accuracy per alpha
  int folds = 0;
  bool at_grid_edge = false;  // the chosen alpha is the smallest or largest of the grid
  // A one-line note for users: the chosen alpha, how, and a warning when it sits at an edge.
  std::string describe() const;
};

// Chooses alpha by `cfg.folds`-fold cross-validation over classes (row_class [N]); held-out
// prototypes are the class means of the (normalised, when asked) targets. Seeded fold assignment.
RidgeCvResult fit_ridge_cv(const torch::Tensor& x, const torch::Tensor& y, const std::vector<int64_t>& row_class,
                           const RidgeConfig& cfg, uint64_t seed);

// Index of the best score, ties to the later (larger-alpha) entry: the one tie rule.
size_t best_alpha_index(const std::vector<double>& scores);

// Flattens [N, R, P] tokens to [N, sum(roi_sizes)] dropping the zero padding.
torch::Tensor flatten_rois(const torch::Tensor& tokens, const std::vector<int64_t>& roi_sizes);

}  // namespace brainsem::eval
