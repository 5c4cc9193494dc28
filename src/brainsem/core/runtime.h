#pragma once
// Process-wide runtime settings that must hold before LibTorch/OpenMP/OpenBLAS start.

namespace brainsem::core {

// Two settings are read before main() and so need the environment:
// - OMP_WAIT_POLICY=PASSIVE: libgomp reads it when it is loaded; a busy-waiting OpenMP pool fights
//   OpenBLAS's threads and made training 2.7x slower.
// - GLIBC_TUNABLES (kMallocTunables): glibc hands every freed block above its mmap threshold back to
//   the kernel, so a training step that gathers a [B, K, R, P] batch of tens of MB faults its pages
//   in afresh every step (most of the time went to the kernel; bench/train_runtime.sh measures it).
//   Keeping freed memory in the heap leaves every number unchanged.
// When either is unset we set it and re-execute the program once (/proc/self/exe). Call first
// thing in main(). A user who sets either variable keeps their choice; BRAINSEM_NO_REEXEC=1 skips
// the re-execution (debuggers).
void ensure_runtime_env(int argc, char** argv);
inline constexpr const char* kMallocTunables =
    "glibc.malloc.mmap_threshold=4294967295:glibc.malloc.trim_threshold=4294967295";

// Sets LibTorch's intra-op threads (0 = leave LibTorch's default, which `brainsem info` prints).
void set_threads(int threads);

// While alive, OpenBLAS runs each call on `threads` threads (0 = leave it as it is), then the
// previous number is restored. For code that runs its own workers, each calling BLAS: OpenBLAS's
// pool shared by two callers made cross-validation 2x slower than one caller. A no-op when the
// BLAS in use is not OpenBLAS (the symbols are looked up at run time).
class ScopedBlasThreads {
 public:
  explicit ScopedBlasThreads(int threads);
  ~ScopedBlasThreads();
  ScopedBlasThreads(const ScopedBlasThreads&) = delete;
  ScopedBlasThreads& operator=(const ScopedBlasThreads&) = delete;

 private:
  int previous_ = 0;
};

}  // namespace brainsem::core
