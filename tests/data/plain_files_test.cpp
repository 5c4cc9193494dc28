// Feature stores and class-embedding tables from plain files, and every such file back out as
// .npy + metadata.json, equal to what was imported.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "brainsem/core/atomic_file.h"
#include "brainsem/data/dataset_import.h"
#include "brainsem/data/plain_files.h"
#include "brainsem/data/subject_export.h"
#include "brainsem/io/npy.h"
#include "testing/errors.h"
#include "testing/paths.h"

namespace fs = std::filesystem;
using namespace brainsem;
using brainsem::testing::error_of;
using nlohmann::json;

TEST(PlainFiles, FeatureImportKeepsRowsNamesAndIds) {
  brainsem::testing::TempDir dir;
  brainsem::core::write_text_atomically(dir / "f.csv", "1,0,0.5\n0,2,0.25\n-1,1,0\n");
  brainsem::core::write_text_atomically(dir / "names.txt", "img_a\nimg_b\nimg_c\n");
  brainsem::core::write_text_atomically(dir / "classes.txt", "dog\ncat\ndog\n");
  auto s = data::import_features({dir / "f.csv", dir / "names.txt", dir / "classes.txt", "my-model", "center-crop"});
  s.save(dir / "s.safetensors");
  auto back = data::FeatureStore::open(dir / "s.safetensors");
  EXPECT_TRUE(
      torch::equal(back.features, torch::tensor({1.f, 0.f, 0.5f, 0.f, 2.f, 0.25f, -1.f, 1.f, 0.f}).view({3, 3})));
  EXPECT_EQ(back.names, (std::vector<std::string>{"img_a", "img_b", "img_c"}));
  EXPECT_EQ(back.rows_of_class("dog"), (std::vector<int64_t>{0, 2}));
  EXPECT_EQ(back.encoder, "my-model");
  EXPECT_EQ(back.preprocessing, "center-crop");
}

TEST(PlainFiles, ImportsRefuseWhatWouldCorruptAStudy) {
  brainsem::testing::TempDir dir;
  brainsem::core::write_text_atomically(dir / "f.csv", "1,0\n0,2\n");
  brainsem::core::write_text_atomically(dir / "two.txt", "a\nb\n");
  brainsem::core::write_text_atomically(dir / "three.txt", "a\nb\nc\n");
  brainsem::core::write_text_atomically(dir / "dup.txt", "a\na\n");
  brainsem::core::write_text_atomically(dir / "nan.csv", "1,0\nnan,2\n");
  auto e = error_of([&] { data::import_features({dir / "f.csv", dir / "three.txt", dir / "two.txt", "m"}); });
  EXPECT_NE(e.find("three.txt: 3 lines but " + (dir / "f.csv").string() + " has 2 rows"), std::string::npos) << e;
  e = error_of([&] { data::import_features({dir / "f.csv", dir / "dup.txt", dir / "two.txt", "m"}); });
  EXPECT_NE(e.find("line 2: image name 'a' appears twice"), std::string::npos) << e;
  e = error_of([&] { data::import_features({dir / "f.csv", dir / "two.txt", dir / "two.txt", ""}); });
  EXPECT_NE(e.find("--encoder is required"), std::string::npos) << e;
  e = error_of([&] { data::import_features({dir / "nan.csv", dir / "two.txt", dir / "two.txt", "m"}); });
  EXPECT_NE(e.find("first at feature row 1, column 0"), std::string::npos) << e;
  e = error_of([&] { data::import_class_embeddings({dir / "f.csv", dir / "dup.txt"}); });
  EXPECT_NE(e.find("dup.txt"), std::string::npos) << e;
  EXPECT_NE(e.find("'a'"), std::string::npos) << e;
}

TEST(PlainFiles, ExportWritesEveryTensorAndTheMetadataAsJson) {
  brainsem::testing::TempDir dir;
  brainsem::core::write_text_atomically(dir / "e.csv", "1,2\n3,4\n5,6\n");
  brainsem::core::write_text_atomically(dir / "c.txt", "owl\nemu\nyak\n");
  auto t = data::import_class_embeddings({dir / "e.csv", dir / "c.txt", "vectors"});
  data::write_class_embeddings(dir / "t.safetensors", t);
  auto names = data::export_plain(dir / "t.safetensors", dir / "out", {data::kClassEmbeddingsFormat}, false);
  EXPECT_EQ(names, (std::vector<std::string>{"embeddings"}));
  EXPECT_TRUE(torch::equal(io::read_npy(dir / "out" / "embeddings.npy"), t.embeddings));
  auto meta = json::parse(core::read_text_file(dir / "out" / "metadata.json"));
  EXPECT_EQ(meta.at("format"), data::kPlainExportFormat);
  EXPECT_EQ(meta.at("source_format"), data::kClassEmbeddingsFormat);
  EXPECT_EQ(meta.at("metadata").at("classes"), json({"owl", "emu", "yak"}));  // JSON, not a string of JSON
  EXPECT_EQ(meta.at("tensors").at("embeddings").at("shape"), json({3, 2}));

  // An existing --out is refused; --force replaces an earlier export but never another directory.
  auto e =
      error_of([&] { data::export_plain(dir / "t.safetensors", dir / "out", {data::kClassEmbeddingsFormat}, false); });
  EXPECT_NE(e.find("exists; choose another --out or pass --force"), std::string::npos) << e;
  EXPECT_NO_THROW(data::export_plain(dir / "t.safetensors", dir / "out", {data::kClassEmbeddingsFormat}, true));
  fs::create_directory(dir / "precious");
  brainsem::core::write_text_atomically(dir / "precious" / "keep.txt", "x");
  e = error_of(
      [&] { data::export_plain(dir / "t.safetensors", dir / "precious", {data::kClassEmbeddingsFormat}, true); });
  EXPECT_NE(e.find("is not an export directory"), std::string::npos) << e;
  EXPECT_TRUE(fs::exists(dir / "precious" / "keep.txt"));
  // A file of another format is refused, naming what it holds.
  e = error_of([&] { data::export_plain(dir / "t.safetensors", dir / "o2", {data::kFeatureStoreFormat}, false); });
  EXPECT_NE(e.find("holds format 'brainsem.class_embeddings.v1', this export takes brainsem.features.v1"),
            std::string::npos)
      << e;
  EXPECT_FALSE(fs::exists(dir / "o2"));
}

TEST(PlainFiles, SubjectFilesUnpackToTheirFourTensors) {
  brainsem::testing::TempDir dir;
  brainsem::core::write_text_atomically(dir / "x.csv", "1,2,3\n4,5,6\n7,8,9\n1,1,1\n");
  brainsem::core::write_text_atomically(dir / "rois.txt", "A\nA\nB\n");
  brainsem::core::write_text_atomically(dir / "classes.txt", "p\nq\nr\ns\n");
  brainsem::core::write_text_atomically(dir / "split.txt", "train\ntrain\ntest\ntest\n");
  data::import_dataset_file({dir / "x.csv", dir / "rois.txt", dir / "classes.txt", "", dir / "split.txt"},
                            dir / "d.safetensors");
  data::export_plain(dir / "d.safetensors", dir / "out", {data::kSubjectFormat}, false);
  auto train_x = io::read_npy(dir / "out" / "train_x.npy");  // [2, R=2, P=2]
  EXPECT_TRUE(torch::equal(train_x, torch::tensor({1.f, 2.f, 3.f, 0.f, 4.f, 5.f, 6.f, 0.f}).view({2, 2, 2})));
  auto meta = json::parse(core::read_text_file(dir / "out" / "metadata.json"));
  EXPECT_EQ(meta.at("metadata").at("rois"), json({"A", "B"}));
  EXPECT_EQ(meta.at("metadata").at("test_classes"), json({"r", "s"}));
}
