// The study report from results files alone (no checkpoint: no analyses computed), both layouts.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "brainsem/core/atomic_file.h"
#include "brainsem/core/error.h"
#include "brainsem/experiment/ablation.h"
#include "brainsem/report/study_report.h"
#include "testing/paths.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

json score(const std::string& method, const std::string& proto, double top1, double top5) {
  return json{{"method", method},
              {"prototype", proto},
              {"n", 50},
              {"classes", 50},
              {"top1", top1},
              {"top5", top5},
              {"mean_rank", 6.5},
              {"chance_top1", 0.02},
              {"chance_top5", 0.1},
              {"p_top1", 1e-5},
              {"p_top5", 0.5},
              {"ci_top1", {top1 - 0.1, top1 + 0.1}},
              {"ci_top5", {top5 - 0.1, top5 + 0.1}}};
}

void fake_run(const fs::path& dir, double top1) {
  fs::create_directories(dir);
  std::ofstream(dir / "config.json") << json{{"seed", 7}, {"steps", 10}}.dump();
  std::ofstream(dir / "results.json")
      << json{{"train_seconds", 12.5},
              {"best_step", -1},
              {"scores", {score("brainsem", "stimulus", top1, 0.66), score("ridge", "stimulus", 0.06, 0.24)}}}
             .dump();
}

}  // namespace

TEST(StudyReport, SingleRunDirectory) {
  brainsem::testing::TempDir tmp;
  fake_run(tmp / "run", 0.28);
  auto out = brainsem::report::write_study_report(tmp / "run", {});
  EXPECT_EQ(out, tmp / "run" / "report.html");
  auto html = brainsem::core::read_text_file(out);
  EXPECT_NE(html.find("28.0 / 66.0"), std::string::npos);
  EXPECT_NE(html.find("28.0 [18.0, 38.0]"), std::string::npos);  // top-1 with its interval, in %
  EXPECT_NE(html.find("ridge"), std::string::npos);
  EXPECT_NE(html.find("brainsem " BRAINSEM_VERSION), std::string::npos);  // manifest
  EXPECT_EQ(html.find("Ablations"), std::string::npos);
}

TEST(StudyReport, DemoDirectoryWithAblationAndSubjectStatistics) {
  brainsem::testing::TempDir tmp;
  fake_run(tmp / "demo/runs/Subject2", 0.30);
  fake_run(tmp / "demo/runs/Subject1", 0.20);
  fake_run(tmp / "demo/runs/Subject10", 0.40);
  std::ofstream(tmp / "demo/manifest.json") << json{{"seed", 1}, {"data", {{"subjects", 3}}}}.dump();
  brainsem::experiment::AblationTable t;
  t.subjects = {1};
  t.seeds = {0};
  t.prototype = "stimulus";
  brainsem::experiment::AblationRow r;
  r.name = "V+B+_b100_linear";
  r.cells = 1;
  r.top1 = {0.31, 0, 1};
  t.rows = {r};
  fs::create_directories(tmp / "demo/ablation");
  std::ofstream(tmp / "demo/ablation/ablation.json") << t.to_json().dump();
  brainsem::report::write_study_report(tmp / "demo");
  auto html = brainsem::core::read_text_file(tmp / "demo/report.html");
  // Subjects in numeric order, then the mean ± sd over subjects: (20, 30, 40) -> 30.0 ± 10.0.
  auto s1 = html.find(">Subject1<"), s2 = html.find(">Subject2<"), s10 = html.find(">Subject10<");
  ASSERT_NE(s1, std::string::npos);
  EXPECT_LT(s1, s2);
  EXPECT_LT(s2, s10);
  EXPECT_NE(html.find("30.0 ± 10.0"), std::string::npos);
  EXPECT_NE(html.find("V+B+_b100_linear"), std::string::npos);
  EXPECT_NE(html.find("demo.data.subjects"), std::string::npos);
}

TEST(StudyReport, RefusesOtherDirectories) {
  brainsem::testing::TempDir tmp;
  try {
    brainsem::report::write_study_report(tmp.path());
    FAIL() << "no error";
  } catch (const brainsem::Error& e) {
    EXPECT_NE(std::string(e.what()).find("neither a run directory"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(tmp / "report.html"));
  fs::create_directories(tmp / "r");
  std::ofstream(tmp / "r/config.json") << "{}";
  std::ofstream(tmp / "r/results.json") << "{\"scores\": 5";
  EXPECT_THROW(brainsem::report::write_study_report(tmp / "r"), brainsem::Error);
  EXPECT_FALSE(fs::exists(tmp / "r/report.html"));
}
