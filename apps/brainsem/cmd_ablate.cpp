// `brainsem ablate`: Tables 2-3, the V x B x batch x encoder grid over subjects and seeds.
#include <cstdio>
#include <filesystem>

#include "brainsem/core/error.h"
#include "brainsem/core/launch.h"
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
  std::string shard;
};

void run(Options& o) {
  apply_common_options(o.common);
  const auto share = o.shard.empty() ? core::work_share_from_environment() : core::parse_work_share(o.shard);
  // One writer per ablation directory, or per share of it (cells lock themselves while training).
  const core::OutputLock lock(share.count == 1 ? fs::path(o.grid.out)
                                               : fs::path(o.grid.out) / ("shard-" + std::to_string(share.index) +
                                                                         "-of-" + std::to_string(share.count)));
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
  a.share = share;
  auto t = experiment::run_ablation(a);
  if (t.cells_waiting > 0) {
    std::printf(
        "%s: %lld cells trained, %lld reused; %lld cells of other shares are not finished, so the table is left to "
        "the share that finishes last (or rerun this command without sharding once they have)\n",
        share.source.c_str(), static_cast<long long>(t.cells_run), static_cast<long long>(t.cells_reused),
        static_cast<long long>(t.cells_waiting));
    return;
  }
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
      "Several processes share the grid: cell k (table order) is trained by share k mod N, where the share is\n"
      "--shard K/N, else a Slurm array task (SLURM_ARRAY_TASK_ID/_MIN/_STEP/_COUNT), else torchrun's RANK/WORLD_SIZE\n"
      "or srun's SLURM_PROCID/SLURM_NTASKS; the share that finishes last writes the table (docs/distributed.md).\n"
      "Writes OUT/ablation.json and OUT/ablation.csv. p-values compare each row with the first (paired on test "
      "items).");
  add_grid_options(*cmd, o->grid);
  cmd->add_flag("--full", o->full,
                "The paper's full grid on the paper-like recipe (24 configurations; hours on a CPU)");
  cmd->add_option("--shard", o->shard,
                  "Train only cells k with k mod N == K (K/N, e.g. 0/4); default: from Slurm array or torchrun/srun "
                  "variables, else every cell");
  add_train_options(*cmd, o->train);
  add_common_options(*cmd, o->common);
  add_device_options(*cmd, o->common);
  cmd->callback([o] { run(*o); });
});

}  // namespace
}  // namespace brainsem::app
