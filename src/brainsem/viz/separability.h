#pragma once
// Numbers for the paper's claim that biotic and abiotic stimuli are split "via a clear linear
// boundary" in the BrainSem space (Fig. 5): cross-validated L2 logistic-regression accuracy, and
// k-nearest-neighbour class purity. Both work in any space (raw fMRI, embeddings, CLIP, 2-D maps).
#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace brainsem::viz {

struct LogisticFit {
  torch::Tensor w;  // [D] double
  double bias = 0;
  int64_t iterations = 0;  // Newton steps taken
};
// Minimises 0.5 |w|^2 + c * sum_i [log(1 + e^{f_i}) - y_i f_i], f = x w + bias (the bias is not
// penalised; sklearn's convention with C = c) by damped Newton. x [N, D], y [N] in {0, 1}.
// Cost O(D^3) per step: reduce D first (logistic_cv_accuracy projects onto the data's span).
LogisticFit fit_logistic_l2(const torch::Tensor& x, const torch::Tensor& y, double c = 1.0);

struct CvAccuracy {
  double mean = 0, sd = 0;    // over folds (sd with n-1)
  std::vector<double> folds;  // held-out accuracy of each fold
  double pooled = 0;          // correct predictions / N over all held-out items
};
// Stratified k-fold cross-validated accuracy of L2 logistic regression for a binary label
// y [N] in {0, 1} from features x [N, D]. Each fold z-scores features with the training part's
// mean and sd and fits in the span of the training rows (exact for an L2 penalty, since the
// optimum lies there; keeps Newton at O(min(N, D)^3)). Seeded fold assignment.
CvAccuracy logistic_cv_accuracy(const torch::Tensor& x, const torch::Tensor& y, int64_t folds = 5, double c = 1.0,
                                uint64_t seed = 0);

// The same with folds grouped by `groups` [N] integer (the object class): every group lies in one
// fold, so no class is in both the training and the held-out part, and the accuracy says whether
// the label generalises to classes the classifier never saw, not whether it recognises classes
// (with items of one class in both parts, class identity alone can predict the label). Groups are
// shuffled (seeded) and dealt round-robin to the folds separately per label, so folds stay
// stratified; each group must have a single label, each label needs >= 2 groups and there must be
// at least `folds` groups.
CvAccuracy logistic_cv_accuracy_grouped(const torch::Tensor& x, const torch::Tensor& y, const torch::Tensor& groups,
                                        int64_t folds = 5, double c = 1.0, uint64_t seed = 0);

// Mean over points of the fraction of their k nearest neighbours (Euclidean, self excluded)
// that share their label. x [N, D], labels [N] integer. 1 = classes never mix.
double knn_purity(const torch::Tensor& x, const torch::Tensor& labels, int64_t k = 10);

// k-NN purity with each point's neighbours drawn from other groups only (groups [N] integer, the
// object class): the share of a point's k nearest other-class neighbours that share its label.
// Neighbours of its own class would share the label by construction and say nothing about
// whether the label is organised across classes. k must leave enough other-group points.
double knn_purity_other_groups(const torch::Tensor& x, const torch::Tensor& labels, const torch::Tensor& groups,
                               int64_t k = 10);

}  // namespace brainsem::viz
