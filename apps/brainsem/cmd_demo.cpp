// `brainsem demo`: the README's main command. Generates GOD-shaped data, trains and evaluates
// every subject, runs the V/B ablation and writes the report.
#include "brainsem/core/output_lock.h"
#include "brainsem/pipeline/demo.h"

#include "command.h"
#include "train_options.h"

namespace brainsem::app {
namespace {

struct Options {
  CommonOptions common;
  TrainOptions train;
  std::string out = "demo-run";
  pipeline::DemoConfig demo;
  bool no_ablation = false, no_report = false;
};

CommandRegistration reg(10, [](CLI::App& root) {
  auto o = std::make_shared<Options>();
  auto* cmd = root.add_subcommand(
      "demo", "The whole study on generated GOD-shaped data: data, training, zero-shot, baselines, ablation, report");
  cmd->footer(
      "Default: 5 subjects, the demo configuration of docs/method.md (measured: about 2 minutes on 2 CPU "
      "cores).\n"
      "--paper switches to the paper-like recipe (ViT depth 24, heads 16, batch 200, 5 epochs over the library;\n"
      "hours on a CPU); add --library-per-class 1000 for the paper-size semantic library.\n"
      "The ablation step is `brainsem ablate` with the command line it prints (OUT/manifest.json keeps it).");
  cmd->add_option("--out", o->out, "Output directory (new or empty)")->capture_default_str();
  cmd->add_option("--subjects", o->demo.subjects, "Number of subjects")
      ->check(CLI::Range(1, 20))
      ->capture_default_str();
  cmd->add_option("--data-seed", o->demo.seed, "Seed of the generated dataset (data seed = this + 1)")
      ->capture_default_str();
  cmd->add_option("--library-per-class", o->demo.library_per_class, "Semantic-library images per class (paper: ~1000)")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  cmd->add_flag("--no-ablation", o->no_ablation, "Skip the V/B ablation on Subject1");
  cmd->add_flag("--no-report", o->no_report, "Skip report.html");
  add_train_options(*cmd, o->train);
  add_common_options(*cmd, o->common);
  add_device_options(*cmd, o->common);
  cmd->callback([o] {
    apply_common_options(o->common);
    const core::OutputLock lock(o->out);  // one writer per demo directory
    o->demo.train = resolve_train_config(o->train);
    o->demo.ablation = !o->no_ablation;
    o->demo.report = !o->no_report;
    pipeline::run_demo(o->out, o->demo);
  });
});

}  // namespace
}  // namespace brainsem::app
