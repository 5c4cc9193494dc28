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
