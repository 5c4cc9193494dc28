// Class-embedding tables: round trip, validation, and the stores that make per-class targets.
#include <gtest/gtest.h>

#include <limits>

#include "brainsem/core/error.h"
#include "brainsem/data/class_embeddings.h"
#include "brainsem/io/safetensors.h"
#include "testing/errors.h"
#include "testing/paths.h"

using namespace brainsem;

namespace {
data::ClassEmbeddings table3() {
  data::ClassEmbeddings t;
  t.embeddings = torch::tensor({1.f, 0.f, 0.f, 0.f, 2.f, 0.f, 1.f, 1.f, 1.f}).view({3, 3});
  t.classes = {"dog", "cat", "owl"};
  t.encoder = "test:vectors";
  t.extra["note"] = "hand-made";
  return t;
}

using brainsem::testing::error_of;
}  // namespace

TEST(ClassEmbeddings, RoundTripKeepsRowsNamesAndProvenance) {
  brainsem::testing::TempDir dir;
  write_class_embeddings(dir / "t.safetensors", table3());
  auto t = data::read_class_embeddings(dir / "t.safetensors");
  EXPECT_TRUE(torch::equal(t.embeddings, table3().embeddings));
  EXPECT_EQ(t.classes, table3().classes);
  EXPECT_EQ(t.encoder, "test:vectors");
  EXPECT_EQ(t.extra.at("note"), "hand-made");
  EXPECT_EQ(t.row_of("owl", "x"), 2);
  auto rows = t.rows_for({"owl", "dog", "owl"}, "x");
  EXPECT_TRUE(torch::equal(rows[0], t.embeddings[2]) && torch::equal(rows[1], t.embeddings[0]));
}

TEST(ClassEmbeddings, ReadsF64TablesWrittenByOtherTools) {
  brainsem::testing::TempDir dir;
  io::write_safetensors(dir / "f64.safetensors", {{"embeddings", torch::eye(2, torch::kFloat64)}},
                        {{"format", data::kClassEmbeddingsFormat}, {"classes", "[\"a\",\"b\"]"}});
  auto t = data::read_class_embeddings(dir / "f64.safetensors");
  EXPECT_EQ(t.embeddings.scalar_type(), torch::kFloat32);
  EXPECT_EQ(t.encoder, "unknown");
  EXPECT_EQ(t.classes[1], "b");
}

TEST(ClassEmbeddings, StoresGiveEachStimulusItsClassVector) {
  auto t = table3();
  auto s = data::class_embedding_stimuli(t, {"d1", "c1", "d2", "d1"}, {"dog", "cat", "dog", "dog"});
  EXPECT_EQ(s.names, (std::vector<std::string>{"d1", "c1", "d2"}));  // one row per distinct name
  EXPECT_TRUE(torch::equal(s.features[1], t.embeddings[1]));
  EXPECT_TRUE(torch::equal(s.features[2], t.embeddings[0]));
  EXPECT_EQ(s.encoder, "class-embeddings:test:vectors");
  auto lib = data::class_embedding_library(t, {"owl", "cat"});
  EXPECT_EQ(lib.classes, (std::vector<std::string>{"owl", "cat"}));
  EXPECT_TRUE(torch::equal(lib.features[0], t.embeddings[2]));
  EXPECT_NO_THROW(s.check_compatible(lib, "x"));
}

TEST(ClassEmbeddings, BadTablesAndMissingClassesAreClearErrors) {
  brainsem::testing::TempDir dir;
  auto t = table3();
  EXPECT_NE(error_of([&] { data::class_embedding_stimuli(t, {"e1"}, {"emu"}); }).find("class 'emu' has no embedding"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              data::class_embedding_stimuli(t, {"d1", "d1"}, {"dog", "cat"});
            }).find("labelled both"),
            std::string::npos);
  auto dup = t;
  dup.classes[2] = "dog";
  EXPECT_NE(error_of([&] { write_class_embeddings(dir / "dup.safetensors", dup); }).find("appears twice"),
            std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir / "dup.safetensors"));
  auto nan = t;
  nan.embeddings = nan.embeddings.clone();
  nan.embeddings[1][2] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_NE(error_of([&] { write_class_embeddings(dir / "nan.safetensors", nan); }).find("class 'cat' (row 1)"),
            std::string::npos);
  auto short_names = t;
  short_names.classes.pop_back();
  EXPECT_NE(error_of([&] { data::validate_class_embeddings(short_names, "w"); }).find("3 embedding rows but 2"),
            std::string::npos);
  io::write_safetensors(dir / "other.safetensors", {{"embeddings", torch::eye(2)}}, {{"classes", "[\"a\",\"b\"]"}});
  EXPECT_NE(
      error_of([&] { data::read_class_embeddings(dir / "other.safetensors"); }).find("not a class-embedding table"),
      std::string::npos);
}
