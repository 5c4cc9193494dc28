// Ablation grid shape, table round trip and input checks (training itself: tests/cli/report_test.cpp).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "brainsem/core/error.h"
#include "brainsem/report/ablation.h"
#include "testing/paths.h"

using namespace brainsem::report;
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
  b.mcnemar_top1 = {3, 0.0312, 5, 2, false};
  t.rows = {a, b};
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
