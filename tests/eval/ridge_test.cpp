// The ridge baseline (eval/ridge.h) against naive least squares, on a CLIP-like world whose
// targets share a large common direction, and with the alpha choice on training classes.
#include "brainsem/eval/ridge.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "brainsem/core/error.h"
#include "brainsem/eval/zero_shot.h"

namespace ev = brainsem::eval;
namespace F = torch::nn::functional;

namespace {

// Naive oracle: primal normal equations on z-scored inputs and centred targets.
torch::Tensor naive_weight(const torch::Tensor& x, const torch::Tensor& y, double alpha) {
  auto xd = x.to(torch::kFloat64), yd = y.to(torch::kFloat64);
  auto z = (xd - xd.mean(0)) / xd.std(0);
  auto d = z.size(1);
  return torch::linalg::solve(z.t().matmul(z) + alpha * torch::eye(d, torch::kFloat64), z.t().matmul(yd - yd.mean(0)),
                              true);
}

// A CLIP-like world: unit image features f = normalise(m + c_k + instance noise) around a common
// direction m as large as the class spread (stored CLIP features: |mean| ~ 0.66 against an rms
// deviation of ~0.75), and voxels that carry the deviation f - mean through a random linear map
// plus trial noise. Training: `train_classes` x 8 images; test: one image of each of 50 unseen
// classes, averaged over 35 repeats (noise / sqrt 35).
struct ClipLikeWorld {
  torch::Tensor x, y;              // [N, V], [N, E]
  std::vector<int64_t> row_class;  // [N]
  torch::Tensor test_x, test_y;    // [50, V], [50, E]
  double common_norm = 0, spread = 0;
};

ClipLikeWorld clip_like_world(double noise, uint64_t seed) {
  torch::manual_seed(seed);
  const int64_t e = 64, v = 300, train_classes = 60, per_class = 8, test_classes = 50;
  ClipLikeWorld w;
  auto common = F::normalize(torch::randn({1, e}, torch::kFloat64), F::NormalizeFuncOptions().dim(1)) * 1.3;
  auto features = [&](int64_t classes, int64_t per) {
    auto centres = torch::randn({classes, 1, e}, torch::kFloat64) / std::sqrt(static_cast<double>(e));
    auto f =
        common.unsqueeze(0) + centres + 0.6 * torch::randn({classes, per, e}, torch::kFloat64) / std::sqrt(double(e));
    return F::normalize(f.reshape({classes * per, e}), F::NormalizeFuncOptions().dim(1));
  };
  w.y = features(train_classes, per_class);
  w.test_y = features(test_classes, 1);
  auto mean = w.y.mean(0);
  w.common_norm = mean.norm().item<double>();
  w.spread = (w.y - mean).pow(2).sum(1).mean().sqrt().item<double>();
  auto map = torch::randn({e, v}, torch::kFloat64);
  auto drive = [&](const torch::Tensor& f) { return (f - mean).matmul(map) * 3.0 + 100.0; };  // baseline 100
  w.x = drive(w.y) + noise * torch::randn({w.y.size(0), v}, torch::kFloat64);
  w.test_x = drive(w.test_y) + noise / std::sqrt(35.0) * torch::randn({test_classes, v}, torch::kFloat64);
  for (int64_t c = 0; c < train_classes; ++c)
    for (int64_t i = 0; i < per_class; ++i) w.row_class.push_back(c);
  return w;
}

std::vector<int64_t> iota(int64_t n) {
  std::vector<int64_t> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = i;
  return v;
}

}  // namespace

TEST(Ridge, EqualsNaiveLeastSquaresAndPredictsCentred) {
  torch::manual_seed(3);
  auto x = torch::randn({40, 90}, torch::kFloat64) * 2 + 5, y = torch::randn({40, 7}, torch::kFloat64) + 3;
  for (double alpha : {0.5, 10.0, 1e3}) {
    auto m = ev::fit_ridge(x, y, alpha);
    EXPECT_TRUE(torch::allclose(m.weight, naive_weight(x, y, alpha), 1e-7, 1e-9)) << alpha;
    // The prediction is centred: no training mean added back.
    auto xt = torch::randn({5, 90}, torch::kFloat64);
    auto want = ((xt - x.mean(0)) / x.std(0)).matmul(naive_weight(x, y, alpha));
    EXPECT_TRUE(torch::allclose(m.predict(xt).to(torch::kFloat64), want, 1e-4, 1e-5)) << alpha;
  }
  // Every alpha of one spectrum equals its own fit.
  auto s = ev::RidgeSpectrum::fit(x);
  auto xt = torch::randn({6, 90}, torch::kFloat64);
  auto all = s.predict_centred(s.test_basis(xt), y - y.mean(0), {0.5, 10.0});
  for (int a = 0; a < 2; ++a)
    EXPECT_TRUE(
        torch::allclose(all[a], ev::fit_ridge(x, y, a ? 10.0 : 0.5).predict(xt).to(torch::kFloat64), 1e-4, 1e-5));
  EXPECT_THROW(ev::fit_ridge(x, y, 0.0), brainsem::Error);
  EXPECT_THROW(ev::fit_ridge(x, y.narrow(0, 0, 30), 1.0), brainsem::Error);
}

TEST(Ridge, NormalisedTargetsFitUnitRows) {
  torch::manual_seed(4);
  auto x = torch::randn({30, 20}, torch::kFloat64);
  auto y = torch::randn({30, 5}, torch::kFloat64) * torch::linspace(0.1, 10, 30, torch::kFloat64).unsqueeze(1);
  auto m = ev::fit_ridge(x, y, 2.0, /*normalize_targets=*/true);
  EXPECT_TRUE(m.normalized_targets);
  EXPECT_TRUE(
      torch::allclose(m.weight, naive_weight(x, F::normalize(y, F::NormalizeFuncOptions().dim(1)), 2.0), 1e-7, 1e-9));
}

// The defect this guards against: adding the training mean back before a cosine lets the common
// direction of CLIP-like targets decide every ranking. The centred ridge decodes this world well;
// the uncentred variant of the same fit collapses.
TEST(Ridge, DecodesACommonDirectionWorldWhereTheUncentredRankingFails) {
  auto w = clip_like_world(/*noise=*/6.0, 11);
  ASSERT_GT(w.common_norm, 0.6);  // CLIP-like: a large shared direction...
  ASSERT_GT(w.spread, 0.4);       // ...and a comparable spread around it
  ev::RidgeConfig cfg;
  auto cv = ev::fit_ridge_cv(w.x, w.y, w.row_class, cfg, 0);
  auto protos = F::normalize(w.test_y, F::NormalizeFuncOptions().dim(1));
  auto centred = ev::zero_shot(cv.model.predict(w.test_x), protos, iota(50));
  auto uncentred = ev::zero_shot(cv.model.predict(w.test_x).to(torch::kFloat64) + cv.model.y_mean, protos, iota(50));
  std::printf("alpha %.3g: centred top-1 %.2f, uncentred %.2f\n", cv.model.alpha, centred.top1, uncentred.top1);
  EXPECT_GE(centred.top1, 0.6);
  EXPECT_LE(uncentred.top1, centred.top1 - 0.3);
  EXPECT_FALSE(cv.at_grid_edge);
  EXPECT_NE(cv.describe().find("alpha"), std::string::npos);
}

TEST(Ridge, AlphaChosenOnTrainingClassesIsNearTheBestOnTest) {
  // The known answer: the test accuracy of every alpha of the grid (which a user must never use to
  // choose). The choice made on training classes alone must come close to the best of them.
  auto w = clip_like_world(/*noise=*/18.0, 5);
  ev::RidgeConfig cfg;
  auto cv = ev::fit_ridge_cv(w.x, w.y, w.row_class, cfg, 0);
  ASSERT_EQ(cv.scores.size(), cfg.alphas.size());
  for (double s : cv.scores) EXPECT_TRUE(s >= 0 && s <= 1) << s;
  auto protos = F::normalize(w.test_y, F::NormalizeFuncOptions().dim(1));
  double best_on_test = 0;
  for (double alpha : cfg.alphas)
    best_on_test = std::max(
        best_on_test, ev::zero_shot(ev::fit_ridge(w.x, w.y, alpha, true).predict(w.test_x), protos, iota(50)).top1);
  const double chosen = ev::zero_shot(cv.model.predict(w.test_x), protos, iota(50)).top1;
  std::printf("chosen alpha %.3g: test top-1 %.2f, best alpha on test %.2f\n", cv.model.alpha, chosen, best_on_test);
  EXPECT_GT(best_on_test, 0.2);
  EXPECT_LT(best_on_test, 0.95);  // not saturated, so the choice matters
  EXPECT_GE(chosen, best_on_test - 0.1);
}

TEST(Ridge, TiesBetweenAlphasGoToTheLargest) {
  EXPECT_EQ(ev::best_alpha_index({0.5, 0.7, 0.7, 0.6}), 2u);
  EXPECT_EQ(ev::best_alpha_index({0.9, 0.1}), 0u);
  EXPECT_EQ(ev::best_alpha_index({0.3, 0.3, 0.3}), 2u);
  // A grid whose best value is its edge says so.
  auto w = clip_like_world(0.5, 6);
  ev::RidgeConfig cfg;
  // Far too strong: the prediction's direction no longer changes with alpha, the scores tie and
  // the tie rule picks the largest, an edge.
  cfg.alphas = {1e8, 1e9, 1e10};
  auto cv = ev::fit_ridge_cv(w.x, w.y, w.row_class, cfg, 0);
  EXPECT_TRUE(cv.at_grid_edge);
  EXPECT_NE(cv.describe().find("flat"), std::string::npos) << cv.describe();
}

TEST(Ridge, AnEdgeAlphaIsAWarningUnlessTheScoresAreFlatThere) {
  ev::RidgeCvResult r;
  r.alphas = {1, 10, 100, 1000};
  r.folds = 5;
  r.at_grid_edge = true;
  r.model.alpha = 1000;
  r.scores = {0.50, 0.55, 0.60, 0.65};  // still rising at the top: the best may be beyond it
  EXPECT_NE(r.describe().find("warning"), std::string::npos) << r.describe();
  r.scores = {0.50, 0.6080, 0.6084, 0.6084};  // flat at the top: the large-alpha limit
  EXPECT_EQ(r.describe().find("warning"), std::string::npos) << r.describe();
  EXPECT_NE(r.describe().find("flat"), std::string::npos) << r.describe();
  r.model.alpha = 1;  // the lower edge is always a warning
  r.scores = {0.65, 0.60, 0.60, 0.60};
  EXPECT_NE(r.describe().find("warning"), std::string::npos) << r.describe();
}
