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

namespace {
using Getenv = std::function<const char*(const char*)>;
const char* lookup(const Getenv& getenv_fn, const char* name) {
  return getenv_fn ? getenv_fn(name) : std::getenv(name);
}
int parse_port(const std::string& text, const std::string& what) {
  const int port = parse_count(text, what, 1);
  BRAINSEM_CHECK(port <= 65535, what, " = ", port, " is not a TCP port (1-65535)");
  return port;
}
}  // namespace

std::string first_slurm_host(const std::string& nodelist) {
  // The first comma at bracket depth 0 ends the first entry; a bracket expands to its first number.
  int depth = 0;
  size_t end = nodelist.size();
  for (size_t i = 0; i < nodelist.size(); ++i) {
    if (nodelist[i] == '[') ++depth;
    if (nodelist[i] == ']') --depth;
    if (nodelist[i] == ',' && depth == 0) {
      end = i;
      break;
    }
  }
  const std::string first = nodelist.substr(0, end);
  const auto open = first.find('[');
  BRAINSEM_CHECK(!first.empty() && (open == std::string::npos || first.back() == ']'), "SLURM_JOB_NODELIST = '",
                 nodelist, "' is not a Slurm node list (e.g. gpu[01-04])");
  if (open == std::string::npos) return first;
  const std::string inside = first.substr(open + 1, first.size() - open - 2);
  const auto stop = inside.find_first_of("-,");
  return first.substr(0, open) + inside.substr(0, stop);
}

LaunchSpec launch_from_environment(const Getenv& getenv_fn) {
  auto env = [&](const char* name) { return lookup(getenv_fn, name); };
  LaunchSpec s;
  if (const char* rank = env("RANK")) {
    const char* world = env("WORLD_SIZE");
    BRAINSEM_CHECK(world, "RANK is set but WORLD_SIZE is not; launch with torchrun or set both");
    s.rank = parse_count(rank, "RANK", 0);
    s.world_size = parse_count(world, "WORLD_SIZE", 1);
    if (const char* local = env("LOCAL_RANK")) s.local_rank = parse_count(local, "LOCAL_RANK", 0);
    s.source = cat("torchrun rank ", s.rank, " of ", s.world_size);
  } else if (const char* proc = env("SLURM_PROCID")) {
    const char* tasks = env("SLURM_NTASKS");
    BRAINSEM_CHECK(tasks, "SLURM_PROCID is set but SLURM_NTASKS is not; launch with srun");
    s.rank = parse_count(proc, "SLURM_PROCID", 0);
    s.world_size = parse_count(tasks, "SLURM_NTASKS", 1);
    if (const char* local = env("SLURM_LOCALID")) s.local_rank = parse_count(local, "SLURM_LOCALID", 0);
    s.source = cat("srun task ", s.rank, " of ", s.world_size);
  }
  BRAINSEM_CHECK(s.rank < s.world_size, s.source, ": rank ", s.rank, " is not below the world size ", s.world_size);
  if (!s.distributed()) return s;

  if (const char* addr = env("MASTER_ADDR")) {
    s.master_addr = addr;
  } else if (const char* nodes = env("SLURM_JOB_NODELIST"); nodes && env("SLURM_PROCID")) {
    s.master_addr = first_slurm_host(nodes);
  }
  BRAINSEM_CHECK(!s.master_addr.empty(), s.source,
                 ": MASTER_ADDR is not set (torchrun sets it; under srun set it or SLURM_JOB_NODELIST)");
  if (const char* port = env("MASTER_PORT")) {
    s.master_port = parse_port(port, "MASTER_PORT");
  } else if (const char* job = env("SLURM_JOB_ID"); job && env("SLURM_PROCID")) {
    s.master_port = 20000 + parse_count(job, "SLURM_JOB_ID", 0) % 20000;
  }
  BRAINSEM_CHECK(s.master_port > 0, s.source, ": MASTER_PORT is not set (torchrun sets it; under srun set it)");
  return s;
}

LaunchSpec launch_from_url(const std::string& init_method, int rank, int world_size, const Getenv& getenv_fn) {
  const std::string scheme = "tcp://";
  BRAINSEM_CHECK(init_method.rfind(scheme, 0) == 0, "--dist-url '", init_method,
                 "' must be tcp://HOST:PORT (rank 0's host and a free port)");
  const std::string hostport = init_method.substr(scheme.size());
  const auto colon = hostport.rfind(':');
  BRAINSEM_CHECK(colon != std::string::npos && colon > 0, "--dist-url '", init_method, "' must be tcp://HOST:PORT");
  LaunchSpec s;
  s.master_addr = hostport.substr(0, colon);
  if (s.master_addr.size() > 2 && s.master_addr.front() == '[' && s.master_addr.back() == ']')
    s.master_addr = s.master_addr.substr(1, s.master_addr.size() - 2);  // [::1]:port
  s.master_port = parse_port(hostport.substr(colon + 1), "--dist-url's port");
  BRAINSEM_CHECK(world_size >= 1 && rank >= 0 && rank < world_size,
                 "--dist-url needs --rank R and --world-size N with 0 <= R < N (got ", rank, " and ", world_size, ")");
  s.rank = rank;
  s.world_size = world_size;
  if (const char* local = lookup(getenv_fn, "LOCAL_RANK")) s.local_rank = parse_count(local, "LOCAL_RANK", 0);
  s.source = cat("--dist-url rank ", rank, " of ", world_size);
  return s;
}

}  // namespace brainsem::core
