#include "brainsem/model/virtual_brain.h"

#include <gtest/gtest.h>

#include <numeric>

#include "brainsem/core/error.h"

using namespace brainsem::model;

TEST(VirtualBrain, PaperModeIsAConvexCombinationThatAlwaysKeepsOneSample) {
  std::mt19937_64 rng(7);
  double mean_kept = 0;
  for (int t = 0; t < 2000; ++t) {
    auto w = virtual_weights(8, VirtualMode::paper, rng);
    double sum = std::accumulate(w.begin(), w.end(), 0.0);
    ASSERT_NEAR(sum, 1.0, 1e-5);
    ASSERT_GT(w[0], 0.0f);  // x_1 always takes part
    for (float x : w) ASSERT_GE(x, 0.0f);
    mean_kept += std::count_if(w.begin(), w.end(), [](float x) { return x > 0; });
  }
  // 1 + Bernoulli(0.5) x 7 -> 4.5 samples on average.
  EXPECT_NEAR(mean_kept / 2000, 4.5, 0.1);
}

TEST(VirtualBrain, LiteralModeKeepsEquationOnesUnnormalisedWeights) {
  std::mt19937_64 rng(3);
  double mean_sum = 0;
  for (int t = 0; t < 2000; ++t) {
    auto w = virtual_weights(8, VirtualMode::literal, rng);
    double s = std::accumulate(w.begin(), w.end(), 0.0);
    ASSERT_LE(s, 1.0 + 1e-6);
    mean_sum += s;
  }
  // Each kept weight averages 1/8 of the softmax mass: E[sum] ~ 4.5/8.
  EXPECT_NEAR(mean_sum / 2000, 4.5 / 8, 0.03);
}

TEST(VirtualBrain, ReleasedModeUsesAProperSubset) {
  std::mt19937_64 rng(5);
  for (int t = 0; t < 500; ++t) {
    auto w = virtual_weights(8, VirtualMode::released, rng);
    int kept = std::count_if(w.begin(), w.end(), [](float x) { return x > 0; });
    ASSERT_GE(kept, 1);
    ASSERT_LE(kept, 7);
    ASSERT_NEAR(std::accumulate(w.begin(), w.end(), 0.0), 1.0, 1e-5);
  }
}

TEST(VirtualBrain, BatchMixesOnlyTheRightClassAndIsSeeded) {
  // Class 0 samples are all 1s, class 1 samples all -1s: a convex mix must stay exactly there.
  auto samples = torch::cat({torch::ones({3, 2, 4}), -torch::ones({2, 2, 4})});
  std::vector<std::vector<int64_t>> rows = {{0, 1, 2}, {3, 4}};
  std::mt19937_64 a(11), b(11);
  auto x = virtual_batch(samples, rows, {0, 1, 1, 0}, VirtualMode::paper, a);
  ASSERT_EQ(x.sizes(), (std::vector<int64_t>{4, 2, 4}));
  EXPECT_TRUE(torch::allclose(x[0], torch::ones({2, 4})));
  EXPECT_TRUE(torch::allclose(x[1], -torch::ones({2, 4})));
  EXPECT_TRUE(torch::equal(x, virtual_batch(samples, rows, {0, 1, 1, 0}, VirtualMode::paper, b)));
  // With distinct samples the result is a weighted mean: it lies within the samples' range.
  auto s2 = torch::arange(3, torch::kFloat32).view({3, 1, 1}).expand({3, 2, 4}).contiguous();
  auto y = virtual_batch(s2, {{0, 1, 2}}, std::vector<int64_t>(50, 0), VirtualMode::paper, a);
  EXPECT_GE(y.min().item<float>(), 0.0f);
  EXPECT_LE(y.max().item<float>(), 2.0f);
  EXPECT_GT(y.std().item<float>(), 0.05f);  // not always the same point
}

TEST(VirtualBrain, RejectsUnknownMode) { EXPECT_THROW(parse_virtual_mode("mixup"), brainsem::Error); }
