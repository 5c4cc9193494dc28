#pragma once
// An RBF-kernel support vector classifier with Platt-scaled class probabilities: libsvm's C-SVC
// (the library scikit-learn's SVC wraps), for BraVL's evaluation protocol (eval/protocols.h).
#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace brainsem::eval {

struct SvcConfig {
  // RBF kernel exp(-gamma |a - b|^2). <= 0: scikit-learn's gamma='scale', 1 / (E * var(x)) over
  // every entry of the training rows.
  double gamma = 0;
  double c = 1.0;     // the soft-margin penalty (scikit-learn's default)
  uint64_t seed = 0;  // libsvm draws the folds of its probability calibration from rand()
};

struct SvcResult {
  torch::Tensor probabilities;  // [M, classes] float64; a class absent from the labels has 0
  double gamma = 0;             // the gamma used
};

// Fits x [N, E] with labels in [0, classes) (at least two distinct) and returns the class
// probabilities of every query row [M, E]. Libsvm's probability model is one-vs-one Platt scaling
// fitted by 5-fold cross-validation inside each class pair, coupled over pairs (Wu, Lin & Weng
// 2004), as scikit-learn's SVC(probability=True). Not thread-safe: libsvm seeds from srand().
SvcResult svc_class_probabilities(const torch::Tensor& x, const std::vector<int64_t>& labels, int64_t classes,
                                  const torch::Tensor& query, const SvcConfig& cfg = {});

// scikit-learn's gamma='scale' for x [N, E]: 1 / (E * var(x)), the population variance of every
// entry.
double svc_scale_gamma(const torch::Tensor& x);

}  // namespace brainsem::eval
