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
