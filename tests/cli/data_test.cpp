// `brainsem data inspect` and `brainsem data export`, run as a user would.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <limits>

#include "brainsem/data/subject.h"
#include "brainsem/io/bdata.h"
#include "brainsem/io/safetensors.h"
#include "testing/paths.h"

namespace fs = std::filesystem;
using brainsem::testing::run_cli;

namespace {

std::string fixture() { return (brainsem::testing::shared_dir() / "god/synthetic_god_like_Subject.h5").string(); }

std::string q(const fs::path& p) { return "'" + p.string() + "'"; }

// Bad inputs: each command must fail, name the file and the problem, and leave no output.
struct BadCase {
  std::string file_name, problem, extra_args;
};

}  // namespace

TEST(CliData, InspectReportsSplitsRoisAndStimuli) {
  BRAINSEM_REQUIRE_SHARED("god/synthetic_god_like_Subject.h5");
  std::string out;
  ASSERT_EQ(run_cli("data inspect --json '" + fixture() + "'", &out), 0) << out;
  auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["samples"], 3450);
  EXPECT_EQ(j["columns"], 61);
  EXPECT_EQ(j["keys"].size(), 21u);
  EXPECT_EQ(j["samples_per_split"]["train"], 1200);
  EXPECT_EQ(j["samples_per_split"]["test"], 1750);
  EXPECT_EQ(j["samples_per_split"]["imagery"], 500);
  EXPECT_EQ(j["unique_stimuli_per_split"]["train"], 1200);
  EXPECT_EQ(j["unique_stimuli_per_split"]["test"], 50);
  EXPECT_EQ(j["unique_stimuli_per_split"]["imagery"], 50);
  const std::vector<std::pair<std::string, int>> rois = {{"V1", 12}, {"V2", 10}, {"V3", 9},   {"V4", 7},   {"LOC", 6},
                                                         {"FFA", 5}, {"PPA", 4}, {"LVC", 38}, {"HVC", 17}, {"VC", 55}};
  ASSERT_EQ(j["roi_order"].size(), rois.size());
  for (size_t i = 0; i < rois.size(); ++i) {
    EXPECT_EQ(j["roi_order"][i], rois[i].first);
    EXPECT_EQ(j["voxels_per_roi"][rois[i].first], rois[i].second) << rois[i].first;
  }
  EXPECT_EQ(j["P"], 12);
  EXPECT_EQ(j["test_repeats"]["min"], 35);
  EXPECT_EQ(j["test_repeats"]["max"], 35);
  ASSERT_EQ(run_cli("data inspect '" + fixture() + "'", &out), 0) << out;
  EXPECT_NE(out.find("train"), std::string::npos);
  EXPECT_NE(out.find("1750"), std::string::npos);
  EXPECT_NE(out.find("P = 12"), std::string::npos) << out;
}

TEST(CliData, ExportWritesExactlyFourTensorsThatLoadBack) {
  BRAINSEM_REQUIRE_SHARED("god/synthetic_god_like_Subject.h5");
  brainsem::testing::TempDir dir;
  std::string out;
  ASSERT_EQ(run_cli("data export '" + fixture() + "' --out " + q(dir / "s.safetensors"), &out), 0) << out;
  brainsem::io::SafetensorsFile f(dir / "s.safetensors");
  EXPECT_EQ(f.names(), (std::vector<std::string>{"train_x", "train_stimulus_id", "test_x", "test_stimulus_id"}));
  EXPECT_EQ(f.info("train_x").shape, (std::vector<int64_t>{1200, 7, 12}));
  EXPECT_EQ(f.info("train_x").dtype, "F32");
  EXPECT_EQ(f.info("test_x").shape, (std::vector<int64_t>{50, 7, 12}));
  EXPECT_EQ(f.info("test_stimulus_id").dtype, "F64");
  EXPECT_EQ(f.metadata_at("normalize"), "none");
  auto direct = brainsem::data::load_subject(fixture());
  EXPECT_TRUE(torch::equal(f.tensor("test_x"), direct.test_x));
  EXPECT_TRUE(torch::equal(f.tensor("train_stimulus_id"), direct.train_stimulus_id));

  ASSERT_EQ(run_cli("data export '" + fixture() + "' --normalize zscore --out " + q(dir / "z.safetensors"), &out), 0)
      << out;
  brainsem::io::SafetensorsFile z(dir / "z.safetensors");
  EXPECT_EQ(z.metadata_at("normalize"), "zscore");
  auto zx = z.tensor("train_x").select(1, 0).select(1, 0).to(torch::kFloat64);  // V1 voxel 0
  EXPECT_NEAR(zx.mean().item<double>(), 0.0, 1e-5);
  EXPECT_NEAR(zx.std().item<double>(), 1.0, 1e-5);
  EXPECT_NE(run_cli("data export '" + fixture() + "' --normalize minmax --out " + q(dir / "m.safetensors"), &out), 0);
  EXPECT_FALSE(fs::exists(dir / "m.safetensors"));
}

TEST(CliData, ExportRefusesToOverwriteItsInputOrAnExistingFileWithoutForce) {
  BRAINSEM_REQUIRE_SHARED("god/synthetic_god_like_Subject.h5");
  brainsem::testing::TempDir dir;
  fs::copy_file(fixture(), dir / "S.h5");
  const auto size = fs::file_size(dir / "S.h5");
  std::string out;
  EXPECT_EQ(run_cli("data export " + q(dir / "S.h5") + " --out " + q(dir / "S.h5"), &out), 1);
  EXPECT_NE(out.find("is also an input"), std::string::npos) << out;
  EXPECT_EQ(fs::file_size(dir / "S.h5"), size);
  // The same file by another name is the same file.
  fs::create_symlink(dir / "S.h5", dir / "link.h5");
  EXPECT_EQ(run_cli("data export " + q(dir / "S.h5") + " --out " + q(dir / "link.h5"), &out), 1);
  EXPECT_EQ(fs::file_size(dir / "S.h5"), size);

  ASSERT_EQ(run_cli("data export " + q(dir / "S.h5") + " --out " + q(dir / "s.safetensors"), &out), 0) << out;
  EXPECT_EQ(run_cli("data export " + q(dir / "S.h5") + " --normalize zscore --out " + q(dir / "s.safetensors"), &out),
            1);
  EXPECT_NE(out.find("already exists; pass --force"), std::string::npos) << out;
  EXPECT_EQ(brainsem::io::SafetensorsFile(dir / "s.safetensors").metadata_at("normalize"), "none");
  ASSERT_EQ(
      run_cli("data export " + q(dir / "S.h5") + " --normalize zscore --force --out " + q(dir / "s.safetensors"), &out),
      0)
      << out;
  EXPECT_EQ(brainsem::io::SafetensorsFile(dir / "s.safetensors").metadata_at("normalize"), "zscore");
}

TEST(CliData, BadInputsFailNamingFileAndProblemAndLeaveNoOutput) {
  BRAINSEM_REQUIRE_SHARED("god/synthetic_god_like_Subject.h5");
  brainsem::testing::TempDir dir;
  auto a = brainsem::io::read_bdata(fixture());
  std::ofstream(dir / "text.h5") << "this is not HDF5\n";
  {
    brainsem::io::BData noroi;
    noroi.dataset = a.dataset;
    std::vector<int64_t> keep;
    for (size_t k = 0; k < a.keys.size(); ++k)
      if (a.keys[k].rfind("ROI_", 0) != 0) {
        keep.push_back(static_cast<int64_t>(k));
        noroi.keys.push_back(a.keys[k]);
        noroi.descriptions.push_back(a.descriptions[k]);
      }
    noroi.values = a.values.index_select(0, torch::tensor(keep, torch::kInt64));
    brainsem::io::write_bdata(dir / "noroi.h5", noroi);
    auto nan = a;
    nan.dataset = a.dataset.clone();
    nan.dataset[10][20] = std::numeric_limits<double>::quiet_NaN();  // a training row, V2
    brainsem::io::write_bdata(dir / "nan.h5", nan);
  }
  fs::copy_file(fixture(), dir / "good.h5");
  const std::vector<BadCase> cases = {
      {"absent.h5", "file not found", ""},
      {"text.h5", "not an HDF5 file", ""},
      {"noroi.h5", "no ROI_ keys", ""},
      {"nan.h5", "row 10, column 20 (ROI_V2)", ""},
      {"good.h5", "unknown ROI 'MT'", "--rois V1,MT"},
  };
  auto listing = [&] {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir.path())) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  };
  const auto before = listing();
  for (const auto& c : cases) {
    for (const std::string& cmd : {std::string("data inspect"), std::string("data inspect --json"),
                                   std::string("data export --out ") + q(dir / "out.safetensors")}) {
      std::string out;
      int rc = run_cli(cmd + " " + q(dir / c.file_name) + " " + c.extra_args, &out);
      EXPECT_NE(rc, 0) << cmd << " " << c.file_name;
      EXPECT_NE(out.find(c.file_name), std::string::npos) << cmd << ": " << out;
      EXPECT_NE(out.find(c.problem), std::string::npos) << cmd << ": " << out;
      EXPECT_EQ(out.find("HDF5-DIAG"), std::string::npos) << "HDF5's own error stack leaked: " << out;
      EXPECT_EQ(listing(), before) << cmd << " " << c.file_name << " left a file behind";
    }
  }
}
