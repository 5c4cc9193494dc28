// Preprocessing against the reference pipelines' pixel_values (shared/golden; tolerance 1e-5:
// identical 8-bit resize results leave only float rounding of the normalisation, ~1e-7).
#include "brainsem/clip/preprocess.h"

#include <gtest/gtest.h>

#include <sstream>

#include "brainsem/clip/resize.h"
#include "brainsem/io/safetensors.h"
#include "golden.h"
#include "testing/paths.h"

namespace brainsem::clip {
namespace {

using testing::all_close;
using testing::shared_dir;

std::vector<std::string> split_csv(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');) out.push_back(item);
  return out;
}

void check_golden(const std::filesystem::path& dir, const std::filesystem::path& image_dir, Pipeline p) {
  io::SafetensorsFile ref(dir / "reference_outputs.safetensors");
  const auto images = split_csv(ref.metadata_at("images"));
  auto want = ref.tensor("pixel_values");
  ASSERT_EQ(want.size(0), static_cast<int64_t>(images.size()));
  PreprocessConfig cfg;
  cfg.pipeline = p;
  for (size_t i = 0; i < images.size(); ++i) {
    const Image im = read_image(image_dir / images[i]);
    EXPECT_TRUE(all_close(preprocess(im, cfg), want[i], 1e-5)) << images[i] << " (mode " << mode_name(im.mode) << ")";
  }
}

TEST(Preprocess, MatchesHuggingFaceGolden) {
  BRAINSEM_REQUIRE_SHARED("golden/clip_hf/reference_outputs.safetensors");
  check_golden(shared_dir() / "golden/clip_hf", shared_dir() / "golden/clip_hf", Pipeline::HF);
}

TEST(Preprocess, MatchesOpenAIGolden) {
  BRAINSEM_REQUIRE_SHARED("golden/clip_openai/reference_outputs.safetensors");
  check_golden(shared_dir() / "golden/clip_openai", shared_dir() / "golden/clip_openai/images", Pipeline::OpenAI);
}

TEST(Preprocess, GoldenImagesDecodeToTheirModes) {
  BRAINSEM_REQUIRE_SHARED("golden/clip_openai/images/palette_color.png");
  const auto dir = shared_dir() / "golden/clip_openai/images";
  EXPECT_EQ(read_image(dir / "camera.png").mode, Mode::L);
  const Image p = read_image(dir / "palette_color.png");
  EXPECT_EQ(p.mode, Mode::P);
  EXPECT_EQ(p.width, 10);
  const Image dog = read_image(dir / "dog.jpg");
  EXPECT_EQ(dog.mode, Mode::RGB);
  EXPECT_EQ(dog.width, 768);
  EXPECT_EQ(dog.height, 576);
}

TEST(Preprocess, ResizedSizeTruncatesLikePython) {
  EXPECT_EQ(resized_size(320, 240, 224), (std::pair<int, int>{298, 224}));  // 298.67 -> 298
  EXPECT_EQ(resized_size(375, 500, 224), (std::pair<int, int>{224, 298}));
  EXPECT_EQ(resized_size(773, 512, 224), (std::pair<int, int>{338, 224}));
  EXPECT_EQ(resized_size(224, 224, 224), (std::pair<int, int>{224, 224}));
}

TEST(Preprocess, CropOffsetsDifferOnlyWhereRoundingDoes) {
  // (L-224) = 75: torchvision round(37.5) = 38 (half to even), HF floor = 37.
  EXPECT_EQ(crop_offset(299, 224, Pipeline::OpenAI), 38);
  EXPECT_EQ(crop_offset(299, 224, Pipeline::HF), 37);
  // 73 -> round(36.5) = 36 (even), floor 36.
  EXPECT_EQ(crop_offset(297, 224, Pipeline::OpenAI), 36);
  EXPECT_EQ(crop_offset(297, 224, Pipeline::HF), 36);
  EXPECT_EQ(crop_offset(298, 224, Pipeline::OpenAI), 37);
}

TEST(Preprocess, IdsNameThePipeline) {
  PreprocessConfig c;
  EXPECT_EQ(c.id(), "openai-clip-224");
  c.pipeline = Pipeline::HF;
  EXPECT_EQ(c.id(), "hf-clip-224");
}

}  // namespace
}  // namespace brainsem::clip
