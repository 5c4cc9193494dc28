#pragma once
// Multi-process tests: start the ranks of one torch.distributed job as real processes on loopback
// (127.0.0.1 only), the way torchrun or srun would, and collect each one's exit code and output.
// A test binary can also act as a rank itself: a worker registered with TestWorker runs instead of
// the tests when BRAINSEM_TEST_WORKER names it (tests/testing/test_main.cpp).
#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace brainsem::testing {

// A TCP port that was free a moment ago on 127.0.0.1.
int free_tcp_port();

// The variables torchrun sets for `rank` of `world`, as `env` arguments.
std::string torchrun_env(int rank, int world, int port);
// The variables srun sets (no MASTER_ADDR: rank 0's host comes from SLURM_JOB_NODELIST).
std::string srun_env(int rank, int world, int port);

struct RankProcess {
  pid_t pid = -1;
  std::filesystem::path log;  // stdout + stderr
};
struct RankOutcome {
  int exit_code = -1;  // -1 if killed by a signal
  std::string output;
};

// Runs `env ENV COMMAND` in the background (COMMAND is a shell command line).
RankProcess start_process(const std::string& env, const std::string& command, const std::filesystem::path& log);
RankOutcome wait_process(const RankProcess& p);
// Starts `world` ranks (command(rank), env(rank)) with logs in `dir`, and waits for all.
std::vector<RankOutcome> run_ranks(int world, const std::function<std::string(int rank)>& command,
                                   const std::function<std::string(int rank)>& env, const std::filesystem::path& dir);

// The running test binary, to start as a worker: "env BRAINSEM_TEST_WORKER=NAME 'binary'".
std::string worker_command(const std::string& name);

struct TestWorker {
  TestWorker(const std::string& name, std::function<int()> body);
};
// Runs the worker BRAINSEM_TEST_WORKER names and returns its exit code, or -1 when none is asked.
int run_test_worker_if_asked();

}  // namespace brainsem::testing
