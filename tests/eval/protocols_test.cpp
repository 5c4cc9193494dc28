// Peer protocols against hand-computed cases: every number below is worked out in the comments.
#include "brainsem/eval/protocols.h"

#include <gtest/gtest.h>

#include "brainsem/core/error.h"

using namespace brainsem::eval;

namespace {
// Rows of the 3 x 3 identity: three orthogonal unit vectors.
torch::Tensor basis() { return torch::eye(3, torch::kFloat64); }
}  // namespace

TEST(Protocols, PairwiseIdentificationMatchesTheHandComputedCorrelations) {
  // Candidates e0, e1, e2. Prediction [2, 1, 0] centred is [1, 0, -1]; centred candidates are
  // [2,-1,-1]/3 etc., so corr = 0.866 with e0, 0 with e1, -0.866 with e2.
  auto p = torch::tensor({2.0, 1.0, 0.0}, torch::kFloat64).view({1, 3}).repeat({3, 1});
  // Truth e0: both others below -> 1. Truth e1: only e2 below -> 0.5. Truth e2: none below -> 0.
  auto rates = pairwise_identification_rates(p, basis(), {0, 1, 2});
  EXPECT_TRUE(torch::allclose(rates, torch::tensor({1.0, 0.5, 0.0}, torch::kFloat64)));
  auto score = pairwise_identification(p, basis(), {0, 1, 2}, 0);
  EXPECT_NEAR(score.value, 0.5, 1e-12);
  EXPECT_EQ(score.chance, 0.5);
  EXPECT_EQ(score.trials, 3);
  // A constant prediction correlates equally (0) with every candidate: ties are failures, as in bdpy.
  auto flat = torch::ones({1, 3}, torch::kFloat64);
  EXPECT_EQ(pairwise_identification_rates(flat, basis(), {1})[0].item<double>(), 0.0);
  // A NaN prediction is the worst case, never a success.
  auto nan = torch::full({1, 3}, std::nan(""), torch::kFloat64);
  EXPECT_EQ(pairwise_identification_rates(nan, basis(), {0})[0].item<double>(), 0.0);
}

TEST(Protocols, RetrievalForwardAndBackwardByHand) {
  // Predictions equal the images except that item 2's prediction is item 0's image.
  auto images = basis();
  auto pred = images.clone();
  pred[2] = images[0];
  // Forward (rows): item 0 and 1 find their own image; item 2's prediction matches image 0 best -> 2/3.
  // Backward (columns): image 0 ties between predictions 0 and 2 (ties count against) -> wrong;
  // image 1 -> right; image 2 has similarity 0 to every prediction -> a tie -> wrong. 1/3.
  auto scores = subset_retrieval(pred, images, 300, 30, 0);
  ASSERT_EQ(scores.size(), 2u);
  EXPECT_EQ(scores[0].metric, "3-way forward top-1");
  EXPECT_NEAR(scores[0].value, 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(scores[1].value, 1.0 / 3.0, 1e-12);
  // N <= subset: every loop is the whole test set, so the loops agree and the interval is a point.
  EXPECT_NEAR(scores[0].interval.lo, scores[0].interval.hi, 1e-12);
  EXPECT_NEAR(scores[0].chance, 1.0 / 3.0, 1e-12);
  EXPECT_LT(scores[0].p_value, 0);  // MindEye reports no p-value; neither do we
}

TEST(Protocols, RetrievalSubsetsAreDrawnAndSeeded) {
  torch::manual_seed(3);
  auto images = torch::randn({40, 8}, torch::kFloat64);
  auto pred = images + 0.8 * torch::randn({40, 8}, torch::kFloat64);
  auto a = subset_retrieval(pred, images, 10, 30, 7), b = subset_retrieval(pred, images, 10, 30, 7);
  EXPECT_EQ(a[0].value, b[0].value);
  EXPECT_EQ(a[0].metric, "10-way forward top-1");
  EXPECT_LT(a[0].interval.lo, a[0].interval.hi);  // different subsets, different accuracies
  // The whole-set accuracy bounds a 10-of-40 subset's from below: fewer competitors, fewer errors.
  auto whole = subset_retrieval(pred, images, 40, 2, 7);
  EXPECT_GE(a[0].value, whole[0].value);
}

TEST(Protocols, NWayCountsDistractorsAsDrawn) {
  // Similarities of one prediction to 4 class prototypes: make the truth's rank explicit.
  // Prototypes e0..e3 (4-d); prediction [0.9, 1, 0.5, 0.1]: sims 0.9 (c0), 1 (c1), 0.5 (c2), 0.1 (c3)
  // up to a common factor. Truth c1 beats every class; truth c2 beats only c3; truth c3 beats none.
  auto protos = torch::eye(4, torch::kFloat64);
  auto p = torch::tensor({0.9, 1.0, 0.5, 0.1}, torch::kFloat64).view({1, 4}).repeat({3, 1});
  std::vector<int64_t> truth = {1, 2, 3};
  // k = C = 4: every class is a distractor -> exactly zero-shot top-1: 1, 0, 0.
  auto all = nway_classification(p, protos, truth, {4}, 5, 0);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_NEAR(all[0].value, 1.0 / 3.0, 1e-12);
  EXPECT_EQ(all[0].metric, "4-way top-1");
  EXPECT_EQ(all[0].trials, 15);
  // k = 2: one distractor drawn uniformly from the 3 others. Truth c1 always wins (1), truth c2
  // wins against c3 only (1/3 expected), truth c3 never (0): mean 4/9 up to sampling.
  auto two = nway_classification(p, protos, truth, {2}, 3000, 1);
  EXPECT_NEAR(two[0].value, 4.0 / 9.0, 0.01);
  EXPECT_EQ(two[0].chance, 0.5);
  // Seeded: the same seed gives the same draws.
  EXPECT_EQ(nway_classification(p, protos, truth, {2}, 50, 9)[0].value,
            nway_classification(p, protos, truth, {2}, 50, 9)[0].value);
  // Top-5 is reported above k = 5 only; k beyond the candidates is refused.
  EXPECT_THROW(nway_classification(p, protos, truth, {5}, 1, 0), brainsem::Error);
}

TEST(Protocols, NWayTop5AndPValueOnALearnableCase) {
  torch::manual_seed(5);
  auto protos = torch::randn({50, 16}, torch::kFloat64);
  std::vector<int64_t> truth(50);
  for (int64_t i = 0; i < 50; ++i) truth[i] = i;
  auto p = protos + 1.5 * torch::randn({50, 16}, torch::kFloat64);
  auto s = nway_classification(p, protos, truth, {2, 10, 50}, 20, 0);
  ASSERT_EQ(s.size(), 5u);  // 2-way top-1, 10-way top-1 and top-5, 50-way top-1 and top-5
  EXPECT_EQ(s[2].metric, "10-way top-5");
  EXPECT_GT(s[0].value, s[1].value);  // fewer distractors, easier
  EXPECT_GT(s[2].value, s[1].value);
  EXPECT_LT(s[0].p_value, 0.001);
  EXPECT_LE(s[0].interval.lo, s[0].value);
  EXPECT_GE(s[0].interval.hi, s[0].value);
  // Random predictions: 2-way near 0.5 and not significant.
  auto noise = nway_classification(torch::randn({50, 16}, torch::kFloat64), protos, truth, {2}, 20, 0);
  EXPECT_NEAR(noise[0].value, 0.5, 0.1);
  EXPECT_GT(noise[0].p_value, 0.01);
}
