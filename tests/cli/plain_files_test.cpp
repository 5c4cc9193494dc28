// The plain-file commands as a user runs them: features import/export, the threads option of
// `info`, and the next step named when a dataset has no test split.
#include <gtest/gtest.h>

#include <fstream>

#include "brainsem/data/feature_store.h"
#include "brainsem/io/npy.h"
#include "brainsem/core/atomic_file.h"
#include "testing/paths.h"

namespace fs = std::filesystem;
using brainsem::testing::run_cli;
using namespace brainsem;

namespace {
std::string q(const fs::path& p) { return "'" + p.string() + "'"; }
}  // namespace

TEST(CliPlainFiles, FeaturesImportThenExportGivesBackTheMatrix) {
  brainsem::testing::TempDir dir;
  io::write_npy(dir / "f.npy", torch::arange(6, torch::kFloat64).view({3, 2}) / 4);
  brainsem::core::write_text_atomically(dir / "names.txt", "a\nb\nc\n");
  brainsem::core::write_text_atomically(dir / "classes.txt", "x\ny\nx\n");
  std::string out;
  const std::string import_args = "features import --x " + q(dir / "f.npy") + " --names " + q(dir / "names.txt") +
                                  " --classes " + q(dir / "classes.txt") + " --encoder test-model --out " +
                                  q(dir / "s.safetensors");
  ASSERT_EQ(run_cli(import_args, &out), 0) << out;
  EXPECT_NE(out.find("imported 3 features of dimension 2 (2 classes)"), std::string::npos) << out;
  EXPECT_EQ(data::FeatureStore::open(dir / "s.safetensors").encoder, "test-model");
  // The same command again: the output exists and is refused, unchanged.
  EXPECT_NE(run_cli(import_args, &out), 0);
  EXPECT_NE(out.find("exists"), std::string::npos) << out;

  ASSERT_EQ(run_cli("features export " + q(dir / "s.safetensors") + " --out " + q(dir / "npy"), &out), 0) << out;
  EXPECT_TRUE(
      torch::equal(io::read_npy(dir / "npy" / "features.npy"), (torch::arange(6, torch::kFloat32).view({3, 2}) / 4)));
  // A class-embedding export of a feature store is refused with what the file is.
  EXPECT_NE(run_cli("class-embeddings export " + q(dir / "s.safetensors") + " --out " + q(dir / "o2"), &out), 0);
  EXPECT_NE(out.find("holds format 'brainsem.features.v1'"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(dir / "o2"));
}

TEST(CliPlainFiles, InfoTakesTheThreadsOptionAndShowsWhatARunUses) {
  std::string out;
  ASSERT_EQ(run_cli("info --threads 2", &out), 0) << out;
  EXPECT_NE(out.find("threads 2 "), std::string::npos) << out;
  ASSERT_EQ(run_cli("info --threads 1", &out), 0) << out;
  EXPECT_NE(out.find("threads 1 "), std::string::npos) << out;
}

TEST(CliPlainFiles, TrainingWithoutATestSplitNamesSplitAndCv) {
  brainsem::testing::TempDir dir;
  brainsem::core::write_text_atomically(dir / "x.csv", "1,2\n3,4\n5,6\n7,9\n");
  brainsem::core::write_text_atomically(dir / "rois.txt", "A\nB\n");
  brainsem::core::write_text_atomically(dir / "classes.txt", "p\nq\nr\ns\n");
  brainsem::core::write_text_atomically(dir / "e.csv", "1,0\n0,1\n1,1\n1,-1\n");
  brainsem::core::write_text_atomically(dir / "c.txt", "p\nq\nr\ns\n");
  std::string out;
  ASSERT_EQ(run_cli("data import --x " + q(dir / "x.csv") + " --rois " + q(dir / "rois.txt") + " --classes " +
                        q(dir / "classes.txt") + " --out " + q(dir / "d.safetensors"),
                    &out),
            0)
      << out;
  ASSERT_EQ(run_cli("class-embeddings import --x " + q(dir / "e.csv") + " --classes " + q(dir / "c.txt") + " --out " +
                        q(dir / "e.safetensors"),
                    &out),
            0)
      << out;
  EXPECT_NE(run_cli("train -q --subject " + q(dir / "d.safetensors") + " --class-embeddings " +
                        q(dir / "e.safetensors") + " --out " + q(dir / "run"),
                    &out),
            0);
  EXPECT_NE(out.find("found 0; give `brainsem data import` a --split file"), std::string::npos) << out;
  EXPECT_NE(out.find("`brainsem cv`"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(dir / "run" / "results.json"));
}
