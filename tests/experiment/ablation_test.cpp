// Ablation grid shape, table round trip and input checks (training itself: tests/cli/report_test.cpp).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "brainsem/core/error.h"
#include "brainsem/experiment/ablation.h"
#include "testing/paths.h"

using namespace brainsem::experiment;
namespace fs = std::filesystem;

TEST(Ablation, GridShapes) {
  brainsem::train::TrainConfig base;
  base.batch = 50;
  base.encoder.kind = "linear";
  auto small = ablation_grid(base, false);
  ASSERT_EQ(small.size(), 4u);
  EXPECT_EQ(small[0].name, "V+B+_b50_linear");
  EXPECT_TRUE(small[0].config.library && small[0].config.virtual_brain);
  EXPECT_EQ(small[3].name, "V-B-_b50_linear");
  EXPECT_FALSE(small[3].config.library || small[3].config.virtual_brain);
  auto full = ablation_grid(base, true);
  ASSERT_EQ(full.size(), 24u);
  std::set<std::string> names;
  int deep = 0;
  for (const auto& c : full) {
    names.insert(c.name);
    EXPECT_EQ(c.config.encoder.kind, "vit");
    deep += c.config.encoder.depth == 24 && c.config.encoder.heads == 16;
  }
  EXPECT_EQ(names.size(), 24u);
  EXPECT_EQ(deep, 8);
  EXPECT_EQ(full[0].name, "V+B+_b200_vit24x16");  // the paper's recipe is the reference
}

TEST(Ablation, TableRoundTripsThroughJson) {
  AblationTable t;
  t.subjects = {1, 2};
  t.seeds = {0};
  t.prototype = "stimulus";
  t.cells_run = 3;
  AblationRow a;
  a.name = "V+B+_b100_linear";
  a.batch = 100;
  a.encoder = "linear";
  a.cells = 2;
  a.top1 = {0.25, 0.05, 2};
  a.top5 = {0.6, 0.1, 2};
  a.mean_rank = 7.5;
  AblationRow b = a;
  b.name = "V-B-_b100_linear";
  b.library = b.virtual_brain = false;
  b.test_top1 = {3, 0.0312, 5, 2, false};
  t.rows = {a, b};
  t.paired_units = 100;
  brainsem::testing::TempDir tmp;
  std::ofstream(tmp / "a.json") << t.to_json().dump();
  auto back = load_ablation(tmp / "a.json");
  EXPECT_EQ(back.to_json(), t.to_json());
  EXPECT_NE(t.text().find("V-B-_b100_linear"), std::string::npos);
  EXPECT_NE(t.csv().find("V-B-_b100_linear,0,0,100,linear,2,0.25"), std::string::npos) << t.csv();
  std::ofstream(tmp / "bad.json") << "{\"rows\": 3}";
  EXPECT_THROW(load_ablation(tmp / "bad.json"), brainsem::Error);
}

TEST(Ablation, MissingInputsFailBeforeAnyOutput) {
  brainsem::testing::TempDir tmp;
  AblationOptions o;
  o.data = tmp / "nope";
  o.out = tmp / "out";
  EXPECT_THROW(run_ablation(o), brainsem::Error);
  fs::create_directory(tmp / "data");
  o.data = tmp / "data";
  try {
    run_ablation(o);
    FAIL() << "no error";
  } catch (const brainsem::Error& e) {
    EXPECT_NE(std::string(e.what()).find("Subject1.h5"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(tmp / "out"));
}

TEST(Ablation, PairedTestsAverageSeedsBeforeTestingHandComputed) {
  // One subject, two seeds, four test items: true-class ranks of a configuration and of the
  // reference, one vector per (subject, seed) cell.
  const std::vector<std::vector<int64_t>> config = {{1, 1, 1, 7}, {1, 1, 1, 3}};
  const std::vector<std::vector<int64_t>> reference = {{2, 6, 9, 8}, {4, 2, 10, 1}};
  auto avg = paired_comparison(config, reference, 2);
  EXPECT_EQ(avg.top_k_test, "sign-flip");
  EXPECT_EQ(avg.units, 4);
  // Top-1 hit rates per item: config (1, 1, 1, 0), reference (0, 0, 0, 0.5); d = (1, 1, 1, -0.5),
  // mean 0.625. Of the 16 sign patterns, |sum| >= 2.5 only when the three 1s share a sign: 4.
  EXPECT_DOUBLE_EQ(avg.top1.statistic, 0.625);
  EXPECT_DOUBLE_EQ(avg.top1.p_value, 4.0 / 16);
  EXPECT_TRUE(avg.top1.exact);
  // Top-5: config (1, 1, 1, 0.5), reference (1, 0.5, 0, 0.5); d = (0, 0.5, 1, 0): |sum| >= 1.5
  // when 0.5 and 1 share a sign: 2 of 4, times 4 for the zeros = 8 of 16.
  EXPECT_DOUBLE_EQ(avg.top5.statistic, 0.375);
  EXPECT_DOUBLE_EQ(avg.top5.p_value, 8.0 / 16);
  // Rank: mean ranks config (1, 1, 1, 5), reference (3, 4, 9.5, 4.5); d = (-2, -3, -8.5, 0.5),
  // sum -13 of a total |d| of 14: only all-same-sign patterns up to the 0.5 reach 13: 4 of 16.
  EXPECT_DOUBLE_EQ(avg.rank.statistic, -3.25);
  EXPECT_DOUBLE_EQ(avg.rank.p_value, 4.0 / 16);

  // Pooling the 8 (seed, item) cells instead, as if they were independent, gives smaller p:
  // top-1 McNemar b = 6, c = 1: p = 2 (1 + 7) / 2^7 = 0.125; top-5 b = 3, c = 0: p = 0.25; rank
  // sign-flip on d = (-1, -5, -8, -1, -3, -1, -9, 2): 16 of the 256 patterns reach |sum| >= 26
  // (those flipping at most 2 in total: {}, each 1, {2}, pairs of 1s), p = 0.0625.
  auto flat = [](const std::vector<std::vector<int64_t>>& cells) {
    std::vector<int64_t> all;
    for (const auto& c : cells) all.insert(all.end(), c.begin(), c.end());
    return std::vector<std::vector<int64_t>>{all};
  };
  auto pooled = paired_comparison(flat(config), flat(reference), 1);
  EXPECT_EQ(pooled.top_k_test, "mcnemar");
  EXPECT_EQ(pooled.top1.b, 6);
  EXPECT_EQ(pooled.top1.c, 1);
  EXPECT_NEAR(pooled.top1.p_value, 0.125, 1e-12);  // binomial tails in log space
  EXPECT_NEAR(pooled.top5.p_value, 0.25, 1e-12);
  EXPECT_DOUBLE_EQ(pooled.rank.p_value, 16.0 / 256);
  EXPECT_LT(pooled.top1.p_value, avg.top1.p_value);
  EXPECT_LT(pooled.rank.p_value, avg.rank.p_value);

  // One seed is today's McNemar over the items: seed 0 alone, top-1 b = 3, c = 0, p = 2 / 8;
  // rank d = (-1, -5, -8, -1), only the two all-same-sign patterns reach |sum| = 15: p = 2 / 16.
  auto one = paired_comparison({config[0]}, {reference[0]}, 1);
  EXPECT_EQ(one.top_k_test, "mcnemar");
  EXPECT_EQ(one.units, 4);
  EXPECT_DOUBLE_EQ(one.top1.statistic, 3);
  EXPECT_NEAR(one.top1.p_value, 0.25, 1e-12);
  EXPECT_DOUBLE_EQ(one.rank.p_value, 2.0 / 16);

  // Cells of different lengths or a seed count that does not divide the cells are refused.
  EXPECT_THROW(paired_comparison(config, {{2, 6, 9}, {4, 2, 10}}, 2), brainsem::Error);
  EXPECT_THROW(paired_comparison(config, reference, 3), brainsem::Error);
}
