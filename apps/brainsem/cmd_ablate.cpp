// `brainsem ablate`: Tables 2-3, the V x B x batch x encoder grid over subjects and seeds.
#include <cstdio>
#include <filesystem>

#include "brainsem/core/error.h"
#include "brainsem/core/output_lock.h"
#include "brainsem/experiment/ablation.h"
#include "command.h"
#include "grid_options.h"
#include "train_options.h"

namespace fs = std::filesystem;

namespace brainsem::app {
namespace {

struct Options {
  CommonOptions common;
  TrainOptions train;
  GridOptions grid;
  bool full = false;
};

void run(Options& o) {
  apply_common_options(o.common);
  const core::OutputLock lock(o.grid.out);  // one writer per ablation directory
  // The paper's grid is run on the paper-like recipe; training flags still override it.
  if (o.full) o.train.paper = true;
  auto base = resolve_train_config(o.train);
  experiment::AblationOptions a;
  a.data = o.grid.data;
  a.out = o.grid.out;
  a.subjects = o.grid.subject_numbers();
  a.seeds = o.grid.seed_numbers();
  a.full = o.full;
  a.base = base;
  a.prototype = o.grid.prototype;
  auto t = experiment::run_ablation(a);
  std::printf("%s", t.text().c_str());
  std::printf("cells: %lld trained, %lld reused; wrote %s/ablation.json and ablation.csv\n",
              static_cast<long long>(t.cells_run), static_cast<long long>(t.cells_reused), o.grid.out.c_str());
}

CommandRegistration reg(63, [](CLI::App& root) {
  auto o = std::make_shared<Options>();
  auto* cmd = root.add_subcommand("ablate",
                                  "Tables 2-3: V x B (x batch x encoder with --full) ablation grid with paired tests");
  cmd->footer(
      "Default (CPU) grid: V on/off x B on/off = 4 configurations of the training configuration (the defaults\n"
      "below, as `brainsem train`; any training flag, --config or --paper changes it), on --subjects and --seeds.\n"
      "--full: the paper's grid on the paper-like recipe (--paper implied), V x B x batch 200/100 x ViT\n"
      "(depth, heads) (24,16), (12,8), (6,4) = 24 configurations.\n"
      "Each cell is a run directory OUT/cells/<config>/Subject<s>-seed<k>/; finished cells are reused (resumable).\n"
      "Writes OUT/ablation.json and OUT/ablation.csv. p-values compare each row with the first (paired on test "
      "items).");
  add_grid_options(*cmd, o->grid);
  cmd->add_flag("--full", o->full,
                "The paper's full grid on the paper-like recipe (24 configurations; hours on a CPU)");
  add_train_options(*cmd, o->train);
  add_common_options(*cmd, o->common);
  add_device_options(*cmd, o->common);
  cmd->callback([o] { run(*o); });
});

}  // namespace
}  // namespace brainsem::app
