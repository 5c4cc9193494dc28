#include "brainsem/core/runtime.h"

#include <torch/torch.h>
#include <unistd.h>

#include <cstdlib>
#include <vector>

namespace brainsem::core {

void ensure_runtime_env(int argc, char** argv) {
  const bool omp_set = std::getenv("OMP_WAIT_POLICY") != nullptr;
  const bool malloc_set = std::getenv("GLIBC_TUNABLES") != nullptr;
  if (omp_set && malloc_set) return;
  if (std::getenv("BRAINSEM_NO_REEXEC") != nullptr) return;  // escape hatch for debuggers
  if (!omp_set) setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
  if (!malloc_set) setenv("GLIBC_TUNABLES", kMallocTunables, 1);
  std::vector<char*> args(argv, argv + argc);
  args.push_back(nullptr);
  execv("/proc/self/exe", args.data());
  // execv only returns on failure: carry on with the setting in place for child processes.
}

void set_threads(int threads) {
  if (threads > 0) torch::set_num_threads(threads);
}

}  // namespace brainsem::core
