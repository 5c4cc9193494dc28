// `brainsem synth` as a user runs it: success writes the documented files; bad options fail
// with a message and leave nothing behind.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "testing/paths.h"

namespace fs = std::filesystem;
using brainsem::testing::run_cli;

TEST(CliSynth, WritesTheDatasetAndManifest) {
  brainsem::testing::TempDir tmp;
  std::string out;
  const fs::path dir = tmp / "ds";
  ASSERT_EQ(
      run_cli("synth --out '" + dir.string() + "' --subjects 1 --seed 9 --library-per-class 2 --write-truth -q", &out),
      0)
      << out;
  for (const char* f :
       {"Subject1.h5", "stimuli.safetensors", "library_train.safetensors", "library_test.safetensors",
        "truth.safetensors", "synth.json", "stimulus_ImageNetTraining.tsv", "stimulus_ImageNetTest.tsv"})
    EXPECT_TRUE(fs::exists(dir / f)) << f;
  EXPECT_FALSE(fs::exists(dir / "Subject2.h5"));
  std::ifstream in(dir / "synth.json");
  auto m = nlohmann::json::parse(in);
  EXPECT_EQ(m["seed"], 9);
  EXPECT_EQ(m["config"]["library_per_class"], 2);
  EXPECT_EQ(m["subjects"].size(), 1u);
  EXPECT_EQ(m["subjects"][0]["samples"]["test"], 1750);
  // Only the output directory was created beside it (no temporaries).
  EXPECT_EQ(std::distance(fs::directory_iterator(tmp.path()), fs::directory_iterator()), 1);
}

TEST(CliSynth, BadOptionsFailCleanly) {
  brainsem::testing::TempDir tmp;
  std::string out;
  EXPECT_NE(run_cli("synth --out '" + (tmp / "a").string() + "' --subjects 0", &out), 0);
  EXPECT_NE(out.find("subjects"), std::string::npos) << out;
  EXPECT_NE(run_cli("synth --out '" + (tmp / "b").string() + "' --library-per-class 5000", &out), 0);
  EXPECT_NE(out.find("library_per_class"), std::string::npos) << out;
  EXPECT_NE(run_cli("synth --subjects 1", &out), 0);  // no --out
  // An existing non-empty directory is refused and left as it was.
  fs::create_directories(tmp / "full");
  std::ofstream(tmp / "full" / "keep.txt") << "x";
  EXPECT_NE(run_cli("synth --out '" + (tmp / "full").string() + "' --subjects 1 -q", &out), 0);
  EXPECT_NE(out.find("not empty"), std::string::npos) << out;
  EXPECT_EQ(std::distance(fs::directory_iterator(tmp / "full"), fs::directory_iterator()), 1);
  // A parent that does not exist, and one that is not writable.
  EXPECT_NE(run_cli("synth --out '" + (tmp / "no" / "such" / "dir").string() + "' --subjects 1 -q", &out), 0);
  EXPECT_NE(out.find("does not exist"), std::string::npos) << out;
  if (geteuid() != 0) {  // root can write anywhere
    fs::create_directories(tmp / "ro");
    fs::permissions(tmp / "ro", fs::perms::owner_read | fs::perms::owner_exec);
    EXPECT_NE(run_cli("synth --out '" + (tmp / "ro" / "x").string() + "' --subjects 1 -q", &out), 0);
    fs::permissions(tmp / "ro", fs::perms::owner_all);
  }
  EXPECT_NE(run_cli("synth --out /proc/brainsem-synth-test --subjects 1 -q", &out), 0);
  // Nothing but the directories made above.
  std::set<std::string> left;
  for (const auto& e : fs::directory_iterator(tmp.path())) left.insert(e.path().filename().string());
  std::set<std::string> expected{"full"};
  if (geteuid() != 0) expected.insert("ro");
  EXPECT_EQ(left, expected);
}

TEST(CliSynth, ConfigFileSetsKnobsAndUnknownKeysAreRefused) {
  brainsem::testing::TempDir tmp;
  std::string out;
  std::ofstream(tmp / "bad.json") << R"({"subjets": 2})";
  EXPECT_NE(run_cli("synth --out '" + (tmp / "x").string() + "' --config '" + (tmp / "bad.json").string() + "'", &out),
            0);
  EXPECT_NE(out.find("unknown key 'subjets'"), std::string::npos) << out;
  std::ofstream(tmp / "ok.json") << R"({"subjects": 1, "library_per_class": 1, "imagery": false})";
  ASSERT_EQ(
      run_cli("synth --out '" + (tmp / "y").string() + "' --config '" + (tmp / "ok.json").string() + "' -q", &out), 0)
      << out;
  EXPECT_FALSE(fs::exists(tmp / "y" / "category_GODImagery.tsv"));
  EXPECT_FALSE(fs::exists(tmp / "x"));
}
