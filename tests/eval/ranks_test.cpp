// The one ranking rule (eval/ranks.h) on deliberate ties, non-finite values and float64
// resolution.
#include "brainsem/eval/ranks.h"

#include <gtest/gtest.h>

#include <limits>

#include "brainsem/core/error.h"

namespace ev = brainsem::eval;

namespace {
const double kNan = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();
torch::Tensor row(std::vector<double> v) { return torch::tensor(v, torch::kFloat64).unsqueeze(0); }
int64_t rank_of(std::vector<double> v, int64_t truth) { return ev::true_ranks(row(v), std::vector<int64_t>{truth})[0]; }
}  // namespace

TEST(Ranks, TiesCountAgainstTheTruth) {
  EXPECT_EQ(rank_of({0.5, 0.5, 0.2}, 0), 2);
  EXPECT_EQ(rank_of({0.5, 0.5, 0.2}, 1), 2);
  EXPECT_EQ(rank_of({0.5, 0.5, 0.2}, 2), 3);
  EXPECT_EQ(rank_of({0.9, 0.5, 0.2}, 0), 1);
  // A constant predictor never scores: every candidate ties, the truth ranks last.
  EXPECT_EQ(rank_of({0.3, 0.3, 0.3, 0.3}, 2), 4);
}

TEST(Ranks, NonFiniteIsWorstNeverBest) {
  EXPECT_EQ(rank_of({kNan, 0.1, 0.2}, 0), 3);   // a NaN truth ranks last
  EXPECT_EQ(rank_of({kInf, 0.1, 0.2}, 0), 3);   // so does +Inf (it is not a similarity)
  EXPECT_EQ(rank_of({0.1, kNan, kInf}, 0), 1);  // NaN / Inf competitors never beat a finite truth
  EXPECT_EQ(rank_of({-0.9, kNan, -kInf}, 0), 1);
  EXPECT_EQ(rank_of({kNan, kNan}, 1), 2);
}

TEST(Ranks, ComparesInFloat64) {
  // 1e-12 apart: equal in float32, ordered in float64.
  EXPECT_EQ(rank_of({0.5 + 1e-12, 0.5}, 0), 1);
  EXPECT_EQ(rank_of({0.5 + 1e-12, 0.5}, 1), 2);
}

TEST(Ranks, BatchedShapesAndBadLabels) {
  // [2, 2, 3]: ranks of column t[b][i] in row sim[b][i].
  auto sim =
      torch::tensor({0.1, 0.2, 0.3, 0.3, 0.3, 0.0, 0.9, 0.1, 0.5, 0.0, 0.0, 0.0}, torch::kFloat64).view({2, 2, 3});
  auto truth = torch::tensor({2, 0, 1, 1}, torch::kInt64).view({2, 2});
  auto r = ev::true_ranks(sim, truth);
  EXPECT_TRUE(torch::equal(r, torch::tensor({1, 2, 3, 3}, torch::kInt64).view({2, 2})));
  EXPECT_THROW(ev::true_ranks(row({0.1, 0.2}), std::vector<int64_t>{2}), brainsem::Error);
  EXPECT_THROW(ev::true_ranks(row({0.1, 0.2}), std::vector<int64_t>{0, 1}), brainsem::Error);
}
