#include "testing/ranks.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

namespace fs = std::filesystem;

namespace brainsem::testing {

int free_tcp_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (fd >= 0) close(fd);
    return 29500;
  }
  const int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

std::string torchrun_env(int rank, int world, int port) {
  std::ostringstream os;
  os << "RANK=" << rank << " WORLD_SIZE=" << world << " LOCAL_RANK=" << rank
     << " MASTER_ADDR=127.0.0.1 MASTER_PORT=" << port;
  return os.str();
}

std::string srun_env(int rank, int world, int port) {
  std::ostringstream os;
  os << "-u RANK -u WORLD_SIZE -u MASTER_ADDR SLURM_PROCID=" << rank << " SLURM_NTASKS=" << world
     << " SLURM_LOCALID=" << rank << " SLURM_JOB_NODELIST=localhost SLURM_JOB_ID=4242 MASTER_PORT=" << port;
  return os.str();
}

RankProcess start_process(const std::string& env, const std::string& command, const fs::path& log) {
  RankProcess p;
  p.log = log;
  const std::string line = "exec env " + env + " " + command + " > '" + log.string() + "' 2>&1";
  p.pid = fork();
  if (p.pid == 0) {
    execl("/bin/sh", "sh", "-c", line.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  return p;
}

RankOutcome wait_process(const RankProcess& p) {
  RankOutcome o;
  int status = 0;
  if (p.pid > 0 && waitpid(p.pid, &status, 0) == p.pid && WIFEXITED(status)) o.exit_code = WEXITSTATUS(status);
  std::ifstream in(p.log);
  std::stringstream ss;
  ss << in.rdbuf();
  o.output = ss.str();
  return o;
}

std::vector<RankOutcome> run_ranks(int world, const std::function<std::string(int)>& command,
                                   const std::function<std::string(int)>& env, const fs::path& dir) {
  std::vector<RankProcess> ps;
  for (int r = 0; r < world; ++r)
    ps.push_back(start_process(env(r), command(r), dir / ("rank" + std::to_string(r) + ".log")));
  std::vector<RankOutcome> out;
  for (const auto& p : ps) out.push_back(wait_process(p));
  return out;
}

namespace {
std::map<std::string, std::function<int()>>& workers() {
  static std::map<std::string, std::function<int()>> w;
  return w;
}
}  // namespace

std::string worker_command(const std::string& name) {
  return "BRAINSEM_TEST_WORKER=" + name + " '" + fs::read_symlink("/proc/self/exe").string() + "'";
}

TestWorker::TestWorker(const std::string& name, std::function<int()> body) { workers()[name] = std::move(body); }

int run_test_worker_if_asked() {
  const char* name = std::getenv("BRAINSEM_TEST_WORKER");
  if (name == nullptr) return -1;
  auto it = workers().find(name);
  if (it == workers().end()) {
    std::fprintf(stderr, "no test worker named %s\n", name);
    return 2;
  }
  try {
    return it->second();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}

}  // namespace brainsem::testing
