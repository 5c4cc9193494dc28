// brainsem: the command-line program. Subcommands register themselves (command.h); this file
// only builds the CLI, runs it and turns errors into exit codes (1 = error, 2 = bad usage).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <vector>

#include "brainsem/core/error.h"
#include "brainsem/core/failure_report.h"
#include "brainsem/core/progress.h"
#include "brainsem/core/runtime.h"
#include "command.h"

namespace brainsem::app {

static std::vector<Command>& registry() {
  static std::vector<Command> commands;
  return commands;
}

CommandRegistration::CommandRegistration(int order, std::function<void(CLI::App&)> setup) {
  registry().push_back({order, std::move(setup)});
}

CLI::App* command_group(CLI::App& root, const std::string& name, const std::string& description) {
  try {
    return root.get_subcommand(name);
  } catch (const CLI::OptionNotFound&) {
    auto* group = root.add_subcommand(name, description);
    group->require_subcommand(1);
    return group;
  }
}

CLI::App* data_group(CLI::App& root) {
  return command_group(root, "data",
                       "Inspect, convert and import fMRI data and every file BrainSem writes (BData .h5, safetensors, "
                       "run directories)");
}

void add_common_options(CLI::App& cmd, CommonOptions& opts) {
  cmd.add_option("--threads", opts.threads,
                 "CPU threads for LibTorch's tensor maths (0 = LibTorch's default; `brainsem info` shows the number a "
                 "run uses)")
      ->check(CLI::NonNegativeNumber);
  cmd.add_flag("--quiet,-q", opts.quiet, "No progress bars");
}

void add_device_options(CLI::App& cmd, CommonOptions& opts, Precisions precisions) {
  cmd.add_option("--device", opts.device,
                 "Where models run: cpu, cuda (the first GPU) or cuda:N; scores and statistics are computed on the "
                 "CPU in float64 either way (docs/performance.md)")
      ->capture_default_str();
  if (precisions == Precisions::fp32_only) return;
  opts.allow_fp16 = precisions == Precisions::bf16_fp16;
  cmd.add_option("--dtype", opts.dtype,
                 opts.allow_fp16 ? "Model precision: fp32, bf16 or fp16 (fp16 needs cuda); on cuda fp32 matrix "
                                   "products use TF32"
                                 : "Model precision: fp32, or bf16 (autocast: matrix products in bf16, weights, "
                                   "optimiser and loss in fp32); on cuda fp32 matrix products use TF32")
      ->capture_default_str();
}

core::ComputeTarget apply_common_options(const CommonOptions& opts) {
  core::set_threads(opts.threads);
  core::Progress::set_quiet(opts.quiet);
  const auto target = core::parse_compute_target(opts.device, opts.dtype, opts.allow_fp16);
  core::set_compute_target(target);
  return target;
}

void add_distributed_options(CLI::App& cmd, DistributedOptions& opts) {
  const char* group = "Distributed (torchrun and srun set these through the environment)";
  cmd.add_option(
         "--dist-url", opts.url,
         "Join a multi-process job at tcp://HOST:PORT (rank 0's host and a free port); needs --rank and --world-size. "
         "Without it the job comes from torchrun's (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT) or srun's "
         "(SLURM_PROCID, SLURM_NTASKS, SLURM_JOB_NODELIST) variables, else this is a single process")
      ->group(group);
  cmd.add_option("--rank", opts.rank, "This process's rank with --dist-url (0 to world size - 1)")->group(group);
  cmd.add_option("--world-size", opts.world_size, "Number of processes with --dist-url")->group(group);
  cmd.add_option("--dist-timeout", opts.timeout_s,
                 "Seconds to wait for every rank to join, and for each collective step; a rank that hangs fails the "
                 "job after this long (a rank that dies fails it at once)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str()
      ->group(group);
}

std::unique_ptr<core::ProcessGroup> join_job(const DistributedOptions& opts, CommonOptions& common) {
  BRAINSEM_CHECK(opts.url.empty() == (opts.rank < 0) && opts.url.empty() == (opts.world_size < 0),
                 "--dist-url, --rank and --world-size go together (or none of them, under torchrun or srun)");
  const auto spec =
      opts.url.empty() ? core::launch_from_environment() : core::launch_from_url(opts.url, opts.rank, opts.world_size);
  if (!spec.distributed()) return nullptr;
  if (common.device == "cuda") common.device = "cuda:" + std::to_string(spec.local_rank);
  auto group = std::make_unique<core::ProcessGroup>(spec, std::chrono::seconds(opts.timeout_s));
  if (!common.quiet)
    std::fprintf(stderr, "%s: joined the job at %s:%d\n", spec.source.c_str(), spec.master_addr.c_str(),
                 spec.master_port);
  return group;
}

}  // namespace brainsem::app

int main(int argc, char** argv) {
  brainsem::core::ensure_runtime_env(argc, argv);
  CLI::App app{
      "BrainSem: learn a shared semantic space between fMRI and a frozen CLIP image encoder, and decode\n"
      "what a person saw, including unseen categories (zero-shot). Implements Chen et al., AAAI 2024.\n"
      "Run `brainsem demo` for the whole study on generated GOD-shaped data."};
  app.require_subcommand(1);
  bool verbose = std::getenv("BRAINSEM_VERBOSE") != nullptr;
  app.add_flag("--verbose", verbose,
               "On an error, also print where the program raised it and LibTorch's backtrace (or set "
               "BRAINSEM_VERBOSE=1); give it before the command: brainsem --verbose train ...");
  app.set_version_flag("--version", std::string("brainsem ") + BRAINSEM_VERSION);
  auto& commands = brainsem::app::registry();
  std::stable_sort(commands.begin(), commands.end(), [](const auto& a, const auto& b) { return a.order < b.order; });
  for (auto& c : commands) c.setup(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;  // CLI11 uses 100+ codes; 2 is the usual "bad usage"
  } catch (...) {
    std::fputs(brainsem::core::describe_failure(std::current_exception(), verbose).c_str(), stderr);
    return 1;
  }
  return 0;
}
