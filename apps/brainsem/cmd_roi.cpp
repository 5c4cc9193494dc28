// `brainsem roi`: where the decodable semantics lie, per ROI token (leave-one-out, single ROI,
// masking at evaluation) over subjects and seeds, with paired tests against the full model.
#include <cstdio>
#include <sstream>

#include "brainsem/core/error.h"
#include "brainsem/core/output_lock.h"
#include "brainsem/core/text.h"
#include "brainsem/experiment/roi_attribution.h"
#include "brainsem/report/roi_charts.h"
#include "command.h"
#include "grid_options.h"
#include "train_options.h"

namespace brainsem::app {
namespace {

struct Options {
  CommonOptions common;
  TrainOptions train;
  GridOptions grid;
  std::string modes = core::join(experiment::RoiAttributionOptions{}.modes, ",");
  std::string rois;
};

std::vector<std::string> split_names(const std::string& s, const char* what) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    BRAINSEM_CHECK(!item.empty(), what, ": empty name in '", s, "'");
    out.push_back(item);
  }
  return out;
}

void run(Options& o) {
  apply_common_options(o.common);
  const core::OutputLock lock(o.grid.out);  // one writer per output directory
  experiment::RoiAttributionOptions r;
  r.data = o.grid.data;
  r.out = o.grid.out;
  r.subjects = o.grid.subject_numbers();
  r.seeds = o.grid.seed_numbers();
  r.prototype = o.grid.prototype;
  r.modes = split_names(o.modes, "--modes");
  r.rois = split_names(o.rois, "--rois");
  r.base = resolve_train_config(o.train);
  auto t = experiment::run_roi_attribution(r);
  std::printf("%s", t.text().c_str());
  std::string charts;
  for (const auto& c : report::save_roi_charts(t, r.out)) charts += " " + c.file.filename().string();
  std::printf("cells: %lld trained, %lld reused; wrote %s/roi.json, roi.csv and%s\n",
              static_cast<long long>(t.cells_run), static_cast<long long>(t.cells_reused), o.grid.out.c_str(),
              charts.c_str());
}

CommandRegistration reg(63, [](CLI::App& root) {
  auto o = std::make_shared<Options>();
  auto* cmd = root.add_subcommand("roi",
                                  "ROI attribution: leave-one-ROI-out, single-ROI and masked-ROI zero-shot "
                                  "accuracy with paired tests against the full model");
  cmd->footer(
      "For every ROI token R, over --subjects and --seeds, with the training configuration below:\n"
      "  without  train and test without R's token (leave-one-ROI-out)\n"
      "  only     train and test on R's token alone\n"
      "  masked   the full model, no retraining, R's test token replaced by its training mean\n"
      "Rows are compared with the full model ('all') by paired tests on (subject, test item) units.\n"
      "Each trained cell is a run directory OUT/cells/<all|without-R|only-R>/Subject<s>-seed<k>/, reused when\n"
      "finished (resumable). Writes OUT/roi.json, OUT/roi.csv and one bar chart per mode, OUT/roi_<mode>.png;\n"
      "`brainsem report` shows them for a demo directory whose roi/ holds them (--out DEMO/roi).\n"
      "Cost: 1 + 7 x (without, only) trainings per (subject, seed) with GOD's 7 ROIs; masked adds no training.");
  add_grid_options(*cmd, o->grid);
  cmd->add_option("--modes", o->modes, "Comma-separated attribution modes: without, only, masked")
      ->capture_default_str();
  cmd->add_option("--rois", o->rois,
                  "Comma-separated ROI tokens to use and attribute (default: every ROI of the first subject)");
  add_train_options(*cmd, o->train);
  add_common_options(*cmd, o->common);
  add_device_options(*cmd, o->common);
  cmd->callback([o] { run(*o); });
});

}  // namespace
}  // namespace brainsem::app
