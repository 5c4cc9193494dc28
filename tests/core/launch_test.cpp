#include "brainsem/core/launch.h"

#include <gtest/gtest.h>

#include <map>

#include "brainsem/core/error.h"

using namespace brainsem;

namespace {
core::WorkShare share_of(const std::map<std::string, std::string>& env) {
  return core::work_share_from_environment([&](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  });
}
std::string error_of(const std::map<std::string, std::string>& env) {
  try {
    share_of(env);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(WorkShare, NoLauncherMeansOneProcessDoingEverything) {
  const auto s = share_of({});
  EXPECT_EQ(s.index, 0);
  EXPECT_EQ(s.count, 1);
  for (size_t k = 0; k < 5; ++k) EXPECT_TRUE(s.mine(k));
}

TEST(WorkShare, ReadsSlurmArraysTorchrunAndSrun) {
  // sbatch --array=3-11:4 runs tasks 3, 7, 11: task 7 is share 1 of 3.
  auto s = share_of({{"SLURM_ARRAY_TASK_ID", "7"},
                     {"SLURM_ARRAY_TASK_MIN", "3"},
                     {"SLURM_ARRAY_TASK_STEP", "4"},
                     {"SLURM_ARRAY_TASK_COUNT", "3"},
                     {"SLURM_PROCID", "0"},  // every array task is its own job step
                     {"SLURM_NTASKS", "1"}});
  EXPECT_EQ(s.index, 1);
  EXPECT_EQ(s.count, 3);
  EXPECT_TRUE(s.mine(1) && s.mine(4) && !s.mine(0) && !s.mine(2));
  s = share_of({{"RANK", "2"}, {"WORLD_SIZE", "4"}, {"LOCAL_RANK", "0"}});
  EXPECT_EQ(s.index, 2);
  EXPECT_EQ(s.count, 4);
  s = share_of({{"SLURM_PROCID", "1"}, {"SLURM_NTASKS", "2"}});
  EXPECT_EQ(s.index, 1);
  EXPECT_EQ(s.count, 2);
  EXPECT_EQ(s.source, "srun task 1 of 2");
}

TEST(WorkShare, RefusesInconsistentLaunchVariablesNamingThem) {
  EXPECT_NE(error_of({{"RANK", "0"}}).find("WORLD_SIZE is not"), std::string::npos);
  EXPECT_NE(error_of({{"RANK", "4"}, {"WORLD_SIZE", "4"}}).find("is not below the count 4"), std::string::npos);
  EXPECT_NE(error_of({{"RANK", "x"}, {"WORLD_SIZE", "4"}}).find("RANK = 'x' is not an integer"), std::string::npos);
  EXPECT_NE(error_of({{"SLURM_ARRAY_TASK_ID", "2"}}).find("SLURM_ARRAY_TASK_COUNT is not"), std::string::npos);
  EXPECT_NE(error_of({{"SLURM_ARRAY_TASK_ID", "4"},
                      {"SLURM_ARRAY_TASK_MIN", "3"},
                      {"SLURM_ARRAY_TASK_STEP", "4"},
                      {"SLURM_ARRAY_TASK_COUNT", "3"}})
                .find("is not in the array"),
            std::string::npos);
  EXPECT_NE(error_of({{"SLURM_PROCID", "0"}}).find("SLURM_NTASKS is not"), std::string::npos);
}

TEST(WorkShare, ParsesShardOptions) {
  const auto s = core::parse_work_share("1/4");
  EXPECT_EQ(s.index, 1);
  EXPECT_EQ(s.count, 4);
  EXPECT_THROW(core::parse_work_share("4/4"), Error);
  EXPECT_THROW(core::parse_work_share("1"), Error);
  EXPECT_THROW(core::parse_work_share("-1/4"), Error);
  EXPECT_THROW(core::parse_work_share("0/0"), Error);
}

namespace {
std::function<const char*(const char*)> env_of(const std::map<std::string, std::string>& env) {
  return [&env](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
}
std::string launch_error(const std::map<std::string, std::string>& env) {
  try {
    core::launch_from_environment(env_of(env));
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(LaunchSpec, NoLauncherIsASingleProcess) {
  const auto s = core::launch_from_environment(env_of({}));
  EXPECT_FALSE(s.distributed());
  EXPECT_EQ(s.rank, 0);
  // One srun task or a torchrun of one is also a single process: nothing to connect to.
  EXPECT_FALSE(core::launch_from_environment(env_of({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "1"}})).distributed());
}

TEST(LaunchSpec, ReadsTorchrunsVariables) {
  const std::map<std::string, std::string> env{
      {"RANK", "3"}, {"WORLD_SIZE", "4"}, {"LOCAL_RANK", "1"}, {"MASTER_ADDR", "node7"}, {"MASTER_PORT", "29511"}};
  const auto s = core::launch_from_environment(env_of(env));
  EXPECT_EQ(s.rank, 3);
  EXPECT_EQ(s.world_size, 4);
  EXPECT_EQ(s.local_rank, 1);
  EXPECT_EQ(s.master_addr, "node7");
  EXPECT_EQ(s.master_port, 29511);
  EXPECT_EQ(s.source, "torchrun rank 3 of 4");
}

TEST(LaunchSpec, UnderSrunRankZerosHostIsTheNodeListsFirstAndThePortFollowsTheJob) {
  const std::map<std::string, std::string> env{{"SLURM_PROCID", "5"},
                                               {"SLURM_NTASKS", "8"},
                                               {"SLURM_LOCALID", "1"},
                                               {"SLURM_JOB_NODELIST", "gpu[03-05,07],cpu1"},
                                               {"SLURM_JOB_ID", "123456"}};
  const auto s = core::launch_from_environment(env_of(env));
  EXPECT_EQ(s.rank, 5);
  EXPECT_EQ(s.world_size, 8);
  EXPECT_EQ(s.local_rank, 1);
  EXPECT_EQ(s.master_addr, "gpu03");
  EXPECT_EQ(s.master_port, 20000 + 123456 % 20000);
  EXPECT_EQ(s.source, "srun task 5 of 8");
  auto with_master = env;
  with_master["MASTER_ADDR"] = "login1";
  with_master["MASTER_PORT"] = "29600";
  const auto m = core::launch_from_environment(env_of(with_master));
  EXPECT_EQ(m.master_addr, "login1");
  EXPECT_EQ(m.master_port, 29600);
}

TEST(LaunchSpec, FirstSlurmHostOfEveryNodeListForm) {
  EXPECT_EQ(core::first_slurm_host("node1"), "node1");
  EXPECT_EQ(core::first_slurm_host("a,b,c"), "a");
  EXPECT_EQ(core::first_slurm_host("gpu[03-05,07]"), "gpu03");
  EXPECT_EQ(core::first_slurm_host("gpu[7,9],cpu[1-2]"), "gpu7");
  EXPECT_EQ(core::first_slurm_host("rack1-n[010-012]"), "rack1-n010");
  EXPECT_THROW(core::first_slurm_host(""), Error);
  EXPECT_THROW(core::first_slurm_host("gpu[03-05"), Error);
}

TEST(LaunchSpec, ExplicitInitMethod) {
  const auto s = core::launch_from_url("tcp://10.0.0.2:29700", 1, 2, env_of({}));
  EXPECT_EQ(s.master_addr, "10.0.0.2");
  EXPECT_EQ(s.master_port, 29700);
  EXPECT_EQ(s.rank, 1);
  EXPECT_TRUE(s.distributed());
  EXPECT_EQ(core::launch_from_url("tcp://[::1]:29700", 0, 2, env_of({})).master_addr, "::1");
  EXPECT_THROW(core::launch_from_url("env://", 0, 2, env_of({})), Error);
  EXPECT_THROW(core::launch_from_url("tcp://host", 0, 2, env_of({})), Error);
  EXPECT_THROW(core::launch_from_url("tcp://host:70000", 0, 2, env_of({})), Error);
  EXPECT_THROW(core::launch_from_url("tcp://host:29700", 2, 2, env_of({})), Error);
}

TEST(LaunchSpec, IncompleteOrBadVariablesAreRefusedNamingThem) {
  EXPECT_NE(launch_error({{"RANK", "0"}}).find("WORLD_SIZE is not"), std::string::npos);
  EXPECT_NE(launch_error({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_PORT", "1"}}).find("MASTER_ADDR is not set"),
            std::string::npos);
  EXPECT_NE(launch_error({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}}).find("MASTER_PORT is not set"),
            std::string::npos);
  EXPECT_NE(launch_error({{"RANK", "2"}, {"WORLD_SIZE", "2"}}).find("not below the world size"), std::string::npos);
  EXPECT_NE(launch_error({{"RANK", "x"}, {"WORLD_SIZE", "2"}}).find("RANK = 'x'"), std::string::npos);
  EXPECT_NE(launch_error({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "99999"}})
                .find("TCP port"),
            std::string::npos);
}
