#include "brainsem/eval/ridge.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>

#include "brainsem/core/error.h"
#include "brainsem/eval/ranks.h"
#include "brainsem/eval/zero_shot.h"

namespace F = torch::nn::functional;

namespace brainsem::eval {

RidgeSpectrum RidgeSpectrum::fit(const torch::Tensor& x_train) {
  BRAINSEM_CHECK(x_train.dim() == 2 && x_train.size(0) >= 2, "ridge: training inputs ", x_train.sizes(),
                 " must be [N, D] with N >= 2");
  RidgeSpectrum s;
  auto x = x_train.to(torch::kFloat64);
  s.x_mean = x.mean(0);
  // The unbiased standard deviation in two passes over the centred inputs: torch's std(0) walks
  // each column with a division per element, which was 3 % of a cross-validation's time.
  auto centred = x - s.x_mean;  // [N, D]
  s.x_scale = (centred.square().sum(0) / static_cast<double>(x.size(0) - 1)).sqrt_().clamp_min_(1e-8);
  s.z = centred.div_(s.x_scale);  // constant columns stay 0
  auto [lambda, u] = torch::linalg::eigh(s.z.matmul(s.z.t()), "L");
  s.eigenvalues = lambda.clamp_min(0);
  s.eigenvectors = u;
  return s;
}

torch::Tensor RidgeSpectrum::standardise(const torch::Tensor& x) const {
  BRAINSEM_CHECK(x.dim() == 2 && x.size(1) == x_mean.size(0), "ridge: inputs ", x.sizes(), " must be [M, ",
                 x_mean.size(0), "]");
  return (x.to(torch::kFloat64) - x_mean) / x_scale;
}

torch::Tensor RidgeSpectrum::test_basis(const torch::Tensor& x_test) const {
  return standardise(x_test).matmul(z.t()).matmul(eigenvectors);
}

torch::Tensor RidgeSpectrum::predict_centred(const torch::Tensor& basis, const torch::Tensor& centred_targets,
                                             const std::vector<double>& alphas) const {
  BRAINSEM_CHECK(centred_targets.dim() == 2 && centred_targets.size(0) == z.size(0), "ridge: targets ",
                 centred_targets.sizes(), " must have one row per training sample (", z.size(0), ")");
  for (double a : alphas)
    BRAINSEM_CHECK(a > 0 && std::isfinite(a), "ridge: alpha must be a finite number > 0, got ", a);
  auto uty = eigenvectors.t().matmul(centred_targets.to(torch::kFloat64));  // [n, T]
  auto a = torch::tensor(alphas, torch::kFloat64);
  auto inv = 1.0 / (eigenvalues.unsqueeze(0) + a.unsqueeze(1));  // [A, n]
  return torch::einsum("mn,an,nt->amt", {basis.to(torch::kFloat64), inv, uty});
}

torch::Tensor RidgeSpectrum::dual(const torch::Tensor& centred_targets, double alpha) const {
  BRAINSEM_CHECK(alpha > 0 && std::isfinite(alpha), "ridge: alpha must be a finite number > 0, got ", alpha);
  auto uty = eigenvectors.t().matmul(centred_targets.to(torch::kFloat64));
  return eigenvectors.matmul(uty / (eigenvalues + alpha).unsqueeze(1));
}

torch::Tensor RidgeModel::predict(const torch::Tensor& x) const {
  auto z = (x.to(torch::kFloat64) - x_mean) / x_scale;
  return z.matmul(weight).to(torch::kFloat32);
}

namespace {

torch::Tensor prepare_targets(const torch::Tensor& y, bool normalize) {
  auto yd = y.to(torch::kFloat64);
  return normalize ? F::normalize(yd, F::NormalizeFuncOptions().dim(1)) : yd;
}

}  // namespace

RidgeModel fit_ridge(const torch::Tensor& x, const torch::Tensor& y, double alpha, bool normalize_targets) {
  BRAINSEM_CHECK(x.dim() == 2 && y.dim() == 2 && x.size(0) == y.size(0), "ridge: x ", x.sizes(), " and y ", y.sizes(),
                 " must be [N, D] and [N, E]");
  auto spectrum = RidgeSpectrum::fit(x);
  auto yd = prepare_targets(y, normalize_targets);
  RidgeModel m;
  m.alpha = alpha;
  m.normalized_targets = normalize_targets;
  m.x_mean = spectrum.x_mean;
  m.x_scale = spectrum.x_scale;
  m.y_mean = yd.mean(0);
  m.weight = spectrum.z.t().matmul(spectrum.dual(yd - m.y_mean, alpha));  // [D, E]
  return m;
}

std::vector<double> RidgeConfig::default_alphas() {
  std::vector<double> a;
  for (int e = 0; e <= 16; ++e) a.push_back(std::pow(10.0, e / 2.0));
  return a;
}

size_t best_alpha_index(const std::vector<double>& scores) {
  BRAINSEM_CHECK(!scores.empty(), "ridge: no alpha scores");
  // Scores are averages of rank fractions: equal ones may differ in the last bits.
  size_t best = 0;
  for (size_t i = 1; i < scores.size(); ++i)
    if (scores[i] >= scores[best] - 1e-12) best = i;
  return best;
}

std::string RidgeCvResult::describe() const {
  auto s = cat("ridge alpha ", model.alpha, " (chosen from ", alphas.size(), " values ", alphas.front(), "..",
               alphas.back(), " by ", folds, "-fold cross-validation over training classes)");
  if (!at_grid_edge) return s;
  // At the top of the grid the centred prediction's direction stops depending on alpha (the
  // large-alpha limit is proportional to X'(Y - mean Y) x), so cosine ranks, and the CV scores, go
  // flat; a wider grid cannot help there. Say which case this is.
  const bool top = !alphas.empty() && model.alpha == alphas.back();
  const size_t n = scores.size();
  const bool flat =
      top && n >= 3 && std::abs(scores[n - 1] - scores[n - 3]) < 1e-3 && std::abs(scores[n - 2] - scores[n - 1]) < 1e-3;
  if (flat)
    s +=
        cat("; the chosen alpha is the grid's largest, where the cross-validation score is flat (ridge's large-alpha "
            "limit: the ranking no longer depends on alpha), so a wider grid would not change it");
  else
    s +=
        cat("; warning: the chosen alpha is at the edge of the grid, so the best value may lie outside it "
            "(widen the grid)");
  return s;
}

RidgeCvResult fit_ridge_cv(const torch::Tensor& x, const torch::Tensor& y, const std::vector<int64_t>& row_class,
                           const RidgeConfig& cfg, uint64_t seed) {
  const auto& alphas = cfg.alphas;
  const int folds = cfg.folds;
  BRAINSEM_CHECK(!alphas.empty() && folds >= 2, "ridge CV needs alphas and at least 2 folds");
  BRAINSEM_CHECK(static_cast<int64_t>(row_class.size()) == x.size(0), "ridge CV: ", row_class.size(),
                 " class labels for ", x.size(0), " rows");
  std::vector<double> sorted_alphas(alphas);
  std::sort(sorted_alphas.begin(), sorted_alphas.end());
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
  out.alphas = sorted_alphas;
  out.folds = folds;
  out.scores.assign(sorted_alphas.size(), 0.0);
  auto yd = prepare_targets(y, cfg.normalize_targets);
  for (int f = 0; f < folds; ++f) {
    std::vector<int64_t> tr, te;
    for (size_t i = 0; i < row_class.size(); ++i)
      (fold_of_class[row_class[i]] == f ? te : tr).push_back(static_cast<int64_t>(i));
    auto tr_idx = torch::tensor(tr, torch::kInt64), te_idx = torch::tensor(te, torch::kInt64);
    // Held-out classes renumbered 0..K-1; their prototypes are class means of y.
    std::vector<int64_t> te_class;
    std::vector<int64_t> remap(fold_of_class.size(), -1);
    int64_t k = 0;
    for (auto i : te) {
      if (remap[row_class[i]] < 0) remap[row_class[i]] = k++;
      te_class.push_back(remap[row_class[i]]);
    }
    auto protos = class_prototypes(yd.index_select(0, te_idx), te_class, k).to(torch::kFloat64);
    auto spectrum = RidgeSpectrum::fit(x.index_select(0, tr_idx));
    auto ytr = yd.index_select(0, tr_idx);
    auto pred =
        spectrum.predict_centred(spectrum.test_basis(x.index_select(0, te_idx)), ytr - ytr.mean(0), sorted_alphas);
    // Cosine to every held-out prototype: [A, m, K].
    auto sim = F::normalize(pred, F::NormalizeFuncOptions().dim(2)).matmul(protos.t());
    auto truth = torch::tensor(te_class, torch::kInt64).unsqueeze(0).expand({sim.size(0), sim.size(1)});
    auto ranks = true_ranks(sim, truth).to(torch::kFloat64);  // [A, m]
    auto rank_accuracy = ((static_cast<double>(k) - ranks) / static_cast<double>(k - 1)).mean(1);
    for (size_t a = 0; a < sorted_alphas.size(); ++a) out.scores[a] += rank_accuracy[a].item<double>() / folds;
  }
  const size_t best = best_alpha_index(out.scores);
  out.at_grid_edge = sorted_alphas.size() > 1 && (best == 0 || best + 1 == sorted_alphas.size());
  out.model = fit_ridge(x, y, sorted_alphas[best], cfg.normalize_targets);
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
