// The run directory's files through their one reader and writer (experiment/run_dir.h): round
// trips, the format and version they carry, files written before formats were recorded, and the
// states `brainsem train` accepts a directory in.
#include "brainsem/experiment/run_dir.h"

#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <string>

#include "brainsem/core/atomic_file.h"
#include "brainsem/core/error.h"
#include "brainsem/train/checkpoint.h"
#include "testing/errors.h"
#include "testing/paths.h"

using namespace brainsem;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {
using brainsem::testing::error_of;
void write_file(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}
}  // namespace

TEST(RunDir, ConfigRoundTripsWithItsFormatAndEnumsByName) {
  brainsem::testing::TempDir dir;
  train::TrainConfig c;
  c.steps = 17;
  c.virtual_mode = model::VirtualMode::released;
  c.normalize = data::Normalize::none;
  c.encoder.kind = "vit";
  experiment::write_run_config(dir.path(), c);
  const json doc = json::parse(core::read_text_file(dir / experiment::kRunConfigFile));
  EXPECT_EQ(doc.at("format"), train::kTrainConfigFormat);
  EXPECT_EQ(doc.at("version"), train::kTrainConfigVersion);
  EXPECT_EQ(doc.at("virtual_mode"), "released");
  EXPECT_EQ(doc.at("normalize"), "none");
  const auto back = experiment::read_run_config(dir.path());
  json a, b;
  train::to_json(a, c);
  train::to_json(b, back);
  EXPECT_EQ(a, b);
  EXPECT_EQ(experiment::read_run_config_fields(dir.path()), a);  // format keys removed
}

TEST(RunDir, ConfigWithoutFormatIsReadAndNewerOrUnknownValuesAreRefused) {
  brainsem::testing::TempDir dir;
  json fields;
  train::to_json(fields, train::TrainConfig{});
  fields["steps"] = 5;
  write_file(dir / "config.json", fields.dump());
  EXPECT_EQ(experiment::read_run_config(dir.path()).steps, 5);

  json newer = fields;
  newer["format"] = train::kTrainConfigFormat;
  newer["version"] = train::kTrainConfigVersion + 1;
  write_file(dir / "config.json", newer.dump());
  const auto msg = error_of([&] { experiment::read_run_config(dir.path()); });
  EXPECT_NE(msg.find("config.json"), std::string::npos) << msg;
  EXPECT_NE(msg.find("newer"), std::string::npos) << msg;

  json bad = fields;
  bad["virtual_mode"] = "mixup";
  write_file(dir / "config.json", bad.dump());
  const auto unknown = error_of([&] { experiment::read_run_config(dir.path()); });
  EXPECT_NE(unknown.find("config.json"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("mixup"), std::string::npos) << unknown;
}

TEST(RunDir, AWholeConfigDocumentIsAValidOverrideFile) {
  // `brainsem ablate --config RUN/config.json` (the demo does this): the format keys are accepted.
  train::TrainConfig c;
  c.batch = 64;
  train::TrainConfig d;
  train::apply_overrides(d, train::train_config_document(c), "RUN/config.json");
  EXPECT_EQ(d.batch, 64);
  json typo{{"format", "brainsem.run_results"}, {"version", 1}};
  EXPECT_NE(error_of([&] { train::apply_overrides(d, typo, "x.json"); }).find("brainsem.run_results"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              train::apply_overrides(d, json{{"normalize", "zscor"}}, "x.json");
            }).find("x.json"),
            std::string::npos);
}

TEST(RunDir, InputsAndResultsRoundTrip) {
  brainsem::testing::TempDir dir;
  experiment::StudyInputs in;
  in.subject = "/data/Subject3.h5";
  in.stimuli = "/data/stimuli.safetensors";
  in.subject_index = 2;
  experiment::write_run_inputs(dir.path(), in);
  const auto in2 = experiment::read_run_inputs(dir.path());
  EXPECT_EQ(in2.to_json(), in.to_json());
  EXPECT_EQ(json::parse(core::read_text_file(dir / "inputs.json")).at("format"), experiment::kRunInputsFormat);

  experiment::RunResults r;
  r.subject = in.subject.string();
  r.best_step = 40;
  r.steps = 50;
  r.parameters = 1234;
  r.train_seconds = 2.5;
  experiment::MethodScore m;
  m.method = "ridge";
  m.prototype = "stimulus";
  m.n = 3;
  m.classes = 3;
  m.top1 = 1.0 / 3;
  m.top5 = 1;
  m.ranks = {1, 2, 3};
  m.ci_top1 = {m.top1, 0.0, 1.0, 0.95};
  m.note = "alpha 10";
  r.scores = {m};
  experiment::write_run_results(dir.path(), r);
  const auto r2 = experiment::read_run_results(dir.path());
  EXPECT_EQ(r2.best_step, 40);
  EXPECT_EQ(r2.steps, 50);
  EXPECT_EQ(r2.parameters, 1234);
  EXPECT_DOUBLE_EQ(r2.train_seconds, 2.5);
  ASSERT_NE(r2.find("ridge", "stimulus"), nullptr);
  EXPECT_EQ(r2.find("brainsem", "stimulus"), nullptr);
  EXPECT_EQ(r2.find("ridge", "stimulus")->ranks, m.ranks);
  EXPECT_DOUBLE_EQ(r2.find("ridge", "stimulus")->top1, m.top1);
  EXPECT_EQ(r2.find("ridge", "stimulus")->note, "alpha 10");

  write_file(dir / "results.json", R"({"scores": []})");
  EXPECT_NE(error_of([&] { experiment::read_run_results(dir.path()); }).find("holds no scores"), std::string::npos);
  write_file(dir / "results.json", R"({"scores": [{"method": "x"}]})");
  EXPECT_NE(error_of([&] { experiment::read_run_results(dir.path()); }).find("not a results file"), std::string::npos);
}

TEST(RunDir, PrepareAcceptsFreshUnstartedAndResumableDirectoriesOnly) {
  brainsem::testing::TempDir dir;
  const fs::path run = dir / "run";
  EXPECT_FALSE(experiment::prepare_run_directory(run, false, false));  // does not exist yet
  write_file(run / "config.json", "{}");
  write_file(run / "inputs.json", "{}");
  EXPECT_EQ(experiment::run_directory_state(run), experiment::RunDirState::unstarted);
  EXPECT_FALSE(experiment::prepare_run_directory(run, true, false));  // nothing to resume: cleared
  EXPECT_FALSE(fs::exists(run / "config.json"));

  write_file(run / train::kCheckpointFile, "");
  EXPECT_EQ(experiment::run_directory_state(run), experiment::RunDirState::started);
  EXPECT_NE(error_of([&] { experiment::prepare_run_directory(run, false, false); }).find("--resume"),
            std::string::npos);
  EXPECT_TRUE(experiment::prepare_run_directory(run, true, false));

  const fs::path other = dir / "other";
  write_file(other / "notes.txt", "mine");
  EXPECT_NE(error_of([&] { experiment::prepare_run_directory(other, false, false); }).find("did not write"),
            std::string::npos);
  EXPECT_NE(error_of([&] { experiment::prepare_run_directory(other, true, false); }).find("does not exist"),
            std::string::npos);
  EXPECT_TRUE(fs::exists(other / "notes.txt"));
}
