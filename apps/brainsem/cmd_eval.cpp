// `brainsem eval`: score a trained run (and optionally the baselines) on the test set.
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "brainsem/core/atomic_file.h"
#include "brainsem/core/error.h"
#include "brainsem/report/results_table.h"
#include "brainsem/train/study.h"
#include "brainsem/train/trainer.h"
#include "command.h"
#include "study_options.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace brainsem::app {
namespace {

struct Options {
  CommonOptions common;
  StudyOptions study;
  std::string run, json_out;
  bool baselines = false;
};

void run(Options& o) {
  apply_common_options(o.common);
  fs::path dir = o.run;
  auto run = train::open_run(dir, o.study.inputs());
  const auto& study = run.study;
  const auto& cfg = run.config;
  auto& trainer = *run.trainer;
  auto scores = train::score_prediction("brainsem", trainer.embed(study.subject.test_x), study, cfg.seed);
  if (o.baselines)
    for (auto& m : train::run_baselines(study, cfg.seed)) scores.push_back(m);
  json out{{"run", dir.string()}, {"step", trainer.step()}, {"best_step", trainer.best_step()}, {"scores", json::array()}};
  for (const auto& m : scores) out["scores"].push_back(m.to_json());
  fs::path dest = o.json_out.empty() ? dir / "eval.json" : fs::path(o.json_out);
  core::write_text_atomically(dest, out.dump(2) + "\n");
  std::printf("%s", report::format_subject_scores(scores).c_str());
  std::printf("wrote %s\n", dest.c_str());
}

CommandRegistration reg(40, [](CLI::App& root) {
  auto o = std::make_shared<Options>();
  auto* cmd = root.add_subcommand("eval", "Zero-shot top-1/top-5 of a trained run, with p-values and bootstrap intervals");
  cmd->footer("Input files default to those recorded in RUN/inputs.json.");
  cmd->add_option("--run", o->run, "Run directory written by `brainsem train`")->required()->check(CLI::ExistingDirectory);
  add_study_options(*cmd, o->study, /*required=*/false);
  cmd->add_flag("--baselines", o->baselines, "Also score ridge, nearest class mean and (with a truth file) the oracle");
  cmd->add_option("--json", o->json_out, "Where to write the JSON results (default RUN/eval.json)");
  add_common_options(*cmd, o->common);
  cmd->callback([o] { run(*o); });
});

}  // namespace
}  // namespace brainsem::app
