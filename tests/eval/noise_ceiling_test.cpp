#include "brainsem/eval/noise_ceiling.h"

#include <gtest/gtest.h>

#include <cmath>

#include "brainsem/core/error.h"

namespace ev = brainsem::eval;

namespace {
// Zero-mean patterns over 4 voxels, mutually orthogonal (so their correlations are 0).
const std::vector<double> kP0 = {1, -1, 0, 0}, kP1 = {0, 0, 1, -1}, kP3 = {1, 1, -1, -1};

torch::Tensor rows(const std::vector<std::vector<double>>& r) {
  std::vector<double> flat;
  for (const auto& v : r) flat.insert(flat.end(), v.begin(), v.end());
  return torch::tensor(flat, torch::kDouble).view({static_cast<int64_t>(r.size()), -1});
}
}  // namespace

TEST(NoiseCeiling, NoiseFreeRepeatsIdentifyEveryImage) {
  // Three images, every trial exactly its image's pattern: each half mean is the pattern itself.
  auto t = rows({kP0, kP0, kP1, kP1, kP1, kP3, kP3});
  auto c = ev::split_half_identification(t, {0, 0, 1, 1, 1, 2, 2}, 10, 0);
  EXPECT_EQ(c.images, 3);
  EXPECT_EQ(c.trials, 7);
  EXPECT_EQ(c.min_repeats, 2);
  EXPECT_EQ(c.max_repeats, 3);
  EXPECT_DOUBLE_EQ(c.top1, 1.0);
  EXPECT_DOUBLE_EQ(c.top5, 1.0);
  EXPECT_DOUBLE_EQ(c.top1_sd, 0.0);
  EXPECT_DOUBLE_EQ(c.chance_top1, 1.0 / 3);
  EXPECT_DOUBLE_EQ(c.chance_top5, 1.0);
}

TEST(NoiseCeiling, IdenticalImagesTieAgainstTheTruth) {
  // Images 0 and 2 evoke the same pattern: their own half ties with the other's, and a tie counts
  // against the truth, so only image 1 is identified: top-1 = 1/3 in every split and direction.
  auto t = rows({kP0, kP0, kP1, kP1, kP0, kP0});
  auto c = ev::split_half_identification(t, {0, 0, 1, 1, 2, 2}, 5, 3);
  EXPECT_DOUBLE_EQ(c.top1, 1.0 / 3);
  EXPECT_DOUBLE_EQ(c.top5, 1.0);
}

TEST(NoiseCeiling, UnequalRepeatsHandComputedExpectation) {
  // Image 0 has 3 trials {p0, p0, p1} (halves of 1 and 2 trials), image 1 has {p1, p1}, image 5
  // has 4 trials of p3, image 9 a single trial (cannot be split: excluded).
  // Split kind 1 (probability 1/3): A0 = p1, B0 = p0. A->B: image 0's A (p1) matches B1 = p1
  //   better: wrong; images 1, 5 right (2/3). B->A: B0 = p0 has correlation 0 with every A
  //   (p1, p1, p3): a tie, wrong; B1 = p1 ties with A0 = A1 = p1: wrong; image 5 right (1/3).
  //   Split top-1 = 3/6 = 1/2.
  // Split kind 2 (probability 2/3): A0 = p0, B0 = (p0 + p1)/2. A->B: all right (3/3; corr(p0, B0)
  //   = 1/sqrt 2 > 0). B->A: B0 correlates 1/sqrt 2 with both A0 = p0 and A1 = p1: a tie, wrong;
  //   images 1, 5 right (2/3). Split top-1 = 5/6.
  // Expected top-1 = 1/3 * 1/2 + 2/3 * 5/6 = 13/18; over 3000 splits its sd is
  // sqrt(2/9 / 3000) / 3 = 0.0029.
  auto t = rows({kP0, kP1, kP1, kP3, kP0, kP3, kP3, {5, 0, 0, 1}, kP3, kP1});
  std::vector<int64_t> image = {0, 1, 1, 5, 0, 5, 5, 9, 5, 0};
  auto c = ev::split_half_identification(t, image, 3000, 11);
  EXPECT_EQ(c.images, 3);
  EXPECT_EQ(c.excluded_images, 1);
  EXPECT_EQ(c.trials, 9);
  EXPECT_EQ(c.min_repeats, 2);
  EXPECT_EQ(c.max_repeats, 4);
  EXPECT_NEAR(c.top1, 13.0 / 18, 0.015);
  // Split-to-split sd: the split top-1 is 1/2 or 5/6 with probabilities 1/3, 2/3:
  // sd = (5/6 - 1/2) sqrt(1/3 * 2/3) = 0.157.
  EXPECT_NEAR(c.top1_sd, (1.0 / 3) * std::sqrt(2.0 / 9), 0.01);
  // Seeded: the same seed gives the same answer.
  EXPECT_EQ(ev::split_half_identification(t, image, 3000, 11).top1, c.top1);
}

TEST(NoiseCeiling, VoxelReliabilityAndIdentificationFollowTheNoise) {
  // 40 images x 10 repeats x 200 voxels, signal sd 1, noise sd 2: the reliability of a 10-repeat
  // mean is 1 / (1 + 4 / 10) = 0.714.
  torch::manual_seed(5);
  const int64_t n = 40, reps = 10, v = 200;
  auto signal = torch::randn({n, 1, v}, torch::kDouble);
  auto t = (signal + 2 * torch::randn({n, reps, v}, torch::kDouble)).view({n * reps, v});
  std::vector<int64_t> image;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t r = 0; r < reps; ++r) image.push_back(i);
  auto c = ev::split_half_identification(t, image, 20, 0);
  EXPECT_NEAR(c.voxel_reliability, 1 / (1 + 4.0 / 10), 0.05);
  // Half means of 5 trials have noise variance 4/5 against signal variance 1 over 200 voxels:
  // identification among 40 is nearly perfect.
  EXPECT_GT(c.top1, 0.95);
  // Pure noise: near chance (1/40 top-1, 5/40 top-5).
  auto noise = ev::split_half_identification(torch::randn({n * reps, v}, torch::kDouble), image, 20, 0);
  EXPECT_LT(noise.top1, 0.1);
  EXPECT_LT(noise.top5, 0.25);
  EXPECT_NEAR(noise.voxel_reliability, 0.0, 0.1);
}

TEST(NoiseCeiling, RefusesAveragedOrMalformedInput) {
  // One trial per image: nothing to split.
  EXPECT_THROW(ev::split_half_identification(rows({kP0, kP1, kP3}), {0, 1, 2}), brainsem::Error);
  EXPECT_THROW(ev::split_half_identification(rows({kP0, kP1}), {0}), brainsem::Error);
  EXPECT_THROW(ev::split_half_identification(rows({kP0, kP0, kP1, kP1}), {0, 0, 1, 1}, 0), brainsem::Error);
  auto bad = rows({kP0, kP0, kP1, kP1});
  bad[0][0] = NAN;
  EXPECT_THROW(ev::split_half_identification(bad, {0, 0, 1, 1}), brainsem::Error);
}
