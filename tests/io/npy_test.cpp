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
  auto e =
      brainsem::io::read_npy(brainsem::testing::shared_dir() / "semantic/clip_vitb32_imagenet1k_text_1000x512.npy");
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

namespace {
// A version-1.0 .npy with the given header dict and `data_bytes` zero bytes of data.
std::string npy_with_header(std::string header, size_t data_bytes) {
  while ((10 + header.size() + 1) % 64 != 0) header.push_back(' ');
  header.push_back('\n');
  std::string out("\x93NUMPY\x01\x00", 8);
  out.push_back(static_cast<char>(header.size() & 0xff));
  out.push_back(static_cast<char>(header.size() >> 8));
  return out + header + std::string(data_bytes, '\0');
}
std::string error_of(const std::string& bytes) {
  try {
    brainsem::io::parse_npy(bytes, "x.npy");
  } catch (const brainsem::Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(Npy, HeaderIsParsedNotMatched) {
  // What numpy writes, with either quote style and a trailing comma or none, parses.
  auto ok = brainsem::io::parse_npy(
      npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (40, 30), }", 40 * 30 * 4), "x");
  EXPECT_EQ(ok.sizes(), (std::vector<int64_t>{40, 30}));
  auto h = brainsem::io::parse_npy_header("{\"shape\": (7,), \"fortran_order\": False, \"descr\": \"<i8\"}", "x");
  EXPECT_EQ(h.shape, (std::vector<int64_t>{7}));
  EXPECT_EQ(h.descr, "<i8");
  EXPECT_TRUE(
      brainsem::io::parse_npy_header("{'descr': '<f8', 'fortran_order': False, 'shape': ()}", "x").shape.empty());
  auto empty = brainsem::io::parse_npy(
      npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 99999999999), }", 0), "x");
  EXPECT_EQ(empty.numel(), 0);

  // Each of these once imported as 40 x 30 or died in stoll / the allocator.
  for (const std::string bad :
       {"{'descr': '<f4', 'fortran_order': False, 'shape': (-40, 30), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (40, x30), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (40 30), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (40, 30), 'extra': 1}",
        "{'descr': '<f4', 'descr': '<f8', 'fortran_order': False, 'shape': (40, 30)}",
        "{'descr': '<f4', 'shape': (40, 30)}", "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (40, 30)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (40, 30)} trailing",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999, 30)}"}) {
    const std::string what = error_of(npy_with_header(bad, 40 * 30 * 4));
    EXPECT_NE(what.find("malformed .npy header"), std::string::npos) << bad << " -> '" << what << "'";
  }
  // Dimensions whose product overflows, or exceeds the file, are refused before allocating.
  for (const std::string big :
       {"{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4611686018427387904)}",
        "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000, 1000000000)}"}) {
    const std::string what = error_of(npy_with_header(big, 64));
    EXPECT_NE(what.find("the file is"), std::string::npos) << big << " -> '" << what << "'";
    EXPECT_NE(what.find("corrupt"), std::string::npos) << big << " -> '" << what << "'";
  }
  // An empty array whose other dimensions overflow (found by fuzz/fuzz_npy: LibTorch's own
  // overflow error escaped) is refused by the reader.
  const std::string what = error_of(
      npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (7, 88888, 88888, 888, 8888888, 0, 9)}", 0));
  EXPECT_NE(what.find("is larger than any array can be"), std::string::npos) << what;
}
