#include "testing/paths.h"

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <random>

namespace fs = std::filesystem;

namespace brainsem::testing {

fs::path shared_dir() {
  if (const char* env = std::getenv("BRAINSEM_SHARED_DIR")) return env;
  return BRAINSEM_SHARED_DIR;
}

bool fixtures_required() {
  const char* env = std::getenv("BRAINSEM_REQUIRE_FIXTURES");
  return env != nullptr && std::string(env) == "1";
}

fs::path source_dir() { return BRAINSEM_SOURCE_DIR; }

fs::path cli_binary() { return BRAINSEM_BIN; }

TempDir::TempDir() {
  std::random_device rd;
  path_ = fs::temp_directory_path() / ("brainsem-test-" + std::to_string(getpid()) + "-" + std::to_string(rd()));
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

int run_cli(const std::string& args, std::string* output) { return run_cli_with_env("", args, output); }

int run_cli_with_env(const std::string& env, const std::string& args, std::string* output) {
  std::string cmd = "env " + env + " '" + BRAINSEM_BIN + "' " + args + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return -1;
  std::array<char, 4096> buf;
  std::string out;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
  int status = pclose(pipe);
  if (output) *output = out;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace brainsem::testing
