// End-to-end tests of `brainsem synth`, `train`, `eval` and `demo` as a user runs them.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "brainsem/core/atomic_file.h"
#include "brainsem/data/class_embeddings.h"
#include "brainsem/data/feature_store.h"
#include "brainsem/eval/stats.h"
#include "brainsem/eval/zero_shot.h"
#include "brainsem/experiment/study.h"
#include "testing/paths.h"

namespace fs = std::filesystem;
using brainsem::testing::run_cli;
using nlohmann::json;

namespace {

// One small synthetic dataset shared by the tests of this file (generated once).
const fs::path& dataset() {
  static brainsem::testing::TempDir* dir = new brainsem::testing::TempDir();
  static fs::path data = [] {
    fs::path d = dir->path() / "data";
    std::string out;
    int rc = run_cli("synth -q --out '" + d.string() + "' --subjects 1 --library-per-class 20 --write-truth", &out);
    EXPECT_EQ(rc, 0) << out;
    return d;
  }();
  return data;
}

std::string study_args(const fs::path& d) {
  return " --subject '" + (d / "Subject1.h5").string() + "' --stimuli '" + (d / "stimuli.safetensors").string() +
         "' --library '" + (d / "library_train.safetensors").string() + "' --library-test '" +
         (d / "library_test.safetensors").string() + "'";
}

}  // namespace

TEST(CliTrain, LearnsFarAboveChanceAndEvalReproducesTheScore) {
  brainsem::testing::TempDir tmp;
  std::string out;
  int rc = run_cli("train -q" + study_args(dataset()) + " --steps 120 --seed 1 --out '" + (tmp / "run").string() + "'",
                   &out);
  ASSERT_EQ(rc, 0) << out;
  auto results = json::parse(brainsem::core::read_text_file(tmp / "run/results.json"));
  const auto& s = results["scores"][0];
  EXPECT_EQ(s["method"], "brainsem");
  EXPECT_EQ(s["n"], 50);
  int hits = static_cast<int>(s["top1"].get<double>() * 50 + 0.5);
  // Zero-shot over 50 unseen classes: chance is 2%; demand p < 1e-3 (exact binomial).
  EXPECT_LT(brainsem::eval::binomial_upper_tail(hits, 50, 0.02), 1e-3) << "top-1 " << s["top1"];
  for (auto f : {"config.json", "inputs.json", "train_log.jsonl", "checkpoint.safetensors"})
    EXPECT_TRUE(fs::exists(tmp / "run" / f)) << f;
  // Reopening the run gives exactly the same score.
  rc = run_cli("eval -q --run '" + (tmp / "run").string() + "' --json '" + (tmp / "eval.json").string() + "'", &out);
  ASSERT_EQ(rc, 0) << out;
  auto again = json::parse(brainsem::core::read_text_file(tmp / "eval.json"));
  EXPECT_EQ(again["scores"][0]["ranks"], s["ranks"]);
  // BraVL's protocol: an SVC on the 20 library images of each test class classifies the predictions.
  rc = run_cli(
      "eval -q --run '" + (tmp / "run").string() + "' --protocol bravl --json '" + (tmp / "bravl.json").string() + "'",
      &out);
  ASSERT_EQ(rc, 0) << out;
  const auto bravl = json::parse(brainsem::core::read_text_file(tmp / "bravl.json"))["protocols"];
  ASSERT_EQ(bravl.size(), 2u) << bravl.dump();
  EXPECT_EQ(bravl[0]["protocol"], "bravl");
  EXPECT_EQ(bravl[0]["trials"], 50);
  EXPECT_GT(bravl[0]["value"].get<double>(), 0.02) << bravl.dump();    // top-1 above 1 in 50
  EXPECT_LT(bravl[1]["p_value"].get<double>(), 1e-3) << bravl.dump();  // top-5 far above 5 in 50
  EXPECT_LE(bravl[0]["value"].get<double>(), bravl[1]["value"].get<double>());
  // eval adds the permutation null of BrainSem's score and, since the BData file holds the 35
  // repeats of each test image, the split-half noise ceiling.
  const auto& context = again["score_context"];
  ASSERT_TRUE(context.is_object()) << again.dump();
  const auto& perm = context["permutation_null"][0];
  EXPECT_EQ(perm["prototype"], "stimulus");
  EXPECT_NEAR(perm["top1"].get<double>(), s["top1"].get<double>(), 1e-12);
  EXPECT_LT(perm["p_top1"].get<double>(), 1e-2);
  EXPECT_NEAR(perm["null_mean_top1"].get<double>(), 0.02, 0.005);  // 1 / 50 on average
  const auto& ceiling = context["noise_ceiling"];
  ASSERT_TRUE(ceiling.is_object()) << context.dump();
  EXPECT_EQ(ceiling["images"], 50);
  EXPECT_EQ(ceiling["min_repeats"], 35);
  EXPECT_EQ(ceiling["max_repeats"], 35);
  EXPECT_GT(ceiling["top1"].get<double>(), 5 * ceiling["chance_top1"].get<double>());
  EXPECT_LE(ceiling["top1"].get<double>(), ceiling["top5"].get<double>());
  EXPECT_NE(out.find("noise ceiling (split-half"), std::string::npos) << out;
  // --json may not name one of the run's own files or inputs: that once destroyed the checkpoint.
  const auto checkpoint_size = fs::file_size(tmp / "run/checkpoint.safetensors");
  for (const auto& victim :
       {tmp / "run/checkpoint.safetensors", tmp / "run/config.json", dataset() / "stimuli.safetensors"}) {
    EXPECT_EQ(run_cli("eval -q --run '" + (tmp / "run").string() + "' --json '" + victim.string() + "'", &out), 1)
        << victim;
    EXPECT_NE(out.find("is also an input"), std::string::npos) << out;
  }
  EXPECT_EQ(fs::file_size(tmp / "run/checkpoint.safetensors"), checkpoint_size);

  // Text prototypes from a class-embedding table: here the test classes' library means, so the
  // "text" score must equal the "library" score exactly.
  auto lib = brainsem::data::FeatureStore::open(dataset() / "library_test.safetensors");
  brainsem::data::ClassEmbeddings table;
  table.classes = lib.class_list();
  std::vector<torch::Tensor> rows;
  for (const auto& c : table.classes) {
    auto idx = torch::tensor(lib.rows_of_class(c), torch::kInt64);
    rows.push_back(torch::nn::functional::normalize(lib.features.index_select(0, idx),
                                                    torch::nn::functional::NormalizeFuncOptions().dim(1))
                       .mean(0));
  }
  table.embeddings = torch::stack(rows);
  table.encoder = lib.encoder;
  brainsem::data::write_class_embeddings(tmp / "text.safetensors", table);
  rc = run_cli("eval -q --run '" + (tmp / "run").string() + "' --text-prototypes '" +
                   (tmp / "text.safetensors").string() + "' --json '" + (tmp / "eval2.json").string() + "'",
               &out);
  ASSERT_EQ(rc, 0) << out;
  auto withtext = json::parse(brainsem::core::read_text_file(tmp / "eval2.json"));
  json library_score, text_score;
  for (const auto& m : withtext["scores"]) {
    if (m["prototype"] == "library") library_score = m;
    if (m["prototype"] == "text") text_score = m;
  }
  ASSERT_FALSE(text_score.is_null()) << withtext.dump();
  EXPECT_EQ(text_score["ranks"], library_score["ranks"]);
}

TEST(CliTrain, ResumeEqualsUninterrupted) {
  brainsem::testing::TempDir tmp;
  std::string out;
  const std::string common = " -q" + study_args(dataset()) + " --seed 2 --batch 50";
  ASSERT_EQ(run_cli("train" + common + " --steps 20 --out '" + (tmp / "full").string() + "'", &out), 0) << out;
  ASSERT_EQ(run_cli("train" + common + " --steps 10 --out '" + (tmp / "half").string() + "'", &out), 0) << out;
  // What a kill after the last checkpoint leaves: log lines past it (one torn) and a half-written
  // checkpoint temporary of a process that is gone (PIDs above pid_max never run).
  { std::ofstream(tmp / "half/train_log.jsonl", std::ios::app) << "{\"step\": 15, \"loss\": 9}\n{\"step\": 1"; }
  { std::ofstream(tmp / "half/.checkpoint.safetensors.tmp-4194305") << "partial"; }
  ASSERT_EQ(run_cli("train" + common + " --steps 20 --resume --out '" + (tmp / "half").string() + "'", &out), 0) << out;
  auto a = json::parse(brainsem::core::read_text_file(tmp / "full/results.json"));
  auto b = json::parse(brainsem::core::read_text_file(tmp / "half/results.json"));
  EXPECT_EQ(a["scores"], b["scores"]);
  EXPECT_FALSE(fs::exists(tmp / "half/.checkpoint.safetensors.tmp-4194305"));
  // The resumed log is the uninterrupted one's steps, each once and in order.
  auto steps_of = [](const fs::path& log) {
    std::vector<int64_t> steps;
    std::ifstream in(log);
    for (std::string line; std::getline(in, line);) steps.push_back(json::parse(line)["step"].get<int64_t>());
    return steps;
  };
  EXPECT_EQ(steps_of(tmp / "half/train_log.jsonl"), steps_of(tmp / "full/train_log.jsonl"));
  EXPECT_FALSE(steps_of(tmp / "full/train_log.jsonl").empty());

  // A run that stopped before its first checkpoint (config.json and inputs.json only) is started
  // again by a plain rerun and by --resume, instead of refusing both.
  for (const std::string flag : {"", " --resume"}) {
    const fs::path dir = tmp / ("stopped" + std::to_string(flag.size()));
    ASSERT_EQ(run_cli("train" + common + " --steps 20 --out '" + dir.string() + "'", &out), 0) << out;
    fs::remove(dir / "checkpoint.safetensors");
    fs::remove(dir / "results.json");
    fs::remove_all(dir / "selection");  // the default's step-choosing run, done before the final one
    ASSERT_EQ(run_cli("train" + common + " --steps 20" + flag + " --out '" + dir.string() + "'", &out), 0) << out;
    EXPECT_NE(out.find("stopped before its first checkpoint"), std::string::npos) << out;
    EXPECT_EQ(json::parse(brainsem::core::read_text_file(dir / "results.json"))["scores"], a["scores"]);
  }
}

TEST(CliTrain, RetrainAllEqualsAPlainRunForTheChosenSteps) {
  brainsem::testing::TempDir tmp;
  std::string out;
  const std::string common = " -q" + study_args(dataset()) + " --seed 4 --batch 50";
  ASSERT_EQ(run_cli("train" + common + " --steps 40 --val-classes 10 --eval-every 10 --retrain-all --out '" +
                        (tmp / "retrain").string() + "'",
                    &out),
            0)
      << out;
  EXPECT_NE(out.find("on all 150 training classes"), std::string::npos) << out;  // retrained, or refitted at step 0
  auto a = json::parse(brainsem::core::read_text_file(tmp / "retrain/results.json"));
  const auto& sel = a["selection"];
  EXPECT_EQ(sel["val_classes"], 10);
  EXPECT_EQ(sel["retrained_on_all"], true);
  EXPECT_EQ(sel["trained_classes"], 150);
  EXPECT_EQ(sel["training_classes"], 150);
  const int64_t chosen = sel["chosen_steps"].get<int64_t>();
  EXPECT_TRUE(chosen == 0 || chosen == 10 || chosen == 20 || chosen == 30 || chosen == 40) << chosen;
  EXPECT_EQ(a["steps"], chosen);
  EXPECT_EQ(a["best_step"], chosen);
  auto config = json::parse(brainsem::core::read_text_file(tmp / "retrain/config.json"));
  EXPECT_EQ(config["retrain_all"], true);
  EXPECT_EQ(config["val_classes"], 10);
  EXPECT_TRUE(fs::exists(tmp / "retrain/selection/checkpoint.safetensors"));
  // The final model is a plain run on every class for the chosen steps, with the same seed.
  ASSERT_EQ(run_cli("train" + common + " --steps " + std::to_string(chosen) + " --val-classes 0 --out '" +
                        (tmp / "plain").string() + "'",
                    &out),
            0)
      << out;
  auto b = json::parse(brainsem::core::read_text_file(tmp / "plain/results.json"));
  EXPECT_EQ(a["scores"], b["scores"]);
  EXPECT_EQ(b["selection"]["val_classes"], 0);
  EXPECT_EQ(b["selection"]["trained_classes"], 150);
  // `eval` reopens the retrained model, not the selection run's.
  ASSERT_EQ(
      run_cli("eval -q --run '" + (tmp / "retrain").string() + "' --json '" + (tmp / "eval.json").string() + "'", &out),
      0)
      << out;
  auto again = json::parse(brainsem::core::read_text_file(tmp / "eval.json"));
  EXPECT_EQ(again["scores"][0]["ranks"], a["scores"][0]["ranks"]);
}

// `eval --run A,B`: the ensemble's ranks are those of the mean of the two runs' unit-length
// predictions, computed here from the reopened runs; bad member lists are refused without output.
TEST(CliEval, EnsembleOfSeedsRanksTheMeanOfUnitLengthPredictions) {
  brainsem::testing::TempDir tmp;
  std::string out;
  const std::string common = " -q" + study_args(dataset()) + " --init random --val-classes 0 --steps 30 --batch 50";
  for (const auto& [name, flags] : std::vector<std::pair<std::string, std::string>>{
           {"a", " --seed 1"}, {"b", " --seed 2"}, {"raw", " --seed 3 --normalize none"}})
    ASSERT_EQ(run_cli("train" + common + flags + " --out '" + (tmp / name).string() + "'", &out), 0) << out;
  const std::string runs = " --run '" + (tmp / "a").string() + "," + (tmp / "b").string() + "'";
  ASSERT_EQ(run_cli("eval -q" + runs + " --json '" + (tmp / "ens.json").string() + "'", &out), 0) << out;
  const auto ens = json::parse(brainsem::core::read_text_file(tmp / "ens.json"));
  ASSERT_EQ(ens["runs"].size(), 2u) << ens.dump();
  EXPECT_EQ(ens["runs"][1]["run"], (tmp / "b").string());
  EXPECT_EQ(ens["runs"][1]["step"], 30);
  const auto& score = ens["scores"][0];
  EXPECT_EQ(score["method"], "brainsem-ensemble");
  EXPECT_EQ(score["prototype"], "stimulus");

  auto a = brainsem::experiment::open_run(tmp / "a");
  auto b = brainsem::experiment::open_run(tmp / "b");
  auto unit = [](const torch::Tensor& x) { return x.to(torch::kFloat64) / x.to(torch::kFloat64).norm(2, 1, true); };
  auto mean = (unit(a.embed(a.study.subject.test_x)) + unit(b.embed(b.study.subject.test_x))) / 2;  // [50, E]
  const auto prototypes = brainsem::experiment::test_prototypes(a.study);
  ASSERT_EQ(prototypes[0].kind, "stimulus");
  const auto want = brainsem::eval::zero_shot(mean.to(torch::kFloat32), prototypes[0].features, a.study.test_truth);
  EXPECT_EQ(score["ranks"].get<std::vector<int64_t>>(), want.rank);
  // Not a copy of either member: the members' own ranks differ from the ensemble's.
  const auto ranks_a = json::parse(brainsem::core::read_text_file(tmp / "a/results.json"))["scores"][0]["ranks"];
  const auto ranks_b = json::parse(brainsem::core::read_text_file(tmp / "b/results.json"))["scores"][0]["ranks"];
  EXPECT_NE(ranks_a, ranks_b);
  EXPECT_TRUE(score["ranks"] != ranks_a || score["ranks"] != ranks_b);

  // Refused, with no file written: no --json, a run named twice, a member on other test data.
  const auto refused = [&](const std::string& args, const std::string& says) {
    EXPECT_EQ(run_cli("eval -q" + args, &out), 1) << args;
    EXPECT_NE(out.find(says), std::string::npos) << out;
    EXPECT_FALSE(fs::exists(tmp / "bad.json")) << args;
  };
  refused(runs, "needs --json");
  refused(" --run '" + (tmp / "a").string() + "," + (tmp / "a").string() + "/' --json '" + (tmp / "bad.json").string() +
              "'",
          "twice");
  refused(" --run '" + (tmp / "a").string() + "," + (tmp / "raw").string() + "' --json '" +
              (tmp / "bad.json").string() + "'",
          "was not trained on the test set");
}

TEST(CliTrain, SelectionWithoutRetrainingSaysTheModelSawFewerClasses) {
  brainsem::testing::TempDir tmp;
  std::string out;
  ASSERT_EQ(run_cli("train -q" + study_args(dataset()) +
                        " --seed 4 --batch 50 --steps 20 --val-classes 10 --eval-every 10 --no-retrain-all --out '" +
                        (tmp / "run").string() + "'",
                    &out),
            0)
      << out;
  EXPECT_NE(out.find("the final model was trained on 140 of 150 training classes"), std::string::npos) << out;
  auto r = json::parse(brainsem::core::read_text_file(tmp / "run/results.json"));
  EXPECT_EQ(r["selection"]["retrained_on_all"], false);
  EXPECT_EQ(r["selection"]["trained_classes"], 140);
  EXPECT_EQ(r["selection"]["chosen_steps"], r["best_step"]);
  EXPECT_FALSE(fs::exists(tmp / "run/selection"));
  // More held-out classes than leave 5 to train on: refused before any output, naming the fix.
  EXPECT_NE(run_cli("train -q" + study_args(dataset()) + " --steps 5 --val-classes 146 --out '" +
                        (tmp / "bad").string() + "'",
                    &out),
            0);
  EXPECT_NE(out.find("--val-classes K in that range"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(tmp / "bad"));
}

// --init ridge with 0 steps is the ridge baseline itself, item for item: the same alpha, chosen by
// the same class-grouped CV, the map folded into the linear encoder. Fine-tuning then starts there;
// with held-out classes the ridge (step 0) competes with every fine-tuned step, and a resumed run
// equals an uninterrupted one.
TEST(CliTrain, RidgeInitWithZeroStepsIsTheRidgeBaselineAndFineTunesFromThere) {
  brainsem::testing::TempDir tmp;
  std::string out;
  ASSERT_EQ(run_cli("train -q" + study_args(dataset()) + " --init ridge --steps 0 --baselines --out '" +
                        (tmp / "r0").string() + "'",
                    &out),
            0)
      << out;
  auto r0 = json::parse(brainsem::core::read_text_file(tmp / "r0/results.json"));
  const json* brainsem_score = nullptr;
  const json* ridge_score = nullptr;
  for (const auto& m : r0["scores"]) {
    if (m["prototype"] != "stimulus") continue;
    if (m["method"] == "brainsem") brainsem_score = &m;
    if (m["method"] == "ridge") ridge_score = &m;
  }
  ASSERT_TRUE(brainsem_score && ridge_score) << r0.dump();
  EXPECT_EQ((*brainsem_score)["ranks"], (*ridge_score)["ranks"]);
  EXPECT_GT((*ridge_score)["top5"].get<double>(), 0.3);  // a real decoder, not two equal failures
  const auto log0 = brainsem::core::read_text_file(tmp / "r0/train_log.jsonl");
  const auto alpha = (*ridge_score)["details"]["alpha"].get<double>();
  const auto first = json::parse(log0.substr(0, log0.find('\n')));
  EXPECT_EQ(first["init"], "ridge");
  EXPECT_DOUBLE_EQ(first["ridge_alpha"].get<double>(), alpha);

  // Held-out classes: step 0 is validated, so the chosen step may be the ridge itself.
  const std::string tuned = " -q" + study_args(dataset()) +
                            " --init ridge --lr 1e-4 --batch 50 --val-classes 10 --eval-every 10 --no-retrain-all";
  ASSERT_EQ(run_cli("train" + tuned + " --steps 20 --out '" + (tmp / "tuned").string() + "'", &out), 0) << out;
  const auto log = brainsem::core::read_text_file(tmp / "tuned/train_log.jsonl");
  const auto step0 = json::parse(log.substr(0, log.find('\n')));
  EXPECT_EQ(step0["step"], 0);
  EXPECT_TRUE(step0.contains("val_top1")) << step0.dump();
  auto tuned_results = json::parse(brainsem::core::read_text_file(tmp / "tuned/results.json"));
  const int64_t best = tuned_results["selection"]["chosen_steps"].get<int64_t>();
  EXPECT_TRUE(best == 0 || best == 10 || best == 20) << best;
  // Stopped at step 10 and resumed: the same selection and scores as the uninterrupted run.
  ASSERT_EQ(run_cli("train" + tuned + " --steps 10 --out '" + (tmp / "resumed").string() + "'", &out), 0) << out;
  ASSERT_EQ(run_cli("train" + tuned + " --steps 20 --resume --out '" + (tmp / "resumed").string() + "'", &out), 0)
      << out;
  auto resumed = json::parse(brainsem::core::read_text_file(tmp / "resumed/results.json"));
  EXPECT_EQ(resumed["scores"], tuned_results["scores"]);
  EXPECT_EQ(resumed["selection"], tuned_results["selection"]);

  // Only the linear encoder has a ridge map to start from.
  EXPECT_NE(
      run_cli("train -q" + study_args(dataset()) + " --init ridge --encoder mlp --out '" + (tmp / "bad").string() + "'",
              &out),
      0);
  EXPECT_NE(out.find("sets a linear map"), std::string::npos) << out;
  EXPECT_NE(out.find("pass --init random"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(tmp / "bad"));
  EXPECT_NE(run_cli("train -q" + study_args(dataset()) + " --init zeros --out '" + (tmp / "bad").string() + "'", &out),
            0);
  EXPECT_FALSE(fs::exists(tmp / "bad"));
}

// --ridge-targets class-library: the ridge start and the --baselines ridge regress onto each
// class's mean library image. With 0 steps BrainSem is that ridge item for item; the ridge differs
// from the stimulus-target one, and the run records which targets it used.
TEST(CliTrain, ClassLibraryRidgeTargetsReachTheRidgeStartAndTheBaseline) {
  brainsem::testing::TempDir tmp;
  std::string out;
  auto ranks_of = [&](const fs::path& run, const std::string& method) {
    auto r = json::parse(brainsem::core::read_text_file(run / "results.json"));
    for (const auto& m : r["scores"])
      if (m["prototype"] == "stimulus" && m["method"] == method) return m;
    ADD_FAILURE() << "no " << method << " in " << r.dump();
    return json();
  };
  const std::string args = "train -q" + study_args(dataset()) + " --steps 0 --val-classes 0 --baselines";
  ASSERT_EQ(run_cli(args + " --ridge-targets class-library --out '" + (tmp / "class").string() + "'", &out), 0) << out;
  ASSERT_EQ(run_cli(args + " --out '" + (tmp / "stimulus").string() + "'", &out), 0) << out;
  const auto brainsem_class = ranks_of(tmp / "class", "brainsem"), ridge_class = ranks_of(tmp / "class", "ridge");
  EXPECT_EQ(brainsem_class["ranks"], ridge_class["ranks"]);
  EXPECT_EQ(ridge_class["details"]["targets"], "class-library");
  EXPECT_GT(ridge_class["top5"].get<double>(), 0.3);  // a real decoder
  const auto ridge_stimulus = ranks_of(tmp / "stimulus", "ridge");
  EXPECT_EQ(ridge_stimulus["details"]["targets"], "stimulus");
  EXPECT_NE(ridge_class["ranks"], ridge_stimulus["ranks"]);
  auto config = json::parse(brainsem::core::read_text_file(tmp / "class/config.json"));
  EXPECT_EQ(config["ridge_targets"], "class-library") << config.dump();

  // Without a library there is nothing to average: refused before any output.
  const std::string no_library = " --subject '" + (dataset() / "Subject1.h5").string() + "' --stimuli '" +
                                 (dataset() / "stimuli.safetensors").string() + "'";
  EXPECT_NE(run_cli("train -q" + no_library + " --no-library --ridge-targets class-library --out '" +
                        (tmp / "bad").string() + "'",
                    &out),
            0);
  EXPECT_NE(out.find("pass --library FILE or use --ridge-targets stimulus"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(tmp / "bad"));
  EXPECT_NE(run_cli(args + " --ridge-targets class --out '" + (tmp / "bad").string() + "'", &out), 0);
  EXPECT_FALSE(fs::exists(tmp / "bad"));
}

// A full disk, simulated by a file-size limit (RLIMIT_FSIZE, with SIGXFSZ ignored so that a write
// past it fails with EFBIG as on a full disk): the checkpoint cannot be written. The run must say
// which file, exit non-zero, leave no temporary, and a plain rerun once space is back must work.
TEST(CliTrain, FullDiskWhileCheckpointingFailsCleanlyAndARerunWorks) {
  brainsem::testing::TempDir tmp;
  const std::string args = "train -q" + study_args(dataset()) + " --steps 5 --out '" + (tmp / "run").string() + "'";
  const std::string limited = "sh -c \"ulimit -f 3000; trap '' XFSZ; exec '" +
                              brainsem::testing::cli_binary().string() + "' " + args + "\" 2>&1";
  FILE* pipe = popen(limited.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  const int status = pclose(pipe);
  ASSERT_TRUE(WIFEXITED(status)) << out;  // an error exit, not a signal or an abort
  EXPECT_EQ(WEXITSTATUS(status), 1) << out;
  EXPECT_NE(out.find("checkpoint.safetensors\" failed (disk full?)"), std::string::npos) << out;
  EXPECT_EQ(out.find("terminate called"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(tmp / "run/checkpoint.safetensors"));
  EXPECT_FALSE(fs::exists(tmp / "run/results.json"));
  for (const auto& e : fs::directory_iterator(tmp / "run"))
    EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << e.path();
  ASSERT_EQ(run_cli(args, &out), 0) << out;
  EXPECT_TRUE(fs::exists(tmp / "run/results.json"));
}

TEST(CliTrain, PaperRecipeTrainsForEpochsOverTheLibraryWithoutAHead) {
  brainsem::testing::TempDir tmp;
  std::string out;
  // The paper-like recipe shrunk to one block; half an epoch over 150 x 20 library images at batch
  // 200 is ceil(0.5 x 3000 / 200) = 8 steps.
  ASSERT_EQ(run_cli("train -q" + study_args(dataset()) + " --paper --depth 1 --heads 2 --mlp 64 --epochs 0.5 --out '" +
                        (tmp / "run").string() + "'",
                    &out),
            0)
      << out;
  auto config = json::parse(brainsem::core::read_text_file(tmp / "run/config.json"));
  EXPECT_EQ(config["epochs"], 0.5);
  EXPECT_EQ(config["steps"], 8);
  EXPECT_EQ(config["encoder"]["head"], "none");
  auto r = json::parse(brainsem::core::read_text_file(tmp / "run/results.json"));
  EXPECT_EQ(r["steps"], 8);
  // A CLS output narrower than the image features is refused before any output.
  EXPECT_NE(run_cli("train -q" + study_args(dataset()) + " --paper --width 256 --heads 4 --depth 1 --out '" +
                        (tmp / "narrow").string() + "'",
                    &out),
            0);
  EXPECT_NE(out.find("--head linear"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(tmp / "narrow"));
  EXPECT_NE(
      run_cli("train -q" + study_args(dataset()) + " --steps 5 --epochs 1 --out '" + (tmp / "both").string() + "'",
              &out),
      0);
  EXPECT_NE(out.find("not both"), std::string::npos) << out;
}

TEST(CliTrain, BadInputFailsCleanlyWithoutOutput) {
  brainsem::testing::TempDir tmp;
  const fs::path d = dataset();
  std::string out;
  // A stimulus store that lacks the subject's images.
  auto lib = brainsem::data::FeatureStore::open(d / "library_train.safetensors");
  lib.save(tmp / "wrong_stimuli.safetensors");
  int rc =
      run_cli("train -q --subject '" + (d / "Subject1.h5").string() + "' --stimuli '" +
                  (tmp / "wrong_stimuli.safetensors").string() + "' --no-library --out '" + (tmp / "r1").string() + "'",
              &out);
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("not in the feature store"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(tmp / "r1"));
  // A library from another encoder.
  auto other = brainsem::data::FeatureStore::open(d / "library_train.safetensors");
  other.encoder = "openai/ViT-L-14";
  other.features = other.features.clone();
  other.save(tmp / "other.safetensors");
  rc = run_cli("train -q --subject '" + (d / "Subject1.h5").string() + "' --stimuli '" +
                   (d / "stimuli.safetensors").string() + "' --library '" + (tmp / "other.safetensors").string() +
                   "' --out '" + (tmp / "r2").string() + "'",
               &out);
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("different encoders"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(tmp / "r2"));
  // A library holding a test class (leakage).
  auto leak = brainsem::data::FeatureStore::open(d / "library_test.safetensors");
  leak.features = leak.features.clone();
  leak.save(tmp / "leak.safetensors");
  rc = run_cli("train -q --subject '" + (d / "Subject1.h5").string() + "' --stimuli '" +
                   (d / "stimuli.safetensors").string() + "' --library '" + (tmp / "leak.safetensors").string() +
                   "' --steps 2 --out '" + (tmp / "r3").string() + "'",
               &out);
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("test class"), std::string::npos) << out;
  // V on without a library; an unknown config key; a non-empty output directory.
  rc = run_cli("train -q --subject '" + (d / "Subject1.h5").string() + "' --stimuli '" +
                   (d / "stimuli.safetensors").string() + "' --out '" + (tmp / "r4").string() + "'",
               &out);
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("--no-library"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(tmp / "r4"));
  std::ofstream(tmp / "cfg.json") << R"({"stpes": 3})";
  rc = run_cli("train -q" + study_args(d) + " --config '" + (tmp / "cfg.json").string() + "' --out '" +
                   (tmp / "r5").string() + "'",
               &out);
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("unknown config key 'stpes'"), std::string::npos) << out;
  // A device this machine does not have: refused before anything is written.
  if (!torch::cuda::is_available()) {
    rc = run_cli("train -q" + study_args(d) + " --device cuda --out '" + (tmp / "r6").string() + "'", &out);
    EXPECT_NE(rc, 0);
    EXPECT_NE(out.find("--device cuda: CUDA is not available"), std::string::npos) << out;
    EXPECT_FALSE(fs::exists(tmp / "r6"));
  }
  rc = run_cli("train -q" + study_args(d) + " --dtype fp16 --out '" + (tmp / "r7").string() + "'", &out);
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("--dtype 'fp16' is not supported here"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(tmp / "r7"));
  fs::create_directories(tmp / "busy");
  std::ofstream(tmp / "busy/x") << "x";
  rc = run_cli("train -q" + study_args(d) + " --out '" + (tmp / "busy").string() + "'", &out);
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("already exists"), std::string::npos) << out;
}

TEST(CliDemo, SmallDemoRunsEndToEnd) {
  brainsem::testing::TempDir tmp;
  std::string out;
  int rc = run_cli(
      "demo -q --out '" + (tmp / "demo").string() + "' --subjects 1 --library-per-class 10 --steps 30 --no-report",
      &out);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("Zero-shot top-1 / top-5"), std::string::npos) << out;
  EXPECT_NE(out.find("ridge"), std::string::npos);
  EXPECT_NE(out.find("oracle"), std::string::npos);
  auto results = json::parse(brainsem::core::read_text_file(tmp / "demo/results.json"));
  EXPECT_EQ(results["subjects"].size(), 1u);
  EXPECT_EQ(results["ablation"]["rows"].size(), 4u) << results["ablation"].dump();
  EXPECT_TRUE(fs::exists(tmp / "demo/ablation/ablation.json"));
  auto manifest = json::parse(brainsem::core::read_text_file(tmp / "demo/manifest.json"));
  EXPECT_EQ(manifest["train"]["steps"], 30);
  EXPECT_TRUE(fs::exists(tmp / "demo/results.csv"));

  // The demo's ablation is the `brainsem ablate` command it prints: rerun into another directory,
  // it gives the same table.
  const std::string expected_start = "brainsem ablate --data " + (tmp / "demo/data").string() + " --out " +
                                     (tmp / "demo/ablation").string() + " --subjects 1 --seeds 0 --config " +
                                     (tmp / "demo/runs/Subject1/config.json").string();
  const auto at = out.find(expected_start);
  ASSERT_NE(at, std::string::npos) << out;
  EXPECT_EQ(manifest["demo"]["ablation_command"], out.substr(at, out.find('\n', at) - at));
  std::string args = manifest["demo"]["ablation_command"].get<std::string>().substr(std::string("brainsem ").size());
  const std::string demo_out = (tmp / "demo/ablation").string();
  args.replace(args.find(demo_out), demo_out.size(), (tmp / "again").string());
  ASSERT_EQ(run_cli(args + " -q", &out), 0) << out;
  auto again = json::parse(brainsem::core::read_text_file(tmp / "again/ablation.json"));
  EXPECT_EQ(again["rows"], results["ablation"]["rows"]);
  EXPECT_EQ(again["cells_run"], 4);
}

TEST(CliHelp, ShowsTheRealDefaults) {
  std::string out;
  ASSERT_EQ(run_cli("train --help", &out), 0) << out;
  for (const char* s :
       {"--steps INT=300", "--batch INT=200", "--lr FLOAT=0.0001", "--encoder TEXT:{vit,linear,mlp}=linear",
        "--init TEXT:{random,ridge}=ridge", "--val-classes INT=30", "--eval-every INT=25",
        "--head TEXT:{linear,none}=linear", "--temperature FLOAT=0.07", "(--paper: 0.0001)", "(--paper: none)"})
    EXPECT_NE(out.find(s), std::string::npos) << s << "\n" << out;
  ASSERT_EQ(run_cli("ablate --help", &out), 0) << out;
  for (const char* s : {"--subjects TEXT=1", "--seeds TEXT=0", "--steps INT=300", "paper-like recipe"})
    EXPECT_NE(out.find(s), std::string::npos) << s << "\n" << out;
  ASSERT_EQ(run_cli("cv --help", &out), 0) << out;
  for (const char* s : {"--k INT=2", "--permutations INT=100", "--steps INT=300"})
    EXPECT_NE(out.find(s), std::string::npos) << s << "\n" << out;
  ASSERT_EQ(run_cli("demo --help", &out), 0) << out;
  for (const char* s : {"--subjects INT:INT in [1 - 20]=5", "--library-per-class", "=100", "--steps INT=300"})
    EXPECT_NE(out.find(s), std::string::npos) << s << "\n" << out;
}

// A recipe the generated 150 training classes cannot serve is refused before any data is generated.
TEST(CliDemo, RefusesARecipeItsClassesCannotServeBeforeWritingAnything) {
  brainsem::testing::TempDir tmp;
  std::string out;
  EXPECT_NE(run_cli("demo --val-classes 149 --out '" + (tmp / "demo").string() + "'", &out), 0);
  EXPECT_NE(out.find("between 5 and 145"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(tmp / "demo"));
}
