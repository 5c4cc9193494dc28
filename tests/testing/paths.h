#pragma once
// Where tests find things: the shared/ reference folder, a fresh temporary directory, the CLI.
#include <filesystem>
#include <string>

namespace brainsem::testing {

// ../shared beside the checkout (or BRAINSEM_SHARED_DIR at configure time, or the env var
// BRAINSEM_SHARED_DIR at run time).
std::filesystem::path shared_dir();
// Skips the current test (GTEST_SKIP) when a shared/ fixture is missing; call via the macro.
#define BRAINSEM_REQUIRE_SHARED(rel)                                                        \
  do {                                                                                      \
    if (!std::filesystem::exists(::brainsem::testing::shared_dir() / (rel)))                \
      GTEST_SKIP() << "fixture " << (::brainsem::testing::shared_dir() / (rel)) << " missing"; \
  } while (0)

std::filesystem::path source_dir();
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

}  // namespace brainsem::testing
