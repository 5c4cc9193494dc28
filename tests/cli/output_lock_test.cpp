// Two real processes on one --out: the second stops at once naming the first one's PID, leaves the
// first one's run alone, and the output is free again once the first has gone (even when killed).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "brainsem/core/atomic_file.h"
#include "testing/paths.h"

namespace fs = std::filesystem;
using brainsem::testing::run_cli;

namespace {
std::string q(const fs::path& p) { return "'" + p.string() + "'"; }
}  // namespace

TEST(CliOutputLock, ASecondTrainOnTheSameOutStopsNamingTheFirst) {
  brainsem::testing::TempDir dir;
  // 8 classes x 2 samples, 6 voxels in 2 ROIs, 3-d class embeddings; classes 6 and 7 are the test split.
  std::string x, classes, split, emb, names;
  for (int c = 0; c < 8; ++c) {
    names += "c" + std::to_string(c) + "\n";
    emb += std::to_string(c % 3) + "," + std::to_string((c * 7) % 5) + "," + std::to_string(c) + "\n";
    for (int s = 0; s < 2; ++s) {
      for (int v = 0; v < 6; ++v) x += (v ? "," : "") + std::to_string((c * 13 + v * 7 + s * 3) % 11);
      x += "\n";
      classes += "c" + std::to_string(c) + "\n";
      split += c >= 6 ? "test\n" : "train\n";
    }
  }
  brainsem::core::write_text_atomically(dir / "x.csv", x);
  brainsem::core::write_text_atomically(dir / "rois.txt", "A\nA\nA\nB\nB\nB\n");
  brainsem::core::write_text_atomically(dir / "classes.txt", classes);
  brainsem::core::write_text_atomically(dir / "split.txt", split);
  brainsem::core::write_text_atomically(dir / "e.csv", emb);
  brainsem::core::write_text_atomically(dir / "names.txt", names);
  std::string out;
  ASSERT_EQ(
      run_cli("data import --x " + q(dir / "x.csv") + " --rois " + q(dir / "rois.txt") + " --classes " +
                  q(dir / "classes.txt") + " --split " + q(dir / "split.txt") + " --out " + q(dir / "d.safetensors"),
              &out),
      0)
      << out;
  ASSERT_EQ(run_cli("class-embeddings import --x " + q(dir / "e.csv") + " --classes " + q(dir / "names.txt") +
                        " --out " + q(dir / "e.safetensors"),
                    &out),
            0)
      << out;
  const std::string train = "train -q --subject " + q(dir / "d.safetensors") + " --class-embeddings " +
                            q(dir / "e.safetensors") + " --init random --val-classes 0 --out " + q(dir / "run");

  // The first process trains for a long time; wait until it holds the lock.
  const pid_t first = fork();
  ASSERT_GE(first, 0);
  if (first == 0) {
    const std::string cmd =
        "exec '" + brainsem::testing::cli_binary().string() + "' " + train + " --steps 100000000 > /dev/null 2>&1";
    execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  const fs::path lock = dir / ".run.lock";
  for (int i = 0; i < 600 && !fs::exists(lock); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(fs::exists(lock)) << "the first process never took the lock";

  EXPECT_NE(run_cli(train + " --steps 10", &out), 0);
  EXPECT_NE(out.find("is in use by process " + std::to_string(first)), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(dir / "run" / "results.json"));

  // Killed, the first process's lock goes with it; the rerun may not resume a foreign half-run,
  // but it is no longer blocked by a lock.
  kill(first, SIGKILL);
  int status = 0;
  waitpid(first, &status, 0);
  run_cli(train + " --steps 10", &out);
  EXPECT_EQ(out.find("is in use by process"), std::string::npos) << out;
}
