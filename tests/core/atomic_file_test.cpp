// Atomic output files (core/atomic_file.h): a failed write leaves nothing behind.
#include "brainsem/core/atomic_file.h"

#include <gtest/gtest.h>

#include "brainsem/core/error.h"
#include "testing/paths.h"

TEST(AtomicFile, FailureLeavesNoFile) {
  brainsem::testing::TempDir dir;
  EXPECT_THROW(brainsem::core::write_atomically(dir / "out.txt",
                                                [](const std::filesystem::path& tmp) {
                                                  brainsem::core::write_text_atomically(tmp, "partial");
                                                  brainsem::fail("boom");
                                                }),
               brainsem::Error);
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
  brainsem::core::write_text_atomically(dir / "ok.txt", "hello");
  EXPECT_EQ(brainsem::core::read_text_file(dir / "ok.txt"), "hello");
}
