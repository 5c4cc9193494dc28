// The runtime settings main() makes before LibTorch starts (core/runtime.h): set when unset, a
// user's own value kept, BRAINSEM_NO_REEXEC leaving both alone; `brainsem info` reports them.
#include <gtest/gtest.h>

#include "brainsem/core/process_group.h"
#include "brainsem/core/runtime.h"
#include "testing/paths.h"

using brainsem::testing::run_cli_with_env;

TEST(CliInfo, SetsTheRuntimeEnvironmentOnceAndKeepsTheUsersChoice) {
  std::string out;
  ASSERT_EQ(run_cli_with_env("-u OMP_WAIT_POLICY -u GLIBC_TUNABLES -u BRAINSEM_NO_REEXEC", "info", &out), 0) << out;
  EXPECT_NE(out.find("OMP_WAIT_POLICY PASSIVE\n"), std::string::npos) << out;
  EXPECT_NE(out.find(std::string("GLIBC_TUNABLES ") + brainsem::core::kMallocTunables + "\n"), std::string::npos)
      << out;

  ASSERT_EQ(run_cli_with_env("-u BRAINSEM_NO_REEXEC OMP_WAIT_POLICY=ACTIVE GLIBC_TUNABLES=glibc.malloc.arena_max=2",
                             "info", &out),
            0)
      << out;
  EXPECT_NE(out.find("OMP_WAIT_POLICY ACTIVE\n"), std::string::npos) << out;
  EXPECT_NE(out.find("GLIBC_TUNABLES glibc.malloc.arena_max=2\n"), std::string::npos) << out;

  ASSERT_EQ(run_cli_with_env("-u OMP_WAIT_POLICY -u GLIBC_TUNABLES BRAINSEM_NO_REEXEC=1", "info", &out), 0) << out;
  EXPECT_NE(out.find("OMP_WAIT_POLICY (unset)\n"), std::string::npos) << out;
  EXPECT_NE(out.find("GLIBC_TUNABLES (unset)\n"), std::string::npos) << out;
}

TEST(CliInfo, ErrorsShowTheSourceLineOnlyWhenVerbose) {
  std::string out;
  EXPECT_NE(brainsem::testing::run_cli("data inspect /nonexistent/Subject1.h5", &out), 0);
  EXPECT_NE(out.find("/nonexistent/Subject1.h5: file not found"), std::string::npos) << out;
  EXPECT_EQ(out.find("raised at"), std::string::npos) << out;
  EXPECT_NE(brainsem::testing::run_cli("--verbose data inspect /nonexistent/Subject1.h5", &out), 0);
  EXPECT_NE(out.find("raised at src/brainsem/experiment/inspect.cpp"), std::string::npos) << out;
}

TEST(CliInfo, SaysWhichTorchDistributedEnginesThisBuildHas) {
  std::string out;
  ASSERT_EQ(brainsem::testing::run_cli("info", &out), 0) << out;
  const auto at = out.find("torch.distributed ");
  ASSERT_NE(at, std::string::npos) << out;
  const std::string line = out.substr(at, out.find('\n', at) - at);
  EXPECT_EQ(line.find("Gloo") != std::string::npos, brainsem::core::has_distributed_support()) << line;
  EXPECT_EQ(line.find("NCCL") != std::string::npos, brainsem::core::has_nccl_support()) << line;
}
