#include "brainsem/eval/ridge.h"

#include <algorithm>
#include <numeric>
#include <random>

#include "brainsem/core/error.h"
#include "brainsem/eval/zero_shot.h"

namespace brainsem::eval {

torch::Tensor RidgeModel::predict(const torch::Tensor& x) const {
  auto z = (x.to(torch::kFloat64) - x_mean) / x_scale;
  return (z.matmul(weight) + y_mean).to(torch::kFloat32);
}

RidgeModel fit_ridge(const torch::Tensor& x, const torch::Tensor& y, double alpha) {
  BRAINSEM_CHECK(x.dim() == 2 && y.dim() == 2 && x.size(0) == y.size(0), "ridge: x ", x.sizes(), " and y ", y.sizes(),
                 " must be [N, D] and [N, E]");
  BRAINSEM_CHECK(alpha > 0, "ridge: alpha must be > 0");
  RidgeModel m;
  m.alpha = alpha;
  auto xd = x.to(torch::kFloat64), yd = y.to(torch::kFloat64);
  m.x_mean = xd.mean(0);
  m.x_scale = xd.std(0).clamp_min(1e-8);  // constant columns stay 0 after centring
  m.y_mean = yd.mean(0);
  auto z = (xd - m.x_mean) / m.x_scale;
  auto gram = z.matmul(z.t());
  gram.diagonal().add_(alpha);
  auto dual = torch::linalg::solve(gram, yd - m.y_mean, true);  // [N, E]
  m.weight = z.t().matmul(dual);                                  // [D, E]
  return m;
}

RidgeCvResult fit_ridge_cv(const torch::Tensor& x, const torch::Tensor& y, const std::vector<int64_t>& row_class,
                           const std::vector<double>& alphas, int folds, uint64_t seed) {
  BRAINSEM_CHECK(!alphas.empty() && folds >= 2, "ridge CV needs alphas and at least 2 folds");
  std::vector<int64_t> classes(row_class);
  std::sort(classes.begin(), classes.end());
  classes.erase(std::unique(classes.begin(), classes.end()), classes.end());
  BRAINSEM_CHECK(static_cast<int64_t>(classes.size()) >= 2 * folds, "ridge CV: ", classes.size(),
                 " classes are too few for ", folds, " folds");
  std::mt19937_64 rng(seed);
  std::shuffle(classes.begin(), classes.end(), rng);
  std::vector<int> fold_of_class(*std::max_element(row_class.begin(), row_class.end()) + 1, -1);
  for (size_t i = 0; i < classes.size(); ++i) fold_of_class[classes[i]] = static_cast<int>(i % folds);

  RidgeCvResult out;
  out.alphas = alphas;
  out.scores.assign(alphas.size(), 0.0);
  auto xd = x.to(torch::kFloat64), yd = y.to(torch::kFloat64);
  for (int f = 0; f < folds; ++f) {
    std::vector<int64_t> tr, te;
    for (size_t i = 0; i < row_class.size(); ++i) (fold_of_class[row_class[i]] == f ? te : tr).push_back(static_cast<int64_t>(i));
    auto tr_idx = torch::tensor(tr, torch::kInt64), te_idx = torch::tensor(te, torch::kInt64);
    // Held-out classes renumbered 0..K-1; their prototypes are class means of y.
    std::vector<int64_t> te_class;
    std::vector<int64_t> remap(fold_of_class.size(), -1);
    int64_t k = 0;
    for (auto i : te) {
      if (remap[row_class[i]] < 0) remap[row_class[i]] = k++;
      te_class.push_back(remap[row_class[i]]);
    }
    auto protos = class_prototypes(y.index_select(0, te_idx), te_class, k);
    // Standardise with the fold's training rows, then one eigendecomposition of the Gram matrix
    // serves every alpha: dual(alpha) = U diag(1 / (lambda + alpha)) U^T (Y - mean).
    auto xtr = xd.index_select(0, tr_idx), xte = xd.index_select(0, te_idx), ytr = yd.index_select(0, tr_idx);
    auto mean = xtr.mean(0), scale = xtr.std(0).clamp_min(1e-8);
    auto ztr = (xtr - mean) / scale, zte = (xte - mean) / scale;
    auto ymean = ytr.mean(0);
    auto [lambda, u] = torch::linalg::eigh(ztr.matmul(ztr.t()), "L");
    auto uty = u.t().matmul(ytr - ymean);   // [N_tr, E]
    auto kte_u = zte.matmul(ztr.t()).matmul(u);  // [N_te, N_tr]
    for (size_t a = 0; a < alphas.size(); ++a) {
      auto pred = kte_u.matmul(uty / (lambda.clamp_min(0) + alphas[a]).unsqueeze(1)) + ymean;
      out.scores[a] += zero_shot(pred.to(torch::kFloat32), protos, te_class).top1 / folds;
    }
  }
  size_t best = std::max_element(out.scores.begin(), out.scores.end()) - out.scores.begin();
  out.model = fit_ridge(x, y, alphas[best]);
  return out;
}

torch::Tensor flatten_rois(const torch::Tensor& tokens, const std::vector<int64_t>& roi_sizes) {
  BRAINSEM_CHECK(tokens.dim() == 3 && tokens.size(1) == static_cast<int64_t>(roi_sizes.size()), "flatten_rois: tokens ",
                 tokens.sizes(), " do not match ", roi_sizes.size(), " ROIs");
  std::vector<torch::Tensor> parts;
  for (size_t r = 0; r < roi_sizes.size(); ++r) parts.push_back(tokens.select(1, r).slice(1, 0, roi_sizes[r]));
  return torch::cat(parts, 1);
}

}  // namespace brainsem::eval
