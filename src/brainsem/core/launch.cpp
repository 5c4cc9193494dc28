#include "brainsem/core/launch.h"

#include <cstdlib>

#include "brainsem/core/error.h"

namespace brainsem::core {

namespace {
int parse_count(const std::string& text, const std::string& what, int minimum) {
  size_t used = 0;
  long long v = -1;
  try {
    v = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  BRAINSEM_CHECK(used == text.size() && !text.empty() && v >= minimum && v <= 1000000, what, " = '", text,
                 "' is not an integer >= ", minimum);
  return static_cast<int>(v);
}
}  // namespace

WorkShare work_share_from_environment(const std::function<const char*(const char*)>& getenv_fn) {
  auto env = [&](const char* name) -> const char* { return getenv_fn ? getenv_fn(name) : std::getenv(name); };
  WorkShare s;
  if (const char* id = env("SLURM_ARRAY_TASK_ID")) {
    const char* count = env("SLURM_ARRAY_TASK_COUNT");
    BRAINSEM_CHECK(count, "SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not; run inside `sbatch --array`");
    const char* min = env("SLURM_ARRAY_TASK_MIN");
    const char* step = env("SLURM_ARRAY_TASK_STEP");
    const int task = parse_count(id, "SLURM_ARRAY_TASK_ID", 0);
    const int first = min ? parse_count(min, "SLURM_ARRAY_TASK_MIN", 0) : 0;
    const int stride = step ? parse_count(step, "SLURM_ARRAY_TASK_STEP", 1) : 1;
    s.count = parse_count(count, "SLURM_ARRAY_TASK_COUNT", 1);
    BRAINSEM_CHECK(task >= first && (task - first) % stride == 0, "SLURM_ARRAY_TASK_ID ", task,
                   " is not in the array that starts at ", first, " with step ", stride);
    s.index = (task - first) / stride;
    s.source = "Slurm array task " + std::string(id);
  } else if (const char* rank = env("RANK")) {
    const char* world = env("WORLD_SIZE");
    BRAINSEM_CHECK(world, "RANK is set but WORLD_SIZE is not; launch with torchrun or set both");
    s.index = parse_count(rank, "RANK", 0);
    s.count = parse_count(world, "WORLD_SIZE", 1);
    s.source = "rank " + std::string(rank) + " of WORLD_SIZE " + world;
  } else if (const char* proc = env("SLURM_PROCID")) {
    const char* tasks = env("SLURM_NTASKS");
    BRAINSEM_CHECK(tasks, "SLURM_PROCID is set but SLURM_NTASKS is not; launch with srun");
    s.index = parse_count(proc, "SLURM_PROCID", 0);
    s.count = parse_count(tasks, "SLURM_NTASKS", 1);
    s.source = "srun task " + std::string(proc) + " of " + tasks;
  }
  BRAINSEM_CHECK(s.index < s.count, s.source, ": index ", s.index, " is not below the count ", s.count);
  return s;
}

WorkShare parse_work_share(const std::string& text) {
  const auto slash = text.find('/');
  BRAINSEM_CHECK(slash != std::string::npos, "--shard '", text, "' must be K/N, e.g. 0/4 (K from 0 to N-1)");
  WorkShare s;
  s.index = parse_count(text.substr(0, slash), "--shard's K", 0);
  s.count = parse_count(text.substr(slash + 1), "--shard's N", 1);
  BRAINSEM_CHECK(s.index < s.count, "--shard ", text, ": K must be below N (0 to ", s.count - 1, ")");
  s.source = "--shard " + text;
  return s;
}

}  // namespace brainsem::core
