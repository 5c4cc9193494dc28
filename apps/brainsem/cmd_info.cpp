// `brainsem info`: versions and runtime facts (LibTorch, threads, CUDA, torch.distributed engines)
// for bug reports.
#include <torch/torch.h>
#include <torch/version.h>

#include <cstdio>
#include <cstdlib>

#include "brainsem/core/process_group.h"
#include "command.h"

namespace brainsem::app {
namespace {
CommandRegistration reg(900, [](CLI::App& root) {
  auto* cmd = root.add_subcommand("info", "Print program, LibTorch and hardware information");
  static CommonOptions common;
  add_common_options(*cmd, common);
  cmd->callback([] {
    apply_common_options(common);
    const char* wait = std::getenv("OMP_WAIT_POLICY");
    const char* tunables = std::getenv("GLIBC_TUNABLES");
    std::printf(
        "brainsem %s\nlibtorch %s\nthreads %d (LibTorch intra-op; --threads N sets it for any "
        "command)\nOMP_WAIT_POLICY %s\nGLIBC_TUNABLES %s\ncuda %s (%d devices)\n",
        BRAINSEM_VERSION, TORCH_VERSION, torch::get_num_threads(), wait ? wait : "(unset)",
        tunables ? tunables : "(unset)", torch::cuda::is_available() ? "available" : "not available",
        static_cast<int>(torch::cuda::device_count()));
    std::printf("torch.distributed %s\n", !core::has_distributed_support() ? "none (built without Gloo)"
                                          : core::has_nccl_support()       ? "Gloo (CPU tensors), NCCL (CUDA tensors)"
                                                                           : "Gloo (CUDA tensors through the host)");
  });
});
}  // namespace
}  // namespace brainsem::app
