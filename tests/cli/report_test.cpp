// `brainsem retrieve | similarity | maps | ablate | report` run as a user would, on a small
// synthetic dataset and a short linear-encoder run (trained once for the whole suite).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "brainsem/core/atomic_file.h"
#include "testing/paths.h"

namespace fs = std::filesystem;
using brainsem::testing::run_cli;
using nlohmann::json;

namespace {

std::string q(const fs::path& p) { return "'" + p.string() + "'"; }
json read_json(const fs::path& p) { return json::parse(brainsem::core::read_text_file(p)); }

class CliReport : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_ = new brainsem::testing::TempDir();
    std::string out;
    ASSERT_EQ(run_cli("synth -q --out " + q(data()) + " --subjects 1 --library-per-class 10 --write-truth", &out), 0)
        << out;
    ASSERT_EQ(run_cli("train -q --subject " + q(data() / "Subject1.h5") + " --stimuli " +
                          q(data() / "stimuli.safetensors") + " --library " + q(data() / "library_train.safetensors") +
                          " --library-test " + q(data() / "library_test.safetensors") + " --out " + q(run()) +
                          " --encoder linear --steps 60 --batch 100 --lr 1e-3 --temperature 0.07 --baselines",
                      &out),
              0)
        << out;
  }
  static void TearDownTestSuite() {
    delete tmp_;
    tmp_ = nullptr;
  }
  static fs::path data() { return tmp_->path() / "data"; }
  static fs::path run() { return tmp_->path() / "run"; }
  static fs::path dir(const std::string& name) { return tmp_->path() / name; }
  static brainsem::testing::TempDir* tmp_;
};
brainsem::testing::TempDir* CliReport::tmp_ = nullptr;

}  // namespace

TEST_F(CliReport, RetrieveTopKWithRecallAboveChance) {
  std::string out;
  ASSERT_EQ(run_cli("retrieve -q --run " + q(run()) + " --k 10 --subset 1500 --seed 3 --out " + q(dir("ret")), &out), 0)
      << out;
  auto j = read_json(dir("ret/retrieval.json"));
  // 200 classes x 10 library images = 2000 rows; no library image is a test stimulus; pool = 1500.
  EXPECT_EQ(j["store_rows"], 2000);
  EXPECT_EQ(j["pool"], 1500);
  EXPECT_EQ(j["items"].size(), 50u);
  EXPECT_EQ(j["items"][0]["hits"].size(), 10u);
  // Chance recall@10 with ~7.5 true-class images in 1500 is ~5%; a trained run does far better.
  EXPECT_LT(j["chance_recall_at_k"].get<double>(), 0.1);
  EXPECT_GT(j["recall_at_k"].get<double>(), 2 * j["chance_recall_at_k"].get<double>());
  EXPECT_GE(j["mean_class_rank"].get<double>(), 1.0);
  // Hits are sorted by similarity and the CSV has one row per hit.
  auto hits = j["items"][0]["hits"];
  for (size_t i = 1; i < hits.size(); ++i)
    EXPECT_GE(hits[i - 1]["similarity"].get<double>(), hits[i]["similarity"].get<double>());
  std::ifstream csv(dir("ret/retrieval.csv"));
  std::string line;
  int lines = 0;
  while (std::getline(csv, line)) ++lines;
  EXPECT_EQ(lines, 1 + 50 * 10);
  // Same seed, same output; an existing output directory is refused.
  EXPECT_NE(run_cli("retrieve -q --run " + q(run()) + " --subset 1500 --seed 3 --out " + q(dir("ret")), &out), 0);
  EXPECT_NE(out.find("already exists"), std::string::npos) << out;
}

TEST_F(CliReport, SimilarityWritesCorrelationAndPlots) {
  std::string out;
  ASSERT_EQ(run_cli("similarity -q --run " + q(run()) + " --out " + q(dir("sim")), &out), 0) << out;
  auto j = read_json(dir("sim/similarity.json"));
  EXPECT_EQ(j["n"], 50);
  EXPECT_EQ(j["top"], 3);
  // The number decoded correctly matches the run's own top-1 (stimulus prototypes).
  auto res = read_json(run() / "results.json");
  double top1 = -1;
  for (const auto& s : res["scores"])
    if (s["method"] == "brainsem" && s["prototype"] == "stimulus") top1 = s["top1"];
  EXPECT_NEAR(j["correct"].get<double>() / 50.0, top1, 1e-9);
  double r = j["point_biserial"]["r"].is_null() ? 0.0 : j["point_biserial"]["r"].get<double>();
  EXPECT_LE(std::abs(r), 1.0);
  for (const char* f : {"similarity.csv", "similarity.png", "similarity.svg"})
    EXPECT_GT(fs::file_size(dir("sim") / f), 100u) << f;
}

TEST_F(CliReport, MapsSeparateBioticFromAbioticInClipSpace) {
  std::string out;
  ASSERT_EQ(run_cli("maps -q --run " + q(run()) + " --method both --max-train 150 --tsne-iterations 400 --out " +
                        q(dir("maps")),
                    &out),
            0)
      << out;
  auto j = read_json(dir("maps/maps.json"));
  EXPECT_EQ(j["points"], 200);
  EXPECT_EQ(j["test_points"], 50);
  ASSERT_EQ(j["metrics"].size(), 3u);
  EXPECT_EQ(j["metrics"][2]["space"], "clip");
  // The synthetic CLIP space is built from WordNet-derived class centres: biotic vs abiotic is
  // far above the majority rate there, even with the CV folds grouped by class. Training-class
  // samples and test-class items are scored apart.
  const auto& clip_train = j["metrics"][2]["train_classes"];
  EXPECT_EQ(clip_train["points"], 150);
  EXPECT_GT(clip_train["logistic_cv_accuracy"].get<double>(), clip_train["majority_rate"].get<double>() + 0.1);
  const auto& clip_test = j["metrics"][2]["test_classes"];
  EXPECT_EQ(clip_test["points"], 50);
  EXPECT_EQ(clip_test["classes"], 50);
  EXPECT_TRUE(clip_test["knn_purity_class"].is_null());  // one test item per class
  EXPECT_EQ(j["maps"].size(), 6u);
  for (const char* f : {"raw_fmri_tsne.png", "brainsem_isomap.svg", "clip_tsne.csv"})
    EXPECT_TRUE(fs::exists(dir("maps") / f)) << f;
}

TEST_F(CliReport, ReportOfARunComputesAnalysesAndRenders) {
  // A copy of the run, so the analyses the report computes land in the copy.
  fs::copy(run(), dir("rrun"), fs::copy_options::recursive);
  std::string out;
  ASSERT_EQ(run_cli("report -q " + q(dir("rrun")), &out), 0) << out;
  // The default report.html is rewritten; a named --output that exists needs --force.
  ASSERT_EQ(run_cli("report -q --no-compute " + q(dir("rrun")), &out), 0) << out;
  std::ofstream(dir("mine.html")) << "my notes\n";
  EXPECT_EQ(run_cli("report -q --no-compute --output " + q(dir("mine.html")) + " " + q(dir("rrun")), &out), 1);
  EXPECT_NE(out.find("already exists; pass --force"), std::string::npos) << out;
  EXPECT_EQ(brainsem::core::read_text_file(dir("mine.html")), "my notes\n");
  ASSERT_EQ(run_cli("report -q --no-compute --force --output " + q(dir("mine.html")) + " " + q(dir("rrun")), &out), 0)
      << out;
  for (const char* f : {"analysis/retrieval/retrieval.json", "analysis/similarity/similarity.png",
                        "analysis/maps/maps.json", "report.html"})
    EXPECT_TRUE(fs::exists(dir("rrun") / f)) << f;
  auto html = brainsem::core::read_text_file(dir("rrun/report.html"));
  for (const char* s : {"Zero-shot decoding (Table 1)", "Embedding maps (Fig. 5)", "Retrieval (Fig. 3)",
                        "nearest-class-mean", "fnv1a64:"})
    EXPECT_NE(html.find(s), std::string::npos) << s;
  // A maps.json naming a figure outside its folder: the file is not embedded (in a copy, so
  // the render check below sees every figure).
  fs::copy(dir("rrun"), dir("rrun2"), fs::copy_options::recursive);
  std::ofstream(dir("secret.png"), std::ios::binary) << "SECRETPNG";  // base64 U0VDUkVUUE5H
  auto maps = json::parse(brainsem::core::read_text_file(dir("rrun2/analysis/maps/maps.json")));
  maps["maps"][0]["file"] = "../../../secret";
  brainsem::core::write_text_atomically(dir("rrun2/analysis/maps/maps.json"), maps.dump());
  ASSERT_EQ(run_cli("report -q --no-compute " + q(dir("rrun2")), &out), 0) << out;
  const auto page = brainsem::core::read_text_file(dir("rrun2/report.html"));
  EXPECT_EQ(page.find("U0VDUkVUUE5H"), std::string::npos);
  EXPECT_NE(page.find("is not a file in that folder"), std::string::npos);
  std::string cmd = (brainsem::testing::source_dir() / "scripts/render_report.sh").string() + " " +
                    q(dir("rrun/report.html")) +
                    " '' 'Zero-shot decoding (Table 1)' 'Similarity to the training images (Fig. 4)' > " +
                    q(dir("render.txt")) + " 2>&1";
  int rc = std::system(cmd.c_str());
  int code = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  if (code == 77) GTEST_SKIP() << "chromium not installed";
  auto log = brainsem::core::read_text_file(dir("render.txt"));
  EXPECT_EQ(code, 0) << log;
  EXPECT_NE(log.find("images 7/7"), std::string::npos) << log;  // 6 maps + the similarity plot
}

TEST_F(CliReport, AblateDefaultGridIsResumable) {
  std::string out;
  const std::string args = "ablate -q --data " + q(data()) + " --out " + q(dir("abl")) + " --steps 15";
  ASSERT_EQ(run_cli(args, &out), 0) << out;
  auto j = read_json(dir("abl/ablation.json"));
  ASSERT_EQ(j["rows"].size(), 4u);
  EXPECT_EQ(j["cells_run"], 4);
  EXPECT_EQ(j["rows"][0]["name"], "V+B+_b200_linear");
  for (const auto& r : j["rows"]) {
    EXPECT_EQ(r["cells"], 1);
    EXPECT_GE(r["top1_mean"].get<double>(), 0.0);
    EXPECT_LE(r["top5_mean"].get<double>(), 1.0);
    EXPECT_GE(r["top5_mean"].get<double>(), r["top1_mean"].get<double>());
  }
  EXPECT_DOUBLE_EQ(j["rows"][0]["test_top1"]["p"].get<double>(), 1.0);  // the reference itself
  EXPECT_EQ(j["top_k_test"], "mcnemar");                                // one seed
  EXPECT_EQ(j["paired_units"], 50);
  EXPECT_TRUE(fs::exists(dir("abl/cells/V-B-_b200_linear/Subject1-seed0/results.json")));
  // Second run: nothing trained, same table.
  ASSERT_EQ(run_cli(args, &out), 0) << out;
  auto again = read_json(dir("abl/ablation.json"));
  EXPECT_EQ(again["cells_run"], 0);
  EXPECT_EQ(again["cells_reused"], 4);
  EXPECT_EQ(again["rows"], j["rows"]);
  // Changing a training option under the same --out is refused.
  EXPECT_NE(run_cli("ablate -q --data " + q(data()) + " --out " + q(dir("abl")) + " --steps 16", &out), 0);
  EXPECT_NE(out.find("different training config"), std::string::npos) << out;
}

TEST_F(CliReport, AblateSharesTheGridOverSlurmArrayTasksAndRanks) {
  std::string out;
  const std::string args = "ablate -q --data " + q(data()) + " --steps 12 --out ";
  ASSERT_EQ(run_cli(args + q(dir("abl_one")), &out), 0) << out;
  const auto single = read_json(dir("abl_one/ablation.json"));
  // sbatch --array=0-1: task 0 trains cells 0 and 2 and leaves the table to task 1, which finishes last.
  const std::string array = "SLURM_ARRAY_TASK_MIN=0 SLURM_ARRAY_TASK_COUNT=2 SLURM_ARRAY_TASK_ID=";
  ASSERT_EQ(brainsem::testing::run_cli_with_env(array + "0", args + q(dir("abl_array")), &out), 0) << out;
  EXPECT_NE(out.find("Slurm array task 0: 2 cells trained, 0 reused; 2 cells of other shares are not finished"),
            std::string::npos)
      << out;
  EXPECT_FALSE(fs::exists(dir("abl_array/ablation.json")));
  EXPECT_TRUE(fs::exists(dir("abl_array/cells/V+B+_b200_linear/Subject1-seed0/results.json")));
  EXPECT_FALSE(fs::exists(dir("abl_array/cells/V+B-_b200_linear/Subject1-seed0")));
  ASSERT_EQ(brainsem::testing::run_cli_with_env(array + "1", args + q(dir("abl_array")), &out), 0) << out;
  auto shared = read_json(dir("abl_array/ablation.json"));
  EXPECT_EQ(shared["cells_run"], 2);
  EXPECT_EQ(shared["rows"], single["rows"]);  // the same table as one process
  // torchrun ranks (or --shard) over the finished grid: nothing is trained again.
  ASSERT_EQ(brainsem::testing::run_cli_with_env("RANK=1 WORLD_SIZE=2", args + q(dir("abl_array")), &out), 0) << out;
  shared = read_json(dir("abl_array/ablation.json"));
  EXPECT_EQ(shared["cells_run"], 0);
  EXPECT_EQ(shared["cells_reused"], 2);
  EXPECT_EQ(shared["rows"], single["rows"]);
  EXPECT_NE(run_cli(args + q(dir("abl_bad")) + " --shard 2/2", &out), 0);
  EXPECT_NE(out.find("--shard 2/2: K must be below N"), std::string::npos) << out;
  EXPECT_NE(brainsem::testing::run_cli_with_env("RANK=0", args + q(dir("abl_bad")), &out), 0);
  EXPECT_NE(out.find("RANK is set but WORLD_SIZE is not"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(dir("abl_bad")));
}

// The generator's ROI mix (docs/synthetic_data.md §3): V1-V3 carry mostly low-level drive (semantic
// weight 0.10-0.25), LOC/FFA/PPA mostly semantics (0.80). The attribution must find that: a model
// trained on one high-level ROI ranks the true class far better than one trained on an early area,
// and masking a high-level token hurts the full model more than masking an early one. Mean rank
// (1-50) is used because it moves with every item, where top-1 of 50 items moves in steps of 2 %.
TEST_F(CliReport, RoiAttributionRecoversTheGeneratorsRoiMix) {
  std::string out;
  const fs::path demo = dir("roidemo");
  const std::string args =
      "roi -q --data " + q(data()) + " --out " + q(demo / "roi") + " --modes only,masked --steps 100";
  ASSERT_EQ(run_cli(args, &out), 0) << out;
  auto j = read_json(demo / "roi/roi.json");
  EXPECT_EQ(j["format"], "brainsem.roi_attribution");
  EXPECT_EQ(j["cells_run"], 8);  // all + 7 single-ROI models; masking trains nothing
  EXPECT_EQ(j["interval"], "bootstrap over test items");
  std::map<std::string, double> rank;
  for (const auto& r : j["rows"]) {
    rank[r["mode"].get<std::string>() + " " + r["roi"].get<std::string>()] = r["mean_rank"].get<double>();
    EXPECT_LE(r["ci_top1"]["lo"].get<double>(), r["top1_mean"].get<double>());
    EXPECT_GE(r["ci_top1"]["hi"].get<double>(), r["top1_mean"].get<double>());
  }
  ASSERT_EQ(rank.size(), 15u) << j.dump();
  const double all = rank.at("all ");
  auto group = [&](const std::string& mode, std::vector<std::string> rois) {
    double sum = 0;
    for (const auto& r : rois) sum += rank.at(mode + " " + r);
    return sum / static_cast<double>(rois.size());
  };
  const std::vector<std::string> early{"V1", "V2", "V3"}, high{"LOC", "FFA", "PPA"};
  // Measured: early areas alone 22.9, high-level alone 14.9 (chance 25.5).
  EXPECT_GT(group("only", early) - group("only", high), 4.0);
  EXPECT_GT(group("only", early), 20.0);
  // Measured: masking a high-level token costs 2.2 ranks on average, an early one nothing (-0.5).
  EXPECT_GT(group("masked", high) - all, 1.0);
  EXPECT_LT(group("masked", early) - all, 0.5);
  // The full model's paired test against itself is the neutral one.
  EXPECT_DOUBLE_EQ(j["rows"][0]["test_top1"]["p"].get<double>(), 1.0);
  for (const char* f : {"roi.csv", "roi_only.png", "roi_masked.png"}) EXPECT_TRUE(fs::exists(demo / "roi" / f)) << f;
  EXPECT_FALSE(fs::exists(demo / "roi/roi_without.png"));

  // Resumable: a rerun trains nothing and gives the same table.
  ASSERT_EQ(run_cli(args, &out), 0) << out;
  auto again = read_json(demo / "roi/roi.json");
  EXPECT_EQ(again["cells_reused"], 8);
  EXPECT_EQ(again["rows"], j["rows"]);

  // The same --out with other ROI tokens would reuse cells trained on different data: refused.
  EXPECT_NE(
      run_cli("roi -q --data " + q(data()) + " --out " + q(demo / "roi") + " --modes only --rois LOC,FFA --steps 100",
              &out),
      0);
  EXPECT_NE(out.find("with ROI tokens all of the subject's, not on"), std::string::npos) << out;

  // The report of a demo directory shows the table and the charts.
  fs::create_directories(demo / "runs");
  fs::copy(run(), demo / "runs" / "Subject1", fs::copy_options::recursive);
  ASSERT_EQ(run_cli("report -q --no-compute " + q(demo), &out), 0) << out;
  const auto html = brainsem::core::read_text_file(demo / "report.html");
  EXPECT_NE(html.find("ROI attribution"), std::string::npos);
  EXPECT_NE(html.find("only LOC"), std::string::npos);
  EXPECT_NE(html.find("Single ROI: trained and tested"), std::string::npos);
  EXPECT_NE(html.find("Masked at evaluation"), std::string::npos);

  // Bad ROI names and modes fail before anything is written.
  EXPECT_NE(run_cli("roi -q --data " + q(data()) + " --out " + q(dir("roi_bad")) + " --rois V1,XX", &out), 0);
  EXPECT_NE(out.find("no ROI 'XX'"), std::string::npos) << out;
  EXPECT_NE(out.find("V1,V2,V3,V4,LOC,FFA,PPA"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(dir("roi_bad/cells")));
  EXPECT_NE(run_cli("roi -q --data " + q(data()) + " --out " + q(dir("roi_bad")) + " --modes only,bogus", &out), 0);
  EXPECT_NE(out.find("unknown mode 'bogus'"), std::string::npos) << out;
  EXPECT_NE(run_cli("roi -q --data " + q(data()) + " --out " + q(dir("roi_bad")) + " --rois LOC --modes without", &out),
            0);
  EXPECT_NE(out.find("at least two ROIs"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(dir("roi_bad/roi.json")));
}

TEST_F(CliReport, BadInputsFailClearlyAndWriteNothing) {
  std::string out;
  EXPECT_NE(run_cli("retrieve --run " + q(dir("missing")) + " --out " + q(dir("x1")), &out), 0);
  EXPECT_FALSE(fs::exists(dir("x1")));
  // A directory that is not a run.
  fs::create_directories(dir("notrun"));
  EXPECT_NE(run_cli("similarity --run " + q(dir("notrun")) + " --out " + q(dir("x2")), &out), 0);
  EXPECT_NE(out.find("not a finished run directory"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(dir("x2")));
  EXPECT_NE(run_cli("maps --run " + q(dir("notrun")) + " --out " + q(dir("x3")), &out), 0);
  EXPECT_FALSE(fs::exists(dir("x3")));
  // A store from another encoder.
  EXPECT_NE(
      run_cli("retrieve --run " + q(run()) + " --store " + q(data() / "Subject1.h5") + " --out " + q(dir("x4")), &out),
      0);
  EXPECT_FALSE(fs::exists(dir("x4")));
  EXPECT_NE(run_cli("report " + q(dir("notrun")), &out), 0);
  EXPECT_NE(out.find("neither a run directory"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(dir("notrun/report.html")));
  EXPECT_NE(run_cli("ablate --data " + q(dir("notrun")) + " --out " + q(dir("x5")), &out), 0);
  EXPECT_NE(out.find("Subject1.h5"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(dir("x5")));
  EXPECT_NE(run_cli("ablate --data " + q(data()) + " --out " + q(dir("x6")) + " --subjects 1,x", &out), 0);
  EXPECT_NE(out.find("--subjects"), std::string::npos) << out;
  EXPECT_NE(run_cli("maps --run " + q(run()) + " --method pca --out " + q(dir("x7")), &out), 0);
  // More held-out classes than the data can spare: refused when the first cell sees the data,
  // before that cell (or the grid's folder) holds anything.
  EXPECT_NE(run_cli("ablate -q --data " + q(data()) + " --out " + q(dir("x8")) + " --val-classes 200", &out), 0);
  EXPECT_NE(out.find("--val-classes"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(dir("x8"))) << "left " << dir("x8");
}
