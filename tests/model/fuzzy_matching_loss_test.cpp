#include "brainsem/model/fuzzy_matching_loss.h"

#include <gtest/gtest.h>

#include <cmath>

using brainsem::model::fuzzy_matching_loss;
using brainsem::model::fuzzy_targets;

TEST(FuzzyLoss, TargetsSpreadEvenlyOverSameClassImages) {
  auto t = fuzzy_targets(torch::tensor({0, 1, 0, 0}, torch::kInt64));
  EXPECT_NEAR(t[0][0].item<float>(), 1.0 / 3, 1e-7);
  EXPECT_NEAR(t[0][2].item<float>(), 1.0 / 3, 1e-7);
  EXPECT_EQ(t[0][1].item<float>(), 0.0f);
  EXPECT_EQ(t[1][1].item<float>(), 1.0f);
}

TEST(FuzzyLoss, HandComputedTwoByTwo) {
  // Orthonormal embeddings: cos = identity. Row i: -log(e^1 / (e^1 + e^0)) = log(1 + e^-1).
  auto b = torch::tensor({{1.f, 0.f}, {0.f, 2.f}});
  auto v = torch::tensor({{3.f, 0.f}, {0.f, 1.f}});
  double expected = std::log(1 + std::exp(-1.0));
  EXPECT_NEAR(fuzzy_matching_loss(b, v, torch::tensor({0, 1}, torch::kInt64)).item<float>(), expected, 1e-6);
  // Temperature 0.5 doubles the logits.
  brainsem::model::FuzzyLossOptions o;
  o.temperature = 0.5;
  EXPECT_NEAR(fuzzy_matching_loss(b, v, torch::tensor({0, 1}, torch::kInt64), o).item<float>(),
              std::log(1 + std::exp(-2.0)), 1e-6);
}

TEST(FuzzyLoss, OneImagePerClassIsOrdinaryCrossEntropy) {
  torch::manual_seed(0);
  auto b = torch::randn({6, 8}), v = torch::randn({6, 8});
  auto classes = torch::arange(6, torch::kInt64);
  namespace F = torch::nn::functional;
  auto logits = torch::matmul(F::normalize(b, F::NormalizeFuncOptions().dim(1)),
                              F::normalize(v, F::NormalizeFuncOptions().dim(1)).t());
  auto ce = F::cross_entropy(logits, torch::arange(6, torch::kInt64));
  EXPECT_NEAR(fuzzy_matching_loss(b, v, classes).item<float>(), ce.item<float>(), 1e-6);
}

TEST(FuzzyLoss, ManyPositivesByHand) {
  // Three rows, rows 0 and 1 share class 0. Cosine matrix chosen by hand via unit vectors.
  auto b = torch::tensor({{1.f, 0.f}, {0.f, 1.f}, {1.f, 0.f}});
  auto v = torch::tensor({{1.f, 0.f}, {0.f, 1.f}, {-1.f, 0.f}});
  // cos rows: r0 = [1, 0, -1], r1 = [0, 1, 0], r2 = [1, 0, -1]; classes [0, 0, 1].
  auto lse = [](double a, double c, double d) { return std::log(std::exp(a) + std::exp(c) + std::exp(d)); };
  double l0 = -0.5 * ((1 - lse(1, 0, -1)) + (0 - lse(1, 0, -1)));
  double l1 = -0.5 * ((0 - lse(0, 1, 0)) + (1 - lse(0, 1, 0)));
  double l2 = -(-1 - lse(1, 0, -1));
  double expected = (l0 + l1 + l2) / 3;
  EXPECT_NEAR(fuzzy_matching_loss(b, v, torch::tensor({0, 0, 1}, torch::kInt64)).item<float>(), expected, 1e-6);
}

TEST(FuzzyLoss, SymmetricAveragesBothDirections) {
  torch::manual_seed(1);
  auto b = torch::randn({5, 4}), v = torch::randn({5, 4});
  auto c = torch::tensor({0, 0, 1, 2, 2}, torch::kInt64);
  brainsem::model::FuzzyLossOptions sym;
  sym.symmetric = true;
  double forward = fuzzy_matching_loss(b, v, c).item<float>();
  double backward = fuzzy_matching_loss(v, b, c).item<float>();
  EXPECT_NEAR(fuzzy_matching_loss(b, v, c, sym).item<float>(), 0.5 * (forward + backward), 1e-6);
}

TEST(RegressionLoss, CentredCosineByHand) {
  using brainsem::model::centred_cosine_regression_loss;
  // Images of different norms normalise to e1, e2; their mean is (.5, .5), so the centred targets
  // are (.5, -.5) and (-.5, .5): each brain row is at 45 degrees to its target.
  auto b = torch::tensor({{1.f, 0.f}, {0.f, 1.f}}).requires_grad_(true);
  auto v = torch::tensor({{2.f, 0.f}, {0.f, 3.f}});
  auto loss = centred_cosine_regression_loss(b, v);
  EXPECT_NEAR(loss.item<float>(), 1 - std::sqrt(0.5), 1e-6);
  loss.backward();
  EXPECT_GT(b.grad().abs().sum().item<float>(), 0);  // it trains the encoder
  // A brain row on its centred target, at any scale, costs nothing; opposite costs 2.
  EXPECT_NEAR(centred_cosine_regression_loss(torch::tensor({{5.f, -5.f}, {-1.f, 1.f}}), v).item<float>(), 0, 1e-6);
  EXPECT_NEAR(centred_cosine_regression_loss(torch::tensor({{-1.f, 1.f}, {1.f, -1.f}}), v).item<float>(), 2, 1e-6);
  EXPECT_THROW(centred_cosine_regression_loss(torch::zeros({1, 2}), torch::zeros({1, 2})), std::exception);
}
