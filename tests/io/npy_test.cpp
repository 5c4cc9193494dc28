#include "brainsem/io/npy.h"

#include <gtest/gtest.h>

#include "brainsem/core/atomic_file.h"
#include "brainsem/core/error.h"
#include "testing/paths.h"

TEST(Npy, RoundTrip) {
  brainsem::testing::TempDir dir;
  auto x = torch::randn({4, 3});
  brainsem::io::write_npy(dir / "x.npy", x);
  EXPECT_TRUE(torch::equal(brainsem::io::read_npy(dir / "x.npy"), x));
  auto v = torch::arange(5, torch::kInt64);
  brainsem::io::write_npy(dir / "v.npy", v);
  EXPECT_TRUE(torch::equal(brainsem::io::read_npy(dir / "v.npy"), v));
}

TEST(Npy, ReadsTheRealSemanticEmbeddings) {
  BRAINSEM_REQUIRE_SHARED("semantic/clip_vitb32_imagenet1k_text_1000x512.npy");
  auto e = brainsem::io::read_npy(brainsem::testing::shared_dir() / "semantic/clip_vitb32_imagenet1k_text_1000x512.npy");
  ASSERT_EQ(e.sizes(), (std::vector<int64_t>{1000, 512}));
  // Rows are L2-normalised text embeddings (shared/semantic/README.md).
  EXPECT_NEAR(e.norm(2, 1).min().item<float>(), 1.0f, 1e-3);
  EXPECT_NEAR(e.norm(2, 1).max().item<float>(), 1.0f, 1e-3);
}

TEST(Npy, RejectsGarbageAndTruncation) {
  EXPECT_THROW(brainsem::io::parse_npy("hello world", "x"), brainsem::Error);
  brainsem::testing::TempDir dir;
  brainsem::io::write_npy(dir / "x.npy", torch::randn({10}));
  std::string bytes = brainsem::core::read_text_file(dir / "x.npy");
  EXPECT_THROW(brainsem::io::parse_npy(bytes.substr(0, bytes.size() - 4), "x"), brainsem::Error);
}
