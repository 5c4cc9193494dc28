// The embedding pipeline end to end (decode -> preprocess -> model -> feature store) on the
// golden photos, resuming, corrupt inputs and the GOD leakage guard.
#include "brainsem/clip/embed_images.h"

#include <gtest/gtest.h>

#include <fstream>

#include "brainsem/core/error.h"
#include "brainsem/data/feature_store.h"
#include "brainsem/io/safetensors.h"
#include "golden.h"
#include "testing/paths.h"

namespace brainsem::clip {
namespace {

namespace fs = std::filesystem;
using testing::all_close;
using testing::shared_dir;
using testing::TempDir;

fs::path golden() { return shared_dir() / "golden/clip_openai"; }

EmbedOptions quiet_opts() {
  EmbedOptions o;
  o.batch = 2;  // several batches and a partial one with 5 images
  o.decode_threads = 2;
  return o;
}

TEST(EmbedImages, GoldenPhotosEndToEndMatchOpenAICLIP) {
  BRAINSEM_REQUIRE_SHARED("golden/clip_openai/reference_outputs.safetensors");
  auto enc = load_image_encoder(golden() / "openai_vit_tiny.safetensors");
  TempDir tmp;
  const auto r = embed_images(*enc, list_images(golden() / "images"), tmp / "f.safetensors", quiet_opts());
  EXPECT_EQ(r.embedded, 5);
  EXPECT_EQ(r.skipped, 0);
  auto store = data::FeatureStore::open(tmp / "f.safetensors");
  EXPECT_EQ(store.encoder, "openai:openai_vit_tiny");
  EXPECT_EQ(store.preprocessing, "openai-clip-224");
  // Sorted paths = the reference's order (astronaut, camera, dog, eagle, palette_color).
  EXPECT_EQ(store.names, (std::vector<std::string>{"astronaut", "camera", "dog", "eagle", "palette_color"}));
  io::SafetensorsFile ref(golden() / "reference_outputs.safetensors");
  EXPECT_TRUE(all_close(store.features, ref.tensor("vit_tiny.image_embeds"), 1e-4));
}

TEST(EmbedImages, ResumesWithoutRecomputingAndRefusesAnotherEncoder) {
  BRAINSEM_REQUIRE_SHARED("golden/clip_openai/reference_outputs.safetensors");
  auto enc = load_image_encoder(golden() / "openai_vit_tiny.safetensors");
  TempDir tmp;
  {
    std::ofstream list(tmp / "two.txt");
    list << "# first two\n"
         << (golden() / "images/dog.jpg").string() << "\n\n"
         << (golden() / "images/camera.png").string() << "\n";
  }
  auto r1 = embed_images(*enc, list_images(tmp / "two.txt"), tmp / "f.safetensors", quiet_opts());
  EXPECT_EQ(r1.embedded, 2);
  auto r2 = embed_images(*enc, list_images(golden() / "images"), tmp / "f.safetensors", quiet_opts());
  EXPECT_EQ(r2.reused, 2);
  EXPECT_EQ(r2.embedded, 3);
  EXPECT_EQ(r2.total_rows, 5);
  auto store = data::FeatureStore::open(tmp / "f.safetensors");
  EXPECT_EQ(store.names[0], "camera");  // kept rows first, in their order
  EXPECT_EQ(store.names[1], "dog");
  io::SafetensorsFile ref(golden() / "reference_outputs.safetensors");
  auto want = ref.tensor("vit_tiny.image_embeds");
  auto rows = store.rows_of_names({"astronaut", "camera", "dog", "eagle", "palette_color"}, "test");
  EXPECT_TRUE(all_close(store.features.index_select(0, torch::tensor(rows)), want, 1e-4));
  auto r3 = embed_images(*enc, list_images(golden() / "images"), tmp / "f.safetensors", quiet_opts());
  EXPECT_EQ(r3.embedded, 0);
  EXPECT_EQ(r3.reused, 5);
  auto rn = load_image_encoder(golden() / "openai_rn_tiny.safetensors");
  EXPECT_THROW(embed_images(*rn, list_images(golden() / "images"), tmp / "f.safetensors", quiet_opts()), Error);
}

TEST(EmbedImages, FastJpegIsRecordedAndAStoreOfTheOtherDecodeIsNotResumed) {
  BRAINSEM_REQUIRE_SHARED("golden/clip_openai/reference_outputs.safetensors");
  auto enc = load_image_encoder(golden() / "openai_vit_tiny.safetensors");
  TempDir tmp;
  auto fast = quiet_opts();
  fast.fast_jpeg = true;
  const auto images = list_images(golden() / "images");
  EXPECT_EQ(embed_images(*enc, images, tmp / "f.safetensors", fast).embedded, 5);
  auto store = data::FeatureStore::open(tmp / "f.safetensors");
  EXPECT_EQ(store.preprocessing, "openai-clip-224-fastjpeg");
  // The PNGs are decoded as before; the two JPEGs are not Pillow-exact, and differ.
  io::SafetensorsFile ref(golden() / "reference_outputs.safetensors");
  const auto want = ref.tensor("vit_tiny.image_embeds");
  for (int64_t row : {0, 1, 4}) EXPECT_TRUE(all_close(store.features[row], want[row], 1e-4)) << row;
  for (int64_t row : {2, 3}) EXPECT_FALSE(all_close(store.features[row], want[row], 1e-3)) << row;
  EXPECT_THROW(embed_images(*enc, images, tmp / "f.safetensors", quiet_opts()), Error);
}

TEST(EmbedImages, CorruptImagesAreSkippedAndListed) {
  BRAINSEM_REQUIRE_SHARED("golden/clip_openai/images/dog.jpg");
  TempDir tmp;
  fs::create_directory(tmp / "imgs");
  fs::copy_file(golden() / "images/eagle.jpg", tmp / "imgs/eagle.jpg");
  {
    std::ifstream in(golden() / "images/dog.jpg", std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream(tmp / "imgs/cut.jpg", std::ios::binary) << bytes.substr(0, bytes.size() / 3);
    std::ofstream(tmp / "imgs/text.png") << "this is not a png at all";
  }
  auto enc = load_image_encoder(golden() / "openai_rn_tiny.safetensors");
  auto r = embed_images(*enc, list_images(tmp / "imgs"), tmp / "f.safetensors", quiet_opts());
  EXPECT_EQ(r.embedded, 1);
  EXPECT_EQ(r.skipped, 2);
  auto store = data::FeatureStore::open(tmp / "f.safetensors");
  EXPECT_EQ(store.names, std::vector<std::string>{"eagle"});
  ASSERT_EQ(store.skipped.size(), 2u);
  EXPECT_EQ(store.skipped[0].first, "cut");
  EXPECT_NE(store.skipped[0].second.find("truncated"), std::string::npos) << store.skipped[0].second;
  EXPECT_EQ(store.skipped[1].first, "text");
  // Nothing readable: nothing written.
  fs::remove(tmp / "imgs/eagle.jpg");
  auto r2 = embed_images(*enc, list_images(tmp / "imgs"), tmp / "g.safetensors", quiet_opts());
  EXPECT_EQ(r2.embedded + r2.reused, 0);
  EXPECT_FALSE(fs::exists(tmp / "g.safetensors"));
}

TEST(EmbedImages, ImageNetLayoutGuardRefusesGodTestClassesAndImages) {
  BRAINSEM_REQUIRE_SHARED("golden/clip_openai/images/dog.jpg");
  TempDir tmp;
  for (auto [cls, file] : {std::pair{"n01443537", "n01443537_22563.JPEG"},     // GOD test image
                           std::pair{"n01443537", "n01443537_1.JPEG"},         // GOD test class
                           std::pair{"n01440764", "n01440764_10026.JPEG"}}) {  // tench: not a test class
    fs::create_directories(tmp / "train" / cls);
    fs::copy_file(golden() / "images/dog.jpg", tmp / "train" / cls / file);
  }
  const auto entries = list_images(tmp / "train");
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_TRUE(entries[0].imagenet_layout);
  EXPECT_EQ(entries[2].cls, "n01443537");
  auto enc = load_image_encoder(golden() / "openai_rn_tiny.safetensors");
  auto r = embed_images(*enc, entries, tmp / "lib.safetensors", quiet_opts());
  EXPECT_EQ(r.embedded, 1);
  EXPECT_EQ(r.skipped, 2);
  auto store = data::FeatureStore::open(tmp / "lib.safetensors");
  EXPECT_EQ(store.classes, std::vector<std::string>{"n01440764"});
  for (const auto& [name, why] : store.skipped) EXPECT_NE(why.find("leakage guard"), std::string::npos) << name;
  auto opts = quiet_opts();
  opts.leakage_guard = false;
  auto r2 = embed_images(*enc, entries, tmp / "test_lib.safetensors", opts);
  EXPECT_EQ(r2.embedded, 3);

  // Resuming that test library with the guard on drops the refused rows instead of keeping them
  // beside their refusal; the allowed row is reused, not recomputed.
  auto r3 = embed_images(*enc, entries, tmp / "test_lib.safetensors", quiet_opts());
  EXPECT_EQ(r3.embedded, 0);
  EXPECT_EQ(r3.reused, 1);
  EXPECT_EQ(r3.skipped, 2);
  auto resumed = data::FeatureStore::open(tmp / "test_lib.safetensors");
  EXPECT_EQ(resumed.names, store.names);
  EXPECT_EQ(resumed.skipped.size(), 2u);
  // The same image, embedded in another batch: equal up to the batch's rounding (below 1e-6).
  EXPECT_TRUE(torch::allclose(resumed.features, store.features, 0, 1e-5));
}

TEST(EmbedImages, ClassesComeFromFoldersOrFilePrefixesAndCanBeSelected) {
  EXPECT_TRUE(is_synset("n01443537"));
  EXPECT_FALSE(is_synset("n0144353"));
  EXPECT_FALSE(is_synset("x01443537"));
  EXPECT_EQ(make_entry("/a/n01443537_22563.JPEG").cls, "n01443537");
  EXPECT_EQ(make_entry("/a/n01443537_22563.JPEG").name, "n01443537_22563");
  EXPECT_EQ(make_entry("/a/01_human.png").cls, "");
  EXPECT_FALSE(make_entry("/val/n01443537/x.JPEG").imagenet_layout);
  EXPECT_EQ(make_entry("/val/n01443537/x.JPEG").cls, "n01443537");
  std::vector<ImageEntry> e;
  for (const char* p : {"/a/n00000001_1.png", "/a/n00000001_2.png", "/a/n00000001_3.png", "/a/n00000002_1.png"})
    e.push_back(make_entry(p));
  TempDir tmp;
  std::ofstream(tmp / "c.txt") << "n00000001 first class\n";
  EXPECT_EQ(select_classes(e, tmp / "c.txt", 2).size(), 2u);
  EXPECT_EQ(select_classes(e, "", 1).size(), 2u);
  std::ofstream(tmp / "bad.txt") << "goldfish\n";
  EXPECT_THROW(select_classes(e, tmp / "bad.txt", 0), Error);
  EXPECT_THROW(list_images(tmp / "missing_dir"), Error);
}

TEST(EmbedImages, GodGuardTablesAreLoaded) {
  const auto g = LeakageGuard::god();
  EXPECT_EQ(g.test_classes.size(), 50u);
  EXPECT_TRUE(g.test_images.count("n01443537_22563"));
}

}  // namespace
}  // namespace brainsem::clip

TEST(PartSlice, ContiguousBatchAlignedAndCoveringTheList) {
  // 14 entries, batch 3: 5 windows over 2 parts -> [0, 6) and [6, 14).
  EXPECT_EQ(brainsem::clip::part_slice(14, 3, 0, 2), (std::pair<size_t, size_t>{0, 6}));
  EXPECT_EQ(brainsem::clip::part_slice(14, 3, 1, 2), (std::pair<size_t, size_t>{6, 14}));
  for (size_t n : {0, 1, 7, 100, 1001})
    for (int count : {1, 2, 3, 8}) {
      size_t next = 0;
      for (int k = 0; k < count; ++k) {
        const auto [first, last] = brainsem::clip::part_slice(n, 32, k, count);
        EXPECT_EQ(first, next) << n << " " << k << "/" << count;
        EXPECT_LE(first, last);
        EXPECT_TRUE(first % 32 == 0 || first == n);
        next = last;
      }
      EXPECT_EQ(next, n);
    }
}
