// Fig. 4 similarity analysis on hand-made features whose top-k cosines are known exactly.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "brainsem/analysis/similarity.h"
#include "brainsem/core/error.h"
#include "testing/paths.h"

using namespace brainsem::analysis;

TEST(SimilarityAnalysis, TopKMeanCosineAndPointBiserial) {
  // Training images: unit axes e0, e1, e2 and (e0+e1)/sqrt2.
  auto train = torch::tensor({{1.0, 0.0, 0.0}, {0.0, 1.0, 0.0}, {0.0, 0.0, 1.0}, {1.0, 1.0, 0.0}});
  // Tests: e0 -> cosines 1, 0, 0, 0.7071 -> top-2 mean (1 + 0.7071)/2.
  auto test = torch::tensor({{1.0, 0.0, 0.0}, {0.0, 0.0, 1.0}, {1.0, 1.0, 1.0}, {0.0, -1.0, 0.0}});
  std::vector<int64_t> ranks{1, 1, 4, 9};
  auto a = analyse_similarity(test, train, {"t0", "t1", "t2", "t3"}, {"a", "b", "c", "d"}, {"n0", "n1", "n2", "n3"},
                              ranks, 2);
  const double r2 = std::sqrt(0.5);
  std::vector<double> want{(1 + r2) / 2, (1 + 0) / 2.0, (2 / std::sqrt(6.0) + 1 / std::sqrt(3.0)) / 2, (0.0 + 0.0) / 2};
  ASSERT_EQ(a.items.size(), 4u);
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(a.items[i].similarity, want[i], 1e-9) << i;
  EXPECT_EQ(a.items[0].nearest[0], "n0");
  EXPECT_EQ(a.items[0].nearest[1], "n3");
  EXPECT_EQ(a.correct, 2);
  EXPECT_NEAR(a.mean_correct, (want[0] + want[1]) / 2, 1e-12);
  EXPECT_NEAR(a.mean_wrong, (want[2] + want[3]) / 2, 1e-12);
  // Point-biserial = Pearson of similarity with the 0/1 correctness, by hand.
  std::vector<double> c{1, 1, 0, 0};
  double mx = 0, my = 0;
  for (int i = 0; i < 4; ++i) mx += want[i] / 4, my += c[i] / 4;
  double sxy = 0, sxx = 0, syy = 0;
  for (int i = 0; i < 4; ++i) {
    sxy += (want[i] - mx) * (c[i] - my);
    sxx += (want[i] - mx) * (want[i] - mx);
    syy += (c[i] - my) * (c[i] - my);
  }
  EXPECT_NEAR(a.point_biserial.r, sxy / std::sqrt(sxx * syy), 1e-9);
  EXPECT_GT(a.point_biserial.p_value, 0.0);
  EXPECT_LE(a.point_biserial.p_value, 1.0);
  brainsem::testing::TempDir tmp;
  write_similarity(tmp / "s", a);
  for (const char* f : {"similarity.json", "similarity.csv", "similarity.png", "similarity.svg"})
    EXPECT_TRUE(std::filesystem::file_size(tmp / "s" / f) > 0) << f;
}

TEST(SimilarityAnalysis, AllCorrectHasNoCorrelationAndBadInputsThrow) {
  auto train = torch::randn({5, 3});
  auto test = torch::randn({3, 3});
  auto a = analyse_similarity(test, train, {"a", "b", "c"}, {"x", "y", "z"}, {"1", "2", "3", "4", "5"}, {1, 1, 1}, 3);
  EXPECT_TRUE(std::isnan(a.point_biserial.r));
  EXPECT_DOUBLE_EQ(a.point_biserial.p_value, 1.0);
  EXPECT_TRUE(a.to_json()["point_biserial"]["r"].is_null());
  EXPECT_THROW(analyse_similarity(test, train, {"a", "b"}, {"x", "y"}, {"1", "2", "3", "4", "5"}, {1, 1}, 3),
               brainsem::Error);
  EXPECT_THROW(
      analyse_similarity(test, train.slice(0, 0, 2), {"a", "b", "c"}, {"x", "y", "z"}, {"1", "2"}, {1, 2, 3}, 3),
      brainsem::Error);
}
