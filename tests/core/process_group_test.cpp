// The process group across real processes over Gloo on loopback: sums and gathers are exact for 2
// and 3 ranks under torchrun's and srun's variables, and when one rank fails or is killed, the
// others fail too, naming that rank.
#include "brainsem/core/process_group.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <cstdlib>
#include <cstring>

#include "brainsem/core/error.h"
#include "testing/paths.h"
#include "testing/ranks.h"

using namespace brainsem;
namespace bt = brainsem::testing;

namespace {

// One rank: sums [rank+1]*3, gathers rows [rank, 10*rank], meets at a barrier. BRAINSEM_TEST_FAULT
// makes rank 1 throw ("error") or kill itself ("kill") first.
const bt::TestWorker collective_worker("collectives", [] {
  core::ProcessGroup group(core::launch_from_environment(), std::chrono::seconds(60));
  const char* fault = std::getenv("BRAINSEM_TEST_FAULT");
  core::run_as_rank(&group, [&] {
    if (fault && group.rank() == 1 && std::strcmp(fault, "error") == 0)
      throw Error("rank one's input file is unreadable");
    if (fault && group.rank() == 1 && std::strcmp(fault, "kill") == 0) raise(SIGKILL);
    const int n = group.size();
    std::vector<torch::Tensor> sum{torch::full({3}, group.rank() + 1.0)};
    group.all_reduce_sum(sum);
    BRAINSEM_CHECK(torch::equal(sum[0], torch::full({3}, n * (n + 1) / 2.0)), "sum ", sum[0]);
    const auto rows = group.all_gather(torch::tensor({{1.0 * group.rank(), 10.0 * group.rank()}}));  // [n, 2]
    BRAINSEM_CHECK(rows.size(0) == n, "gathered ", rows.sizes());
    for (int r = 0; r < n; ++r)
      BRAINSEM_CHECK(rows[r][0].item<double>() == r && rows[r][1].item<double>() == 10 * r, "row ", r, ": ", rows[r]);
    group.barrier();
  });
  std::printf("rank %d of %d (%s) ok\n", group.rank(), group.size(), group.spec().source.c_str());
  return 0;
});

std::vector<bt::RankOutcome> run_job(int world, bool srun, const std::string& fault = "") {
  bt::TempDir dir;
  const int port = bt::free_tcp_port();
  return bt::run_ranks(
      world, [](int) { return bt::worker_command("collectives"); },
      [&](int r) {
        return (srun ? bt::srun_env(r, world, port) : bt::torchrun_env(r, world, port)) +
               (fault.empty() ? "" : " BRAINSEM_TEST_FAULT=" + fault);
      },
      dir.path());
}

}  // namespace

TEST(ProcessGroup, SumsAndGathersExactlyOverTwoAndThreeRanks) {
  if (!core::has_distributed_support()) GTEST_SKIP() << "built without Gloo (libgloo-dev)";
  for (int world : {2, 3}) {
    const auto ranks = run_job(world, false);
    for (int r = 0; r < world; ++r) {
      EXPECT_EQ(ranks[r].exit_code, 0) << "rank " << r << ": " << ranks[r].output;
      EXPECT_NE(ranks[r].output.find("rank " + std::to_string(r) + " of " + std::to_string(world) + " (torchrun"),
                std::string::npos)
          << ranks[r].output;
    }
  }
}

TEST(ProcessGroup, JoinsFromSrunVariablesWithRankZerosHostFromTheNodeList) {
  if (!core::has_distributed_support()) GTEST_SKIP() << "built without Gloo (libgloo-dev)";
  const auto ranks = run_job(2, true);
  for (int r = 0; r < 2; ++r) {
    EXPECT_EQ(ranks[r].exit_code, 0) << ranks[r].output;
    EXPECT_NE(ranks[r].output.find("(srun task " + std::to_string(r) + " of 2)"), std::string::npos) << ranks[r].output;
  }
}

TEST(ProcessGroup, ARankThatFailsIsNamedWithItsReasonByTheOthers) {
  if (!core::has_distributed_support()) GTEST_SKIP() << "built without Gloo (libgloo-dev)";
  const auto ranks = run_job(3, false, "error");
  for (int r = 0; r < 3; ++r) EXPECT_NE(ranks[r].exit_code, 0) << "rank " << r << ": " << ranks[r].output;
  for (int r : {0, 2})
    EXPECT_NE(ranks[r].output.find("rank 1 failed: rank one's input file is unreadable"), std::string::npos)
        << "rank " << r << ": " << ranks[r].output;
}

TEST(ProcessGroup, AKilledRankIsNamedByTheOthers) {
  if (!core::has_distributed_support()) GTEST_SKIP() << "built without Gloo (libgloo-dev)";
  const auto ranks = run_job(3, false, "kill");
  EXPECT_EQ(ranks[1].exit_code, -1);  // killed by the signal
  for (int r : {0, 2}) {
    EXPECT_NE(ranks[r].exit_code, 0) << ranks[r].output;
    EXPECT_NE(ranks[r].output.find("rank 1 stopped (killed or lost)"), std::string::npos)
        << "rank " << r << ": " << ranks[r].output;
  }
}

TEST(ProcessGroup, ARankThatNeverArrivesFailsTheJoinNamingTheAddress) {
  if (!core::has_distributed_support()) GTEST_SKIP() << "built without Gloo (libgloo-dev)";
  core::LaunchSpec spec;
  spec.world_size = 2;
  spec.master_addr = "127.0.0.1";
  spec.master_port = bt::free_tcp_port();
  spec.source = "torchrun rank 0 of 2";
  try {
    core::ProcessGroup group(spec, std::chrono::seconds(2));
    FAIL() << "joined a group whose rank 1 never started";
  } catch (const Error& e) {
    EXPECT_NE(
        std::string(e.what()).find("could not join the process group at 127.0.0.1:" + std::to_string(spec.master_port)),
        std::string::npos)
        << e.what();
  }
}
