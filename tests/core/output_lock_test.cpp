// One writer per output: a second lock on the same output fails naming the holder's PID.
#include "brainsem/core/output_lock.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <optional>
#include <string>

#include "brainsem/core/error.h"
#include "testing/paths.h"

namespace fs = std::filesystem;
using brainsem::core::OutputLock;

TEST(OutputLock, SecondHolderFailsNamingTheFirstAndReleaseRemovesTheFile) {
  brainsem::testing::TempDir dir;
  const fs::path out = dir / "runs" / "s1";
  std::optional<OutputLock> first(std::in_place, out);
  EXPECT_TRUE(fs::exists(first->lock_file()));
  EXPECT_EQ(first->lock_file().parent_path(), fs::absolute(dir / "runs").lexically_normal());
  EXPECT_FALSE(fs::exists(out));  // the output itself is not created or touched
  // flock(2) locks belong to open file descriptions, so a second one in this process conflicts
  // exactly as another process would.
  for (const fs::path& same : {out, dir / "runs" / "s1" / "", dir / "runs" / "." / "s1"}) {
    try {
      OutputLock second(same);
      FAIL() << "a second lock on " << same << " was granted";
    } catch (const brainsem::Error& e) {
      EXPECT_NE(std::string(e.what()).find("is in use by process " + std::to_string(getpid())), std::string::npos)
          << e.what();
    }
  }
  OutputLock other(dir / "runs" / "s2");  // another output is free
  const fs::path file = first->lock_file();
  first.reset();
  EXPECT_FALSE(fs::exists(file));
  OutputLock again(out);  // free after release
  EXPECT_TRUE(fs::exists(again.lock_file()));
}

TEST(OutputLock, FoldersMadeForTheLockAreRemovedIfNothingWasWritten) {
  brainsem::testing::TempDir dir;
  { OutputLock lock(dir / "new" / "deeper" / "run"); }
  EXPECT_FALSE(fs::exists(dir / "new"));  // a failed command leaves no empty folders
  {
    OutputLock lock(dir / "kept" / "run");
    fs::create_directories(dir / "kept" / "run");  // the command wrote its output
  }
  EXPECT_TRUE(fs::exists(dir / "kept" / "run"));
}
