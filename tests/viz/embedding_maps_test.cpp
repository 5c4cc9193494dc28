#include <gtest/gtest.h>

#include <cmath>

#include "brainsem/core/error.h"
#include "brainsem/viz/isomap.h"
#include "brainsem/viz/separability.h"
#include "brainsem/viz/tsne.h"

namespace viz = brainsem::viz;

namespace {
// n points per cluster around `centres` [C, D] with unit noise; labels [C*n].
std::pair<torch::Tensor, torch::Tensor> clusters(const torch::Tensor& centres, int64_t n, uint64_t seed) {
  torch::manual_seed(seed);
  std::vector<torch::Tensor> xs, ls;
  for (int64_t c = 0; c < centres.size(0); ++c) {
    xs.push_back(centres[c] + torch::randn({n, centres.size(1)}));
    ls.push_back(torch::full({n}, c, torch::kLong));
  }
  return {torch::cat(xs), torch::cat(ls)};
}

// Spearman rank correlation (no ties in continuous data): Pearson on argsort-of-argsort ranks.
double rank_correlation(const torch::Tensor& a, const torch::Tensor& b) {
  auto ra = a.argsort().argsort().to(torch::kDouble), rb = b.argsort().argsort().to(torch::kDouble);
  ra = ra - ra.mean();
  rb = rb - rb.mean();
  return ((ra * rb).sum() / (ra.norm() * rb.norm())).item<double>();
}
}  // namespace

TEST(Tsne, AffinitiesHitThePerplexity) {
  torch::manual_seed(0);
  auto x = torch::randn({60, 5}, torch::kDouble);
  auto n2 = x.pow(2).sum(1);
  auto d = (n2.unsqueeze(1) + n2.unsqueeze(0) - 2 * x.matmul(x.t())).clamp_min(0);
  auto p = viz::tsne_conditional_affinities(d, 10);
  EXPECT_TRUE(torch::allclose(p.sum(1), torch::ones({60}, torch::kDouble), 0, 1e-12));
  EXPECT_EQ(p.diagonal().abs().max().item<double>(), 0.0);
  // Entropy of every row in nats is log(perplexity).
  auto h = -(p * p.clamp_min(1e-300).log()).sum(1);
  EXPECT_LT((h - std::log(10.0)).abs().max().item<double>(), 1e-8);
}

TEST(Tsne, SeparatesThreeClustersDeterministically) {
  auto centres = torch::zeros({3, 10});
  centres[0][0] = 12;
  centres[1][1] = 12;
  centres[2][2] = 12;
  auto [x, labels] = clusters(centres, 30, 1);
  viz::TsneOptions o;
  o.perplexity = 10;
  o.iterations = 400;
  o.seed = 3;
  auto a = viz::tsne(x, o);
  ASSERT_EQ(a.coords.sizes(), (std::vector<int64_t>{90, 2}));
  EXPECT_DOUBLE_EQ(viz::knn_purity(a.coords, labels, 5), 1.0);
  EXPECT_GT(a.kl_divergence, 0.0);
  EXPECT_LT(a.kl_divergence, 1.0);  // ~0.5 here; a diverged map (learning rate too high) gives > 1
  auto b = viz::tsne(x, o);
  EXPECT_TRUE(torch::equal(a.coords, b.coords));
  o.seed = 4;
  EXPECT_FALSE(torch::equal(a.coords, viz::tsne(x, o).coords));
}

TEST(Tsne, RefusesBadInput) {
  viz::TsneOptions o;
  o.max_points = 50;
  EXPECT_THROW(viz::tsne(torch::randn({51, 3}), o), brainsem::Error);
  o.perplexity = 30;  // needs > 91 points
  EXPECT_THROW(viz::tsne(torch::randn({40, 3}), o), brainsem::Error);
  try {
    viz::TsneOptions big;
    big.max_points = 10;
    viz::tsne(torch::randn({20, 2}), big);
    FAIL();
  } catch (const brainsem::Error& e) {
    EXPECT_NE(std::string(e.what()).find("subsample"), std::string::npos);
  }
}

TEST(Isomap, UnrollsAnArcAndASwissRoll) {
  // A 3/4 circle arc (geodesic = arc length, Euclidean chord distance is not): the first
  // ISOMAP coordinate must be monotone in the angle.
  auto t = torch::linspace(0, 1.5 * M_PI, 120, torch::kDouble);
  auto arc = torch::stack({t.cos(), t.sin()}, 1);
  auto r = viz::isomap(arc, {.neighbors = 4, .dims = 2});
  ASSERT_EQ(r.coords.size(0), 120);
  EXPECT_GT(std::fabs(rank_correlation(r.coords.select(1, 0).to(torch::kDouble), t)), 0.99);
  // Swiss roll: spiral parameter s in [1.5 pi, 4.5 pi], height h; ISOMAP's first axis follows s.
  torch::manual_seed(7);
  auto s = 1.5 * M_PI + 3 * M_PI * torch::rand({600}, torch::kDouble);
  auto h = 20 * torch::rand({600}, torch::kDouble);
  auto roll = torch::stack({s * s.cos(), h, s * s.sin()}, 1);
  auto sr = viz::isomap(roll, {.neighbors = 8, .dims = 2});
  EXPECT_GT(std::fabs(rank_correlation(sr.coords.select(1, 0).to(torch::kDouble), s)), 0.95);
  // Plain (linear) MDS of the same roll cannot unroll it: the contrast shows the geodesics work.
  auto n2 = roll.pow(2).sum(1);
  auto euclid = (n2.unsqueeze(1) + n2.unsqueeze(0) - 2 * roll.matmul(roll.t())).clamp_min(0).sqrt();
  auto flat = viz::classical_mds(euclid, 2);
  EXPECT_LT(std::fabs(rank_correlation(flat.select(1, 0), s)), 0.9);
  EXPECT_TRUE(torch::equal(sr.coords, viz::isomap(roll, {.neighbors = 8, .dims = 2}).coords));
}

TEST(Isomap, ClassicalMdsRecoversAConfiguration) {
  // MDS of exact Euclidean distances reproduces the centred points up to rotation/reflection, so
  // the pairwise distances of the output equal the input's.
  torch::manual_seed(2);
  auto x = torch::randn({30, 2}, torch::kDouble);
  auto d = torch::cdist(x, x);
  auto y = viz::classical_mds(d, 2);
  // (cdist itself uses the |a|^2 + |b|^2 - 2ab expansion: ~1e-8 rounding)
  EXPECT_LT((torch::cdist(y, y) - d).abs().max().item<double>(), 1e-6);
}

TEST(Isomap, DisconnectedGraph) {
  auto centres = torch::zeros({2, 3});
  centres[1][0] = 100;
  auto [x, labels] = clusters(centres, 20, 3);
  auto extra = torch::randn({5, 3}) + 300;  // a third, smaller island
  auto all = torch::cat({x, extra});
  try {
    viz::isomap(all, {.neighbors = 4});
    FAIL() << "expected an error";
  } catch (const brainsem::Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("3 disconnected components (sizes 20, 20, 5)"), std::string::npos) << m;
  }
  auto r = viz::isomap(all, {.neighbors = 4, .dims = 2, .largest_component = true});
  ASSERT_EQ(r.kept.size(), 20u);  // first of the two largest (ties: the earliest component)
  EXPECT_EQ(r.kept.front(), 0);
  EXPECT_EQ(r.coords.size(0), 20);
}

TEST(Separability, LogisticFitSatisfiesOptimality) {
  torch::manual_seed(3);
  auto x = torch::randn({80, 4}, torch::kDouble);
  auto y = (x.select(1, 0) + 0.5 * torch::randn({80}, torch::kDouble) > 0).to(torch::kDouble);
  auto fit = viz::fit_logistic_l2(x, y, 2.0);
  // Stationarity: w + c X^T (sigma - y) = 0 and sum(sigma - y) = 0 (unpenalised bias).
  auto s = torch::sigmoid(x.matmul(fit.w) + fit.bias);
  EXPECT_LT((fit.w + 2.0 * x.t().matmul(s - y)).abs().max().item<double>(), 1e-8);
  EXPECT_LT(std::fabs((s - y).sum().item<double>()), 1e-8);
  EXPECT_GT(fit.w[0].item<double>(), 1.0);
}

TEST(Separability, SeparableVersusRandomLabels) {
  auto centres = torch::zeros({2, 200});
  // Class means 1.5 * sqrt(200) = 21 apart: nearest neighbours (typical within-class distance
  // sqrt(2 * 200) = 20, between-class sqrt(400 + 450) = 29) never cross classes.
  centres[1] = 1.5;
  auto [x, y] = clusters(centres, 50, 5);
  auto sep = viz::logistic_cv_accuracy(x, y, 5, 1.0, 0);
  EXPECT_DOUBLE_EQ(sep.mean, 1.0);
  EXPECT_EQ(sep.folds.size(), 5u);
  EXPECT_DOUBLE_EQ(viz::knn_purity(x, y, 5), 1.0);
  // Random labels in 200-D with 100 points: separable in-sample, chance out of sample.
  torch::manual_seed(6);
  auto noise = torch::randn({100, 200});
  auto coin = torch::cat({torch::zeros({50}), torch::ones({50})}).index_select(0, torch::randperm(100));
  auto rnd = viz::logistic_cv_accuracy(noise, coin, 5, 1.0, 0);
  EXPECT_NEAR(rnd.pooled, 0.5, 0.15);
  EXPECT_NEAR(viz::knn_purity(noise, coin, 10), 0.5, 0.1);
  auto again = viz::logistic_cv_accuracy(noise, coin, 5, 1.0, 0);
  EXPECT_EQ(again.folds, rnd.folds);
  EXPECT_THROW(viz::logistic_cv_accuracy(noise, coin * 2, 5, 1.0, 0), brainsem::Error);
  EXPECT_THROW(viz::knn_purity(noise, coin, 100), brainsem::Error);
}

TEST(Separability, ClassGroupedFoldsStopClassIdentityLeakingTheLabel) {
  // 100 classes x 5 items around random, well separated class centres in 150-D; the label of a
  // class is arbitrary (alternating), so only class identity predicts it. Ordinary stratified CV
  // puts items of every class on both sides and "predicts" the label by recognising the class;
  // class-grouped CV must guess on unseen classes: chance (0.5).
  torch::manual_seed(11);
  const int64_t classes = 100, per = 5, dims = 150;
  auto centres = 3 * torch::randn({classes, 1, dims}, torch::kDouble);
  auto x = (centres + 0.3 * torch::randn({classes, per, dims}, torch::kDouble)).view({classes * per, dims});
  auto group = torch::arange(classes, torch::kLong).repeat_interleave(per);  // [500]
  auto label = (group % 2).to(torch::kDouble);
  auto leaky = viz::logistic_cv_accuracy(x, label, 5, 1.0, 0);
  EXPECT_GT(leaky.pooled, 0.9);
  auto grouped = viz::logistic_cv_accuracy_grouped(x, label, group, 5, 1.0, 0);
  EXPECT_EQ(grouped.folds.size(), 5u);
  // 100 independent classes: the sd of the accuracy is about 0.05.
  EXPECT_NEAR(grouped.pooled, 0.5, 0.15);
  EXPECT_EQ(viz::logistic_cv_accuracy_grouped(x, label, group, 5, 1.0, 0).folds, grouped.folds);  // seeded
  // k-NN: the 4 nearest neighbours are always the item's own class (purity 1); among other
  // classes' items the label is a coin flip.
  EXPECT_DOUBLE_EQ(viz::knn_purity(x, label, 4), 1.0);
  EXPECT_NEAR(viz::knn_purity_other_groups(x, label, group, 4), 0.5, 0.15);
  // A label that generalises across classes stays separable under grouping: shift the first 50
  // dimensions by +-3 with the label (a direction of length 3 sqrt(50) = 21 against the class
  // centres' spread of 3 along it).
  auto shifted = x.clone();
  shifted.narrow(1, 0, 50) += (3 * (2 * label - 1)).unsqueeze(1);
  EXPECT_GT(viz::logistic_cv_accuracy_grouped(shifted, label, group, 5, 1.0, 0).pooled, 0.95);
  // A class with both labels, a label with one class, more folds than classes: refused.
  auto mixed = label.clone();
  mixed[0] = 1 - mixed[0].item<double>();
  EXPECT_THROW(viz::logistic_cv_accuracy_grouped(x, mixed, group, 5, 1.0, 0), brainsem::Error);
  auto one_biotic = (group == 0).to(torch::kDouble);
  EXPECT_THROW(viz::logistic_cv_accuracy_grouped(x, one_biotic, group, 5, 1.0, 0), brainsem::Error);
  EXPECT_THROW(viz::logistic_cv_accuracy_grouped(x, label, group, 101, 1.0, 0), brainsem::Error);
}

TEST(Separability, OtherClassKnnPurityHandComputed) {
  // Pairs of one class on a line: {0, 0.1} and {1, 1.1} biotic, {5, 5.1} abiotic. With k = 1 every
  // point's nearest neighbour is its partner (purity 1); among other classes, the biotic points'
  // nearest are biotic (4 points right) and the abiotic points' nearest is 1.1, biotic (2 wrong):
  // 4 / 6.
  auto x = torch::tensor({0.0, 0.1, 1.0, 1.1, 5.0, 5.1}, torch::kDouble).unsqueeze(1);
  auto label = torch::tensor({1, 1, 1, 1, 0, 0}, torch::kLong);
  auto group = torch::tensor({0, 0, 1, 1, 2, 2}, torch::kLong);
  EXPECT_DOUBLE_EQ(viz::knn_purity(x, label, 1), 1.0);
  EXPECT_DOUBLE_EQ(viz::knn_purity_other_groups(x, label, group, 1), 4.0 / 6);
  // k = 2: biotic points see the other biotic pair (all right: 8 of 8); the abiotic points see
  // 1.1 and 1.0, both biotic (0 of 4): 8 / 12.
  EXPECT_DOUBLE_EQ(viz::knn_purity_other_groups(x, label, group, 2), 8.0 / 12);
  EXPECT_THROW(viz::knn_purity_other_groups(x, label, group, 5), brainsem::Error);  // only 4 others
}
