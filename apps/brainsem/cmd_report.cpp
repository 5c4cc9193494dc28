// `brainsem report`: one self-contained HTML page for a run or a demo directory.
#include <cstdio>
#include <filesystem>

#include "brainsem/core/atomic_file.h"
#include "brainsem/report/study_report.h"
#include "command.h"

namespace fs = std::filesystem;

namespace brainsem::app {
namespace {

struct Options {
  CommonOptions common;
  std::string dir, output;
  report::StudyReportOptions r;
  bool no_compute = false, force = false;
};

void run(Options& o) {
  apply_common_options(o.common);
  // The default DIR/report.html is the report's own file and is rewritten; a file named by the
  // user is someone else's until they say otherwise.
  if (!o.output.empty()) core::check_output_file(o.output, {}, o.force, "--output");
  o.r.output = o.output;
  o.r.compute_missing = !o.no_compute;
  auto out = report::write_study_report(o.dir, o.r);
  std::printf("wrote %s\n", out.c_str());
}

CommandRegistration reg(64, [](CLI::App& root) {
  auto o = std::make_shared<Options>();
  auto* cmd = root.add_subcommand("report", "One self-contained HTML report (results, ablations, figures, manifest)");
  cmd->footer(
      "DIR: a run directory of `brainsem train`, or a demo directory (runs/Subject*/, ablation/, manifest.json).\n"
      "Analyses of the first run missing from DIR/analysis/ (retrieval, similarity, maps) are computed first.\n"
      "Check it in a browser-free way with scripts/render_report.sh DIR/report.html.");
  cmd->add_option("dir", o->dir, "Run or demo directory")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("--output", o->output,
                  "Where to write the page (default DIR/report.html, rewritten each time; "
                  "an existing --output is refused unless --force)");
  cmd->add_flag("--force", o->force, "Overwrite an existing --output");
  cmd->add_option("--wordnet", o->r.wordnet, "WordNet 3.0 dict directory (Debian wordnet-base)");
  cmd->add_flag("--no-compute", o->no_compute, "Only show analyses that already exist");
  add_common_options(*cmd, o->common);
  add_device_options(*cmd, o->common);
  cmd->callback([o] { run(*o); });
});

}  // namespace
}  // namespace brainsem::app
