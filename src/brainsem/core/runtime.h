#pragma once
// Process-wide runtime settings that must hold before LibTorch/OpenMP/OpenBLAS start.

namespace brainsem::core {

// libgomp reads OMP_WAIT_POLICY when it is loaded, before main(); a busy-waiting OpenMP pool
// fights OpenBLAS's threads and made training 2.7x slower (ref_libtorch.md §2). So if the
// variable is unset we set it to PASSIVE and re-execute the program once (/proc/self/exe).
// Call first thing in main(). A user who sets OMP_WAIT_POLICY keeps their choice.
void ensure_runtime_env(int argc, char** argv);

// Sets LibTorch's intra-op threads (0 = leave the default: one per core).
void set_threads(int threads);

}  // namespace brainsem::core
