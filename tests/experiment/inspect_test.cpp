// `data inspect` finds every kind of file by content and summarises it through its own reader.
#include <gtest/gtest.h>

#include <fstream>

#include "brainsem/data/dataset_import.h"
#include "brainsem/data/plain_files.h"
#include "brainsem/experiment/inspect.h"
#include "brainsem/io/safetensors.h"
#include "brainsem/core/atomic_file.h"
#include "testing/errors.h"
#include "testing/paths.h"

namespace fs = std::filesystem;
using namespace brainsem;
using brainsem::testing::error_of;

TEST(Inspect, EachFormatIsRecognisedByContentAndSummarised) {
  brainsem::testing::TempDir dir;
  brainsem::core::write_text_atomically(dir / "x.csv", "1,2,3\n4,5,6\n7,8,9\n1,1,1\n");
  brainsem::core::write_text_atomically(dir / "rois.txt", "EVC\nEVC\nVTC\n");
  brainsem::core::write_text_atomically(dir / "classes.txt", "p\nq\nr\ns\n");
  brainsem::core::write_text_atomically(dir / "split.txt", "train\ntrain\ntest\ntest\n");
  // Names that say nothing: the kind comes from the content.
  data::import_dataset_file({dir / "x.csv", dir / "rois.txt", dir / "classes.txt", "", dir / "split.txt"},
                            dir / "a.bin");
  auto subject = experiment::inspect_path(dir / "a.bin");
  EXPECT_EQ(subject.summary.at("kind"), "subject");
  EXPECT_EQ(subject.summary.at("train_x"), nlohmann::json({2, 2, 2}));
  EXPECT_EQ(subject.summary.at("test_classes"), nlohmann::json({"r", "s"}));
  EXPECT_NE(subject.text.find("ROI tokens: EVC=2 VTC=1"), std::string::npos) << subject.text;

  brainsem::core::write_text_atomically(dir / "e.csv", "1,2\n3,4\n");
  brainsem::core::write_text_atomically(dir / "c.txt", "owl\nemu\n");
  data::write_class_embeddings(dir / "b.bin", data::import_class_embeddings({dir / "e.csv", dir / "c.txt", "vec"}));
  auto table = experiment::inspect_path(dir / "b.bin");
  EXPECT_EQ(table.summary.at("kind"), "class_embeddings");
  EXPECT_NE(table.text.find("classes: 2: owl, emu"), std::string::npos) << table.text;

  data::import_features({dir / "e.csv", dir / "c.txt", dir / "c.txt", "m"}).save(dir / "f.bin");
  auto store = experiment::inspect_path(dir / "f.bin");
  EXPECT_EQ(store.summary.at("kind"), "features");
  EXPECT_EQ(store.summary.at("rows"), 2);

  data::export_plain(dir / "b.bin", dir / "export", {data::kClassEmbeddingsFormat}, false);
  EXPECT_EQ(experiment::inspect_path(dir / "export").summary.at("kind"), "plain_export");
}

TEST(Inspect, RefusesWhatItDoesNotKnowSayingWhatItTakes) {
  brainsem::testing::TempDir dir;
  brainsem::core::write_text_atomically(dir / "notes.txt", "hello");
  auto e = error_of([&] { experiment::inspect_path(dir / "notes.txt"); });
  EXPECT_NE(e.find("not a file BrainSem reads; inspect takes a GOD BData .h5"), std::string::npos) << e;
  io::write_safetensors(dir / "other.safetensors", {{"w", torch::zeros({2})}}, {{"format", "someone.else"}});
  e = error_of([&] { experiment::inspect_path(dir / "other.safetensors"); });
  EXPECT_NE(e.find("format 'someone.else', which is none of BrainSem's"), std::string::npos) << e;
  e = error_of([&] { experiment::inspect_path(dir.path()); });
  EXPECT_NE(e.find("neither a run directory"), std::string::npos) << e;
  e = error_of([&] { experiment::inspect_path(dir / "missing.h5"); });
  EXPECT_NE(e.find("missing.h5: file not found"), std::string::npos) << e;
}
