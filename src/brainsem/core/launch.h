#pragma once
// Which share of a multi-process job this process does, read from the launchers researchers use:
// a Slurm job array (SLURM_ARRAY_TASK_ID, _MIN, _STEP, _COUNT: one task per array index),
// torchrun (RANK, WORLD_SIZE) or srun (SLURM_PROCID, SLURM_NTASKS). With none of them set, a
// process does all the work, as before.
#include <functional>
#include <string>

namespace brainsem::core {

struct WorkShare {
  int index = 0;  // in [0, count)
  int count = 1;
  std::string source = "single process";  // what set it, for messages

  bool mine(size_t item) const { return static_cast<int>(item % static_cast<size_t>(count)) == index; }
};

// A job array wins over ranks: every array task is its own job with its own SLURM_PROCID 0.
// Malformed or inconsistent values are refused naming the variable. `getenv` is injectable for tests.
WorkShare work_share_from_environment(const std::function<const char*(const char*)>& getenv = {});

// "K/N" (0 <= K < N), as given to --shard.
WorkShare parse_work_share(const std::string& text);

}  // namespace brainsem::core

namespace brainsem::core {

// Where and as which rank this process joins a torch.distributed job (core/process_group.h).
struct LaunchSpec {
  int rank = 0;             // in [0, world_size)
  int world_size = 1;       // 1 = a single process: nothing is connected
  int local_rank = 0;       // rank on this machine: which GPU `--device cuda` means
  std::string master_addr;  // host of rank 0, which serves the rendezvous store
  int master_port = 0;
  std::string source = "single process";  // what set it, for messages

  bool distributed() const { return world_size > 1; }
};

// torchrun's variables (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT), else srun's
// (SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID; rank 0's host is MASTER_ADDR or the first host of
// SLURM_JOB_NODELIST; the port MASTER_PORT or 20000 + SLURM_JOB_ID mod 20000, so that two jobs on one
// node differ), else a single process. A Slurm job array is not a process group (each task is its own
// job: ablate and embed --shard use core::WorkShare for it). `getenv` is injectable for tests.
LaunchSpec launch_from_environment(const std::function<const char*(const char*)>& getenv = {});

// Explicit `--dist-url tcp://HOST:PORT --rank R --world-size N` (LOCAL_RANK still from the environment).
LaunchSpec launch_from_url(const std::string& init_method, int rank, int world_size,
                           const std::function<const char*(const char*)>& getenv = {});

// The first host of a Slurm node list: "gpu[03-05,07],cpu1" -> "gpu03", "a,b" -> "a".
std::string first_slurm_host(const std::string& nodelist);

}  // namespace brainsem::core
