#include "brainsem/pipeline/demo.h"

#include <torch/version.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "brainsem/core/atomic_file.h"
#include "brainsem/core/error.h"
#include "brainsem/core/json_document.h"
#include "brainsem/data/synth.h"
#include "brainsem/experiment/ablation.h"
#include "brainsem/experiment/run_dir.h"
#include "brainsem/experiment/baselines.h"
#include "brainsem/experiment/study.h"
#include "brainsem/report/results_table.h"
#include "brainsem/report/study_report.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace brainsem::pipeline {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

json scores_json(const std::vector<experiment::MethodScore>& scores) {
  json a = json::array();
  for (const auto& m : scores) a.push_back(m.to_json());
  return a;
}

std::string shell_quote(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./-+=:,") ==
                        std::string::npos)
    return s;
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

bool same_training(const train::TrainConfig& a, const train::TrainConfig& b) {
  json ja, jb;
  train::to_json(ja, a);
  train::to_json(jb, b);
  ja.erase("seed");  // ablate takes the seed from --seeds
  jb.erase("seed");
  return ja == jb;
}

// The `brainsem ablate` command line equivalent to `options` (data, out, one subject and seed, no
// --full, default prototypes): the training configuration as --paper, as nothing (the defaults), or
// as --config `config_file` (a config.json holding exactly it).
std::string ablate_command(const experiment::AblationOptions& options, const fs::path& config_file) {
  BRAINSEM_CHECK(options.subjects.size() == 1 && options.seeds.size() == 1 && !options.full &&
                     options.prototype == experiment::AblationOptions{}.prototype,
                 "demo: the ablation must be one subject and seed, the small grid and default prototypes");
  std::string cmd = "brainsem ablate --data " + shell_quote(options.data.string()) + " --out " +
                    shell_quote(options.out.string()) + " --subjects " + std::to_string(options.subjects[0]) +
                    " --seeds " + std::to_string(options.seeds[0]);
  if (same_training(options.base, train::paper_config()))
    cmd += " --paper";
  else if (!same_training(options.base, train::TrainConfig{}))
    cmd += " --config " + shell_quote(config_file.string());
  return cmd;
}

}  // namespace

void run_demo(const fs::path& out, const DemoConfig& cfg) {
  BRAINSEM_CHECK(cfg.subjects >= 1 && cfg.subjects <= 20, "--subjects must be in 1..20");
  BRAINSEM_CHECK(!fs::exists(out) || fs::is_empty(out), "demo output directory ", out,
                 " already exists and is not empty; choose another --out or remove it");
  train::validate(cfg.train);
  // The generated subjects train on GOD's 150 classes; a config that cannot (e.g. --val-classes
  // above 145) is refused before any data is written.
  constexpr int64_t kGodTrainingClasses = 150;
  train::validate_for_classes(cfg.train, kGodTrainingClasses);
  auto t0 = std::chrono::steady_clock::now();
  json timings;

  std::printf("== 1/4 generating %d GOD-shaped subjects (docs/synthetic_data.md)\n", cfg.subjects);
  std::fflush(stdout);
  data::SynthConfig synth;
  synth.subjects = cfg.subjects;
  synth.seed = cfg.seed + 1;
  synth.library_per_class = cfg.library_per_class;
  synth.write_truth = true;
  fs::create_directories(out);
  const fs::path data_dir = out / "data";
  data::write_synthetic_dataset(data_dir, synth);
  timings["synth_s"] = seconds_since(t0);

  std::vector<report::SubjectScores> table;
  json runs = json::array();
  for (int s = 1; s <= cfg.subjects; ++s) {
    const std::string name = "Subject" + std::to_string(s);
    std::printf("== 2/4 %s: BrainSem and baselines\n", name.c_str());
    std::fflush(stdout);
    auto ts = std::chrono::steady_clock::now();
    experiment::StudyInputs in;
    in.subject = fs::absolute(data_dir / (name + ".h5"));
    in.stimuli = fs::absolute(data_dir / "stimuli.safetensors");
    in.library = fs::absolute(data_dir / "library_train.safetensors");
    in.library_test = fs::absolute(data_dir / "library_test.safetensors");
    in.truth = fs::absolute(data_dir / "truth.safetensors");
    in.subject_index = s - 1;
    auto study = experiment::load_study(in, cfg.train.normalize);
    const fs::path run_dir = out / "runs" / name;
    experiment::write_run_inputs(run_dir, in);
    auto run = experiment::train_brainsem(cfg.train, study, run_dir, false, "brainsem", cfg.train.seed);
    auto scores = run.scores;
    eval::RidgeConfig ridge;
    ridge.targets = cfg.train.ridge_targets;  // the baseline regresses onto what the ridge start does
    for (auto& m : experiment::run_baselines(study, cfg.train.seed, ridge)) scores.push_back(m);
    experiment::write_run_results(run_dir, experiment::run_results(run, scores, in));
    table.push_back({name, scores});
    runs.push_back({{"subject", name}, {"seconds", seconds_since(ts)}, {"train_seconds", run.seconds}});
    std::printf("%s", report::format_subject_scores(scores).c_str());
    if (!run.selection.summary().empty()) std::printf("model selection: %s\n", run.selection.summary().c_str());
  }
  timings["subjects_s"] = seconds_since(t0) - timings["synth_s"].get<double>();

  json ablation_json;
  std::string ablation_text, ablation_cmd;
  if (cfg.ablation) {
    // Exactly `brainsem ablate` with the command line printed here (and kept in manifest.json).
    experiment::AblationOptions ab;
    ab.data = data_dir;
    ab.out = out / "ablation";
    ab.subjects = {1};
    ab.seeds = {cfg.train.seed};
    ab.base = cfg.train;
    ablation_cmd = ablate_command(ab, out / "runs" / "Subject1" / experiment::kRunConfigFile);
    std::printf("== 3/4 V/B ablation on Subject1 (V: semantic library, B: virtual brain activity):\n   %s\n",
                ablation_cmd.c_str());
    std::fflush(stdout);
    auto ta = std::chrono::steady_clock::now();
    auto t = experiment::run_ablation(ab);
    ablation_json = t.to_json();
    ablation_text = t.text();
    timings["ablation_s"] = seconds_since(ta);
  }

  std::printf("\n== Results (%d subjects; details in %s)\n\n", cfg.subjects, (out / "results.json").c_str());
  std::printf("%s\n", report::format_table1(table, "stimulus").c_str());
  std::printf("%s\n", report::format_table1(table, "library").c_str());
  if (!ablation_text.empty()) std::printf("V/B ablation, Subject1, BrainSem:\n%s\n", ablation_text.c_str());

  json results{{"subjects", json::array()}, {"ablation", ablation_json}};
  for (const auto& t : table)
    results["subjects"].push_back({{"subject", t.subject}, {"scores", scores_json(t.scores)}});
  results["mean_over_subjects"] = report::subject_means_json(table);  // mean ± sd, 95 % t-interval over subjects
  core::write_text_atomically(
      out / "results.json", core::versioned_document(kDemoResultsFormat, kDemoResultsVersion, results).dump(2) + "\n");
  core::write_text_atomically(out / "results.csv", report::scores_csv(table));

  json train_cfg;
  train::to_json(train_cfg, cfg.train);
  timings["total_s"] = seconds_since(t0);
  json manifest{{"program", "brainsem"},
                {"version", BRAINSEM_VERSION},
                {"libtorch", TORCH_VERSION},
                {"threads", torch::get_num_threads()},
                {"hardware_concurrency", std::thread::hardware_concurrency()},
                {"demo",
                 {{"subjects", cfg.subjects},
                  {"seed", cfg.seed},
                  {"library_per_class", cfg.library_per_class},
                  {"ablation", cfg.ablation},
                  {"ablation_command", ablation_cmd}}},
                {"synth", synth.to_json()},
                {"train", train_cfg},
                {"runs", runs},
                {"timings", timings}};
  core::write_text_atomically(out / "manifest.json", manifest.dump(2) + "\n");
  if (cfg.report) {
    std::printf("== 4/4 report: analyses of Subject1 (retrieval, similarity, maps) and report.html\n");
    std::fflush(stdout);
    report::write_study_report(out);
  }
  std::printf("\ndemo finished in %.0f s; wrote %s\n", timings["total_s"].get<double>(), out.c_str());
}

}  // namespace brainsem::pipeline
