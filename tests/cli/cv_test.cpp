// `brainsem data import`, `brainsem cv` and `train`/`eval --class-embeddings`, run as a user would:
// plain files in, a dataset out, cross-validated decoding far above its permutation null, and bad
// input refused with a message and no output.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "brainsem/data/class_embeddings.h"
#include "brainsem/io/npy.h"
#include "testing/paths.h"

namespace fs = std::filesystem;
using brainsem::testing::run_cli;
using namespace brainsem;

namespace {

std::string q(const fs::path& p) { return "'" + p.string() + "'"; }

void write_lines(const fs::path& p, const std::vector<std::string>& lines) {
  std::ofstream f(p);
  for (const auto& l : lines) f << l << "\n";
}

// `per` samples of each of C classes; voxels = W e_class + noise; ROIs V1 (10), V2 (8), LOC (7).
// Classes >= test_from go to the test split. Writes x.npy, rois.txt, classes.txt, split.txt and
// the class-embedding table emb.safetensors.
void write_dataset(const fs::path& dir, int64_t classes, int64_t per, int64_t test_from) {
  torch::manual_seed(4);
  const int64_t e = 12, v = 25, n = classes * per;
  auto emb = torch::randn({classes, e});
  auto w = torch::randn({v, e});
  auto x = torch::randn({n, v}) * 0.3;
  std::vector<std::string> cls, split, rois, names;
  for (int64_t i = 0; i < n; ++i) {
    int64_t c = i % classes;
    x[i] += w.matmul(emb[c]);
    cls.push_back("class" + std::to_string(c));
    split.push_back(c >= test_from ? "test" : "train");
  }
  for (int64_t j = 0; j < v; ++j) rois.push_back(j < 10 ? "V1" : j < 18 ? "V2" : "LOC");
  io::write_npy(dir / "x.npy", x.to(torch::kFloat64));
  write_lines(dir / "rois.txt", rois);
  write_lines(dir / "classes.txt", cls);
  write_lines(dir / "split.txt", split);
  data::ClassEmbeddings t;
  t.embeddings = emb;
  for (int64_t c = 0; c < classes; ++c) t.classes.push_back("class" + std::to_string(c));
  t.encoder = "test:random";
  data::write_class_embeddings(dir / "emb.safetensors", t);
  t.embeddings = emb.narrow(0, 0, classes - 1);
  t.classes.pop_back();
  data::write_class_embeddings(dir / "emb_missing.safetensors", t);
}

const std::string kTiny =
    " --encoder vit --init random --depth 1 --width 32 --heads 2 --mlp 64 --batch 16 --lr 3e-3 --temperature 0.1 -q";

}  // namespace

TEST(CliCv, ImportThenCrossValidateRidgeWithRoiSubsets) {
  brainsem::testing::TempDir dir;
  write_dataset(dir.path(), 20, 1, 1000);
  std::string out;
  ASSERT_EQ(run_cli("data import --x " + q(dir / "x.npy") + " --rois " + q(dir / "rois.txt") + " --classes " +
                        q(dir / "classes.txt") + " --out " + q(dir / "d.safetensors"),
                    &out),
            0)
      << out;
  EXPECT_NE(out.find("V1=10 V2=8 LOC=7"), std::string::npos) << out;
  ASSERT_EQ(run_cli("cv --dataset " + q(dir / "d.safetensors") + " --class-embeddings " + q(dir / "emb.safetensors") +
                        " --methods ridge --permutations 100 --rois V1,V2+LOC --json " + q(dir / "cv.json") + " -q",
                    &out),
            0)
      << out;
  EXPECT_NE(out.find("V2+LOC"), std::string::npos) << out;
  std::ifstream f(dir / "cv.json");
  auto j = nlohmann::json::parse(f);
  ASSERT_EQ(j["results"].size(), 3u);
  EXPECT_EQ(j["classes"].size(), 20u);
  for (const auto& r : j["results"]) {
    EXPECT_EQ(r["method"], "ridge");
    EXPECT_EQ(r["observed"]["folds"], 190);
    EXPECT_GT(r["observed"]["two_afc"].get<double>(), 0.85) << r["rois"];
    EXPECT_LT(r["p_two_afc"].get<double>(), 0.05) << r["rois"];
    EXPECT_NEAR(r["null_mean_two_afc"].get<double>(), 0.5, 0.06) << r["rois"];
    EXPECT_EQ(r["null_two_afc"].size(), 100u);
  }
  EXPECT_EQ(j["results"][2]["rois"], "V2+LOC");
}

TEST(CliCv, BrainSemFoldsRunFromTheCommandLine) {
  brainsem::testing::TempDir dir;
  write_dataset(dir.path(), 8, 2, 1000);
  std::string out;
  ASSERT_EQ(run_cli("data import --x " + q(dir / "x.npy") + " --rois " + q(dir / "rois.txt") + " --classes " +
                        q(dir / "classes.txt") + " --out " + q(dir / "d.safetensors"),
                    &out),
            0)
      << out;
  ASSERT_EQ(run_cli("cv --dataset " + q(dir / "d.safetensors") + " --class-embeddings " + q(dir / "emb.safetensors") +
                        " --max-splits 3 --permutations 10 --brainsem-permutations 1 --steps 20 --json " +
                        q(dir / "cv.json") + kTiny,
                    &out),
            0)
      << out;
  std::ifstream f(dir / "cv.json");
  auto j = nlohmann::json::parse(f);
  ASSERT_EQ(j["results"].size(), 2u);
  EXPECT_EQ(j["results"][1]["method"], "brainsem");
  EXPECT_EQ(j["results"][1]["observed"]["folds"], 3);
  EXPECT_EQ(j["results"][1]["permutations"], 1);
  // Both methods scored the same folds.
  EXPECT_EQ(j["results"][0]["folds"][2]["heldout"], j["results"][1]["folds"][2]["heldout"]);
}

TEST(CliCv, TrainAndEvalAcceptAnImportedDatasetWithClassEmbeddings) {
  brainsem::testing::TempDir dir;
  write_dataset(dir.path(), 20, 2, 15);  // classes 15..19 are the zero-shot test classes
  std::string out;
  ASSERT_EQ(
      run_cli("data import --x " + q(dir / "x.npy") + " --rois " + q(dir / "rois.txt") + " --classes " +
                  q(dir / "classes.txt") + " --split " + q(dir / "split.txt") + " --out " + q(dir / "d.safetensors"),
              &out),
      0)
      << out;
  ASSERT_EQ(
      run_cli("train --subject " + q(dir / "d.safetensors") + " --class-embeddings " + q(dir / "emb.safetensors") +
                  " --steps 30 --no-library --val-classes 5 --out " + q(dir / "run") + kTiny,
              &out),
      0)
      << out;
  std::ifstream f(dir / "run" / "results.json");
  auto j = nlohmann::json::parse(f);
  EXPECT_EQ(j["scores"][0]["classes"], 5);
  EXPECT_EQ(j["scores"][0]["n"], 10);
  ASSERT_EQ(run_cli("eval --run " + q(dir / "run") + " --baselines -q", &out), 0) << out;
  EXPECT_NE(out.find("ridge"), std::string::npos) << out;
  // BraVL's protocol trains its SVC on test-class library images, which this run has none of.
  EXPECT_EQ(run_cli("eval --run " + q(dir / "run") + " --protocol bravl -q --json " + q(dir / "bravl.json"), &out), 1);
  EXPECT_NE(out.find("pass --library-test"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(dir / "bravl.json"));
}

TEST(CliCv, BadInputFailsWithAMessageAndNoOutput) {
  brainsem::testing::TempDir dir;
  write_dataset(dir.path(), 6, 1, 1000);
  std::string out;
  write_lines(dir / "classes5.txt", {"a", "b", "c", "d", "e"});
  EXPECT_EQ(run_cli("data import --x " + q(dir / "x.npy") + " --rois " + q(dir / "rois.txt") + " --classes " +
                        q(dir / "classes5.txt") + " --out " + q(dir / "bad.safetensors"),
                    &out),
            1);
  EXPECT_NE(out.find("5 class names but"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(dir / "bad.safetensors"));
  // An output that is an input is refused before anything is written.
  const auto npy_size = fs::file_size(dir / "x.npy");
  EXPECT_EQ(run_cli("data import --x " + q(dir / "x.npy") + " --rois " + q(dir / "rois.txt") + " --classes " +
                        q(dir / "classes.txt") + " --out " + q(dir / "x.npy"),
                    &out),
            1);
  EXPECT_NE(out.find("is also an input"), std::string::npos) << out;
  EXPECT_EQ(fs::file_size(dir / "x.npy"), npy_size);
  ASSERT_EQ(run_cli("data import --x " + q(dir / "x.npy") + " --rois " + q(dir / "rois.txt") + " --classes " +
                        q(dir / "classes.txt") + " --out " + q(dir / "d.safetensors"),
                    &out),
            0)
      << out;
  EXPECT_EQ(run_cli("cv --dataset " + q(dir / "d.safetensors") + " --class-embeddings " +
                        q(dir / "emb_missing.safetensors") + " --methods ridge --json " + q(dir / "cv.json"),
                    &out),
            1);
  EXPECT_NE(out.find("class 'class5' has no embedding"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(dir / "cv.json"));
  EXPECT_EQ(run_cli("cv --dataset " + q(dir / "d.safetensors") + " --class-embeddings " + q(dir / "emb.safetensors") +
                        " --methods ridge --rois V7 --json " + q(dir / "cv.json"),
                    &out),
            1);
  EXPECT_NE(out.find("ROI 'V7' is not in the dataset"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(dir / "cv.json"));
}
