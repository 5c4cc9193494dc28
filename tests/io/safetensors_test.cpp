#include "brainsem/io/safetensors.h"

#include <gtest/gtest.h>

#include <fstream>

#include "brainsem/core/error.h"
#include "testing/paths.h"

namespace fs = std::filesystem;
using brainsem::io::SafetensorsFile;
using brainsem::io::write_safetensors;

namespace {

void write_raw(const fs::path& p, const std::string& header, const std::string& data) {
  std::ofstream out(p, std::ios::binary);
  uint64_t n = header.size();
  out.write(reinterpret_cast<const char*>(&n), 8);
  out << header << data;
}

std::string error_of(const fs::path& p) {
  try {
    SafetensorsFile f(p);
  } catch (const brainsem::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Safetensors, RoundTripKeepsValuesDtypesAndMetadata) {
  brainsem::testing::TempDir dir;
  auto a = torch::randn({3, 5});
  auto b = torch::arange(7, torch::kInt64);
  auto c = torch::rand({2, 2}, torch::kFloat64);
  write_safetensors(dir / "x.safetensors", {{"a", a}, {"b", b}, {"c", c}}, {{"encoder", "test"}});
  SafetensorsFile f(dir / "x.safetensors");
  EXPECT_TRUE(torch::equal(f.tensor("a"), a));
  EXPECT_TRUE(torch::equal(f.tensor("b"), b));
  EXPECT_TRUE(torch::equal(f.tensor("c"), c));
  EXPECT_EQ(f.metadata_at("encoder"), "test");
  EXPECT_TRUE(torch::equal(f.rows("a", 1, 3), a.slice(0, 1, 3)));
  EXPECT_EQ(f.names(), (std::vector<std::string>{"a", "b", "c"}));
}

TEST(Safetensors, ReadsTheGoldenReferenceFile) {
  BRAINSEM_REQUIRE_SHARED("golden/clip_hf/reference_outputs.safetensors");
  SafetensorsFile f(brainsem::testing::shared_dir() / "golden/clip_hf/reference_outputs.safetensors");
  ASSERT_TRUE(f.contains("pixel_values"));
  auto px = f.tensor("pixel_values");
  EXPECT_EQ(px.dim(), 4);
  EXPECT_EQ(px.size(1), 3);
  EXPECT_TRUE(torch::isfinite(px).all().item<bool>());
}

TEST(Safetensors, RejectsTruncatedFile) {
  brainsem::testing::TempDir dir;
  write_raw(dir / "t.safetensors", R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", std::string(8, '\0'));
  EXPECT_NE(error_of(dir / "t.safetensors").find("past the end"), std::string::npos) << error_of(dir / "t.safetensors");
}

TEST(Safetensors, RejectsHeaderLengthPastTheEnd) {
  brainsem::testing::TempDir dir;
  std::ofstream out(dir / "h.safetensors", std::ios::binary);
  uint64_t n = 1000;
  out.write(reinterpret_cast<const char*>(&n), 8);
  out << "{}";
  out.close();
  EXPECT_NE(error_of(dir / "h.safetensors").find("runs past the end"), std::string::npos);
}

TEST(Safetensors, RejectsHugeHeaderLength) {
  brainsem::testing::TempDir dir;
  std::ofstream out(dir / "h.safetensors", std::ios::binary);
  uint64_t n = 1ull << 40;
  out.write(reinterpret_cast<const char*>(&n), 8);
  out << "{}";
  out.close();
  EXPECT_NE(error_of(dir / "h.safetensors").find("exceeds"), std::string::npos);
}

TEST(Safetensors, RejectsOverlappingOffsets) {
  brainsem::testing::TempDir dir;
  write_raw(
      dir / "o.safetensors",
      R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
      std::string(12, '\0'));
  EXPECT_NE(error_of(dir / "o.safetensors").find("overlaps"), std::string::npos) << error_of(dir / "o.safetensors");
}

TEST(Safetensors, RejectsUnknownDtype) {
  brainsem::testing::TempDir dir;
  write_raw(dir / "d.safetensors", R"({"a":{"dtype":"Q7","shape":[2],"data_offsets":[0,8]}})", std::string(8, '\0'));
  EXPECT_NE(error_of(dir / "d.safetensors").find("unknown dtype 'Q7'"), std::string::npos);
}

TEST(Safetensors, RejectsShapeThatDisagreesWithTheByteSpan) {
  brainsem::testing::TempDir dir;
  write_raw(dir / "s.safetensors", R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", std::string(8, '\0'));
  EXPECT_NE(error_of(dir / "s.safetensors").find("span"), std::string::npos);
}

TEST(Safetensors, RejectsNonJsonHeaderAndTinyFile) {
  brainsem::testing::TempDir dir;
  write_raw(dir / "j.safetensors", "not json", "");
  EXPECT_NE(error_of(dir / "j.safetensors").find("not valid JSON"), std::string::npos);
  std::ofstream(dir / "tiny.safetensors") << "abc";
  EXPECT_NE(error_of(dir / "tiny.safetensors").find("too short"), std::string::npos);
  EXPECT_NE(error_of(dir / "missing.safetensors").find("cannot open"), std::string::npos);
}

TEST(Safetensors, FailedWriteLeavesNothingBehind) {
  brainsem::testing::TempDir dir;
  EXPECT_THROW(write_safetensors(dir / "bad.safetensors", {{"a", torch::zeros({2})}, {"a", torch::zeros({2})}}),
               brainsem::Error);
  EXPECT_TRUE(fs::is_empty(dir.path()));
}

TEST(Safetensors, HostileHeadersAreRefusedBeforeTheParserBuildsThem) {
  brainsem::testing::TempDir dir;
  // 8 MB of nested arrays: refused by the byte scan (a JSON tree of it would take gigabytes).
  write_raw(dir / "deep.safetensors", std::string(8 << 20, '['), "");
  EXPECT_NE(error_of(dir / "deep.safetensors").find("nests deeper than the format's three levels"), std::string::npos);
  // A shape of 65 dimensions, and one metadata-like entry with 5000 keys.
  std::string shape = "[1";
  for (int i = 0; i < 64; ++i) shape += ",1";
  write_raw(dir / "long.safetensors", R"({"a":{"dtype":"F32","shape":)" + shape + R"(],"data_offsets":[0,4]}})",
            std::string(4, '\0'));
  EXPECT_NE(error_of(dir / "long.safetensors").find("more than 64 entries"), std::string::npos);
  std::string meta = R"({"__metadata__":{"k0":"v")";
  for (int i = 1; i < 5000; ++i) meta += ",\"k" + std::to_string(i) + "\":\"v\"";
  write_raw(dir / "keys.safetensors", meta + "}}", "");
  EXPECT_NE(error_of(dir / "keys.safetensors").find("more than 4096 keys"), std::string::npos);
  // Brackets and commas inside strings are text, not structure: a legal file with such names reads.
  write_raw(
      dir / "names.safetensors",
      R"({"__metadata__":{"note":"[[[[,,,, {\"x\": [1,2]} \\"},"a[0]":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
      std::string(4, '\0'));
  EXPECT_EQ(error_of(dir / "names.safetensors"), "");
}
