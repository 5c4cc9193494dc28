// `brainsem embed`, run as a user would, on the golden tiny models and real photos.
#include <gtest/gtest.h>

#include <fstream>

#include "brainsem/clip/image_encoder.h"
#include "brainsem/data/feature_store.h"
#include "testing/paths.h"

namespace fs = std::filesystem;
using brainsem::testing::run_cli;
using brainsem::testing::shared_dir;

namespace {
std::string q(const fs::path& p) { return "'" + p.string() + "'"; }
}  // namespace

TEST(CliEmbed, HuggingFaceModelOnGoldenPhotosThenResume) {
  BRAINSEM_REQUIRE_SHARED("golden/clip_hf/clip_tiny_quickgelu/model.safetensors");
  brainsem::testing::TempDir tmp;
  const auto model = shared_dir() / "golden/clip_hf/clip_tiny_quickgelu";
  const auto images = shared_dir() / "golden/clip_openai/images";
  std::string out;
  ASSERT_EQ(run_cli("embed -q --model " + q(model) + " --images " + q(images) + " --out " + q(tmp / "f.safetensors") +
                        " --batch 2 --threads 2",
                    &out),
            0)
      << out;
  EXPECT_NE(out.find("embedded 5 new"), std::string::npos) << out;
  auto s = brainsem::data::FeatureStore::open(tmp / "f.safetensors");
  EXPECT_EQ(s.size(), 5);
  EXPECT_EQ(s.dim(), 32);
  EXPECT_EQ(s.preprocessing, "hf-clip-224");
  EXPECT_EQ(s.encoder, "hf:clip_tiny_quickgelu");
  ASSERT_EQ(
      run_cli("embed -q --model " + q(model) + " --images " + q(images) + " --out " + q(tmp / "f.safetensors"), &out),
      0)
      << out;
  EXPECT_NE(out.find("embedded 0 new, 5 already present"), std::string::npos) << out;
  // --fast-jpeg is another preprocessing: recorded, and not resumed into the Pillow-exact store.
  ASSERT_EQ(run_cli("embed -q --fast-jpeg --model " + q(model) + " --images " + q(images) + " --out " +
                        q(tmp / "fast.safetensors"),
                    &out),
            0)
      << out;
  EXPECT_EQ(brainsem::data::FeatureStore::open(tmp / "fast.safetensors").preprocessing, "hf-clip-224-fastjpeg");
  EXPECT_NE(run_cli("embed -q --fast-jpeg --model " + q(model) + " --images " + q(images) + " --out " +
                        q(tmp / "f.safetensors"),
                    &out),
            0);
  EXPECT_NE(out.find("hf-clip-224-fastjpeg"), std::string::npos) << out;
}

TEST(CliEmbed, K92PhotosWithTheResNetMatchTheLibrary) {
  BRAINSEM_REQUIRE_SHARED("images/k92/01_human_bodypart.png");
  BRAINSEM_REQUIRE_SHARED("golden/clip_openai/openai_rn_tiny.safetensors");
  brainsem::testing::TempDir tmp;
  std::string out;
  ASSERT_EQ(run_cli("embed -q --model " + q(shared_dir() / "golden/clip_openai/openai_rn_tiny.safetensors") +
                        " --images " + q(shared_dir() / "images/k92") + " --out " + q(tmp / "k92.safetensors") +
                        " --batch 16 --decode-threads 2",
                    &out),
            0)
      << out;
  auto s = brainsem::data::FeatureStore::open(tmp / "k92.safetensors");
  EXPECT_EQ(s.size(), 92);
  EXPECT_EQ(s.names[0], "01_human_bodypart");
  EXPECT_EQ(s.preprocessing, "openai-clip-224");
  // A row equals decoding, preprocessing and encoding that photo in-process (threads and
  // batching change nothing).
  auto enc = brainsem::clip::load_image_encoder(shared_dir() / "golden/clip_openai/openai_rn_tiny.safetensors");
  const auto im = brainsem::clip::read_image(shared_dir() / "images/k92/40_nonhuman_face.png");
  auto want = enc->encode(brainsem::clip::preprocess(im, enc->info().preprocess).unsqueeze(0))[0];
  auto row = s.features[s.rows_of_names({"40_nonhuman_face"}, "test")[0]];
  EXPECT_LT((row - want).abs().max().item<double>(), 1e-5);
  EXPECT_GT((row - s.features[0]).abs().max().item<double>(), 1e-5);
}

TEST(CliEmbed, NothingEmbeddableFailsAndWritesNothing) {
  BRAINSEM_REQUIRE_SHARED("golden/clip_openai/openai_vit_tiny.safetensors");
  brainsem::testing::TempDir tmp;
  fs::create_directory(tmp / "bad");
  std::ofstream(tmp / "bad/a.jpg") << "garbage";
  std::string out;
  EXPECT_NE(run_cli("embed -q --model " + q(shared_dir() / "golden/clip_openai/openai_vit_tiny.safetensors") +
                        " --images " + q(tmp / "bad") + " --out " + q(tmp / "f.safetensors"),
                    &out),
            0)
      << out;
  EXPECT_NE(out.find("a.jpg"), std::string::npos) << out;
  EXPECT_NE(out.find("no image could be embedded"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(tmp / "f.safetensors"));
  // A real photo above --max-pixels is skipped naming the file and the limit.
  BRAINSEM_REQUIRE_SHARED("golden/clip_openai/images/dog.jpg");
  fs::create_directory(tmp / "big");
  fs::copy_file(shared_dir() / "golden/clip_openai/images/dog.jpg", tmp / "big/dog.jpg");
  EXPECT_NE(run_cli("embed -q --max-pixels 1000 --model " +
                        q(shared_dir() / "golden/clip_openai/openai_vit_tiny.safetensors") + " --images " +
                        q(tmp / "big") + " --out " + q(tmp / "g.safetensors"),
                    &out),
            0)
      << out;
  EXPECT_NE(out.find("dog.jpg"), std::string::npos) << out;
  EXPECT_NE(out.find("more than the limit of 1000"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(tmp / "g.safetensors"));
}

TEST(CliEmbed, BadOptionsAndHelp) {
  std::string out;
  EXPECT_EQ(run_cli("embed --help", &out), 0);
  EXPECT_NE(out.find("trusted"), std::string::npos) << out;
  EXPECT_NE(run_cli("embed --model x --images y --out z --dtype fp64", &out), 0);
  EXPECT_NE(run_cli("embed --model /nonexistent --images /tmp --out /tmp/x.safetensors", &out), 0);
  EXPECT_NE(out.find("model not found"), std::string::npos) << out;
}
