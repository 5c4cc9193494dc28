#pragma once
// Each subcommand lives in its own cmd_*.cpp and registers itself here with a static
// CommandRegistration, so adding a command touches no other file. Commands only parse options,
// call the library and print; the algorithms live in src/brainsem.
#include <CLI/CLI.hpp>

#include "brainsem/core/device.h"
#include "brainsem/core/process_group.h"

#include <functional>
#include <memory>
#include <string>

namespace brainsem::app {

struct Command {
  int order;                                  // position in --help
  std::function<void(CLI::App& root)> setup;  // adds the subcommand and its callback
};

struct CommandRegistration {
  CommandRegistration(int order, std::function<void(CLI::App& root)> setup);
};

// The group command `name` (e.g. "data", "features") under root, created with `description` by
// whichever of its subcommands' files registers first.
CLI::App* command_group(CLI::App& root, const std::string& name, const std::string& description);
// `brainsem data` (inspect, export, import, unpack).
CLI::App* data_group(CLI::App& root);

// Options every command shares: --threads, --quiet; and, for commands that run a model,
// --device/--dtype (add_device_options).
struct CommonOptions {
  int threads = 0;
  bool quiet = false;
  std::string device = "cpu";
  std::string dtype = "fp32";
  bool allow_fp16 = false;
};
void add_common_options(CLI::App& cmd, CommonOptions& opts);
// Which --dtype values a command offers: none (float32 only, no --dtype option), fp32/bf16, or
// also fp16 (CUDA inference).
enum class Precisions { fp32_only, bf16, bf16_fp16 };
void add_device_options(CLI::App& cmd, CommonOptions& opts, Precisions precisions = Precisions::bf16);
// Applies CommonOptions (thread count, progress bars, and the compute target every model of the run
// uses, core/device.h) and returns the target. Call at the start of a callback: a device that
// cannot run fails here, before any output.
core::ComputeTarget apply_common_options(const CommonOptions& opts);

// How a command joins a torch.distributed job (core/process_group.h): from torchrun's or srun's
// variables, or explicitly with --dist-url tcp://HOST:PORT --rank R --world-size N.
struct DistributedOptions {
  std::string url;  // tcp://HOST:PORT
  int rank = -1, world_size = -1;
  int timeout_s = 1800;  // joining, and each collective: a rank that hangs fails the job after it
};
void add_distributed_options(CLI::App& cmd, DistributedOptions& opts);
// The job's process group, or nullptr for a single process. In a job, `--device cuda` means this
// rank's local GPU (cuda:LOCAL_RANK). Call before apply_common_options.
std::unique_ptr<core::ProcessGroup> join_job(const DistributedOptions& opts, CommonOptions& common);

}  // namespace brainsem::app
