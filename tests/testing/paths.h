#pragma once
// Where tests find things: the shared/ reference folder, a fresh temporary directory, the CLI.
#include <filesystem>
#include <string>

namespace brainsem::testing {

// ../shared beside the checkout (or BRAINSEM_SHARED_DIR at configure time, or the env var
// BRAINSEM_SHARED_DIR at run time).
std::filesystem::path shared_dir();
// True when BRAINSEM_REQUIRE_FIXTURES=1 (CI): a missing fixture fails the test instead of skipping it.
bool fixtures_required();
// Skips the current test with `message` (what is missing and how to get it), or fails it when
// fixtures are required. A macro because GTEST_SKIP and FAIL return from the test body.
#define BRAINSEM_MISSING_FIXTURE(message)                                                                  \
  do {                                                                                                     \
    if (::brainsem::testing::fixtures_required()) FAIL() << (message) << " (BRAINSEM_REQUIRE_FIXTURES=1)"; \
    GTEST_SKIP() << (message) << "; set BRAINSEM_REQUIRE_FIXTURES=1 to fail instead of skipping";          \
  } while (0)
// The same for a file under shared/.
#define BRAINSEM_REQUIRE_SHARED(rel)                                                                         \
  do {                                                                                                       \
    if (!std::filesystem::exists(::brainsem::testing::shared_dir() / (rel)))                                 \
      BRAINSEM_MISSING_FIXTURE("fixture " + (::brainsem::testing::shared_dir() / (rel)).string() +           \
                               " missing: put the project's shared/ folder beside the checkout (../shared) " \
                               "or point BRAINSEM_SHARED_DIR at it");                                        \
  } while (0)

std::filesystem::path source_dir();
// The built `brainsem` program.
std::filesystem::path cli_binary();
// A new empty directory under the system temp dir, removed when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// Runs the built `brainsem` binary with `args` (a shell-quoted string); returns the exit code
// and fills `output` with stdout+stderr.
int run_cli(const std::string& args, std::string* output = nullptr);
// The same under `env ENV` (e.g. "-u OMP_WAIT_POLICY VAR=value"), for the runtime settings.
int run_cli_with_env(const std::string& env, const std::string& args, std::string* output = nullptr);

}  // namespace brainsem::testing
