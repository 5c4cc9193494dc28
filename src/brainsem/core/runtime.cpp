#include "brainsem/core/runtime.h"

#include <dlfcn.h>
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

namespace {

using SetThreads = void (*)(int);
using GetThreads = int (*)();

SetThreads openblas_set() { return reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads")); }
GetThreads openblas_get() { return reinterpret_cast<GetThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads")); }

}  // namespace

ScopedBlasThreads::ScopedBlasThreads(int threads) {
  auto set = openblas_set();
  auto get = openblas_get();
  if (threads <= 0 || !set || !get) return;
  previous_ = get();
  set(threads);
}

ScopedBlasThreads::~ScopedBlasThreads() {
  if (previous_ > 0) openblas_set()(previous_);
}

}  // namespace brainsem::core
