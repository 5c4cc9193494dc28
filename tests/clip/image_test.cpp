// Decoding, mode conversion and resize invariants (the golden pixel tests are in preprocess_test).
#include "brainsem/clip/image.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <fstream>
#include <numeric>

#include "brainsem/clip/preprocess.h"
#include "brainsem/clip/resize.h"
#include "brainsem/core/error.h"
#include "brainsem/io/safetensors.h"
#include "golden.h"
#include "testing/errors.h"
#include "testing/paths.h"

namespace brainsem::clip {
namespace {

using testing::shared_dir;

std::vector<uint8_t> slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(Resize, WeightsSumToOneInFixedPoint) {
  for (auto arith : {ResizeArithmetic::Pillow, ResizeArithmetic::TorchUint8})
    for (auto [in, out] : {std::pair{512, 224}, {10, 224}, {773, 338}, {224, 223}}) {
      const auto k = bicubic_coeffs(in, out, arith);
      for (int o = 0; o < out; ++o) {
        const int sum = std::accumulate(k.weights.begin() + o * k.ksize, k.weights.begin() + (o + 1) * k.ksize, 0);
        EXPECT_NEAR(sum, 1 << k.precision, k.ksize) << in << "->" << out << " at " << o;
        EXPECT_GE(k.bounds[2 * o], 0);
        EXPECT_LE(k.bounds[2 * o] + k.bounds[2 * o + 1], in);
      }
    }
  EXPECT_EQ(bicubic_coeffs(512, 224).precision, 22);
  EXPECT_LE(bicubic_coeffs(512, 224, ResizeArithmetic::TorchUint8).precision, 16);  // int16 range
}

TEST(Resize, ConstantImageStaysConstantAndSizesAreRight) {
  Image im = Image::blank(37, 53, Mode::RGB);
  std::fill(im.pixels.begin(), im.pixels.end(), 200);
  const Image out = resize_bicubic(im, 224, 320);
  ASSERT_EQ(out.width, 224);
  ASSERT_EQ(out.height, 320);
  for (uint8_t v : out.pixels) ASSERT_EQ(v, 200);
}

TEST(Resize, DownscaleOfAStepIsAntialiased) {
  // A 1-pixel-wide stripe pattern averages to mid-grey when shrunk 8x (a non-antialiased
  // bicubic would alias to near 0 or 255).
  Image im = Image::blank(256, 4, Mode::L);
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 256; ++x) im.pixels[y * 256 + x] = (x % 2) ? 255 : 0;
  const Image out = resize_bicubic(im, 32, 4);
  for (int x = 2; x < 30; ++x) EXPECT_NEAR(out.pixels[x], 128, 2) << x;
}

TEST(Resize, PaletteImagesUseNearestAndKeepThePalette) {
  Image p = Image::blank(2, 1, Mode::P);
  p.palette = {255, 0, 0, 0, 0, 255};
  p.pixels = {0, 1};
  const Image out = pillow_resize(p, 4, 2);
  EXPECT_EQ(out.mode, Mode::P);
  EXPECT_EQ(out.pixels, (std::vector<uint8_t>{0, 0, 1, 1, 0, 0, 1, 1}));
  EXPECT_THROW(resize_bicubic(p, 4, 2), Error);
}

TEST(Convert, ModesToRgbFollowPillow) {
  Image cmyk = Image::blank(1, 1, Mode::CMYK);
  cmyk.pixels = {0, 255, 128, 0};  // cyan 0, magenta full, yellow half, no black
  const Image rgb = to_rgb(cmyk);
  EXPECT_EQ(rgb.pixels, (std::vector<uint8_t>{255, 0, 127}));
  Image rgba = Image::blank(2, 1, Mode::RGBA);
  rgba.pixels = {10, 20, 30, 0, 10, 20, 30, 255};
  EXPECT_EQ(to_rgb(rgba).pixels, (std::vector<uint8_t>{10, 20, 30, 10, 20, 30}));
  // transformers composites over white: transparent -> white, opaque unchanged.
  EXPECT_EQ(to_rgb_on_white(rgba).pixels, (std::vector<uint8_t>{255, 255, 255, 10, 20, 30}));
  Image half = Image::blank(1, 1, Mode::LA);
  half.pixels = {0, 128};
  EXPECT_NEAR(to_rgb_on_white(half).pixels[0], 127, 1);
}

TEST(Decode, CorruptAndTruncatedFilesAreErrorsNamingTheFile) {
  BRAINSEM_REQUIRE_SHARED("golden/clip_openai/images/dog.jpg");
  const auto dir = shared_dir() / "golden/clip_openai/images";
  auto jpg = slurp(dir / "dog.jpg");
  auto png = slurp(dir / "camera.png");
  std::vector<uint8_t> half_jpg(jpg.begin(), jpg.begin() + jpg.size() / 2);
  std::vector<uint8_t> half_png(png.begin(), png.begin() + png.size() / 2);
  try {
    decode_image(half_jpg, "cut.jpg");
    FAIL() << "truncated JPEG accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cut.jpg"), std::string::npos) << e.what();
  }
  EXPECT_THROW(decode_image(half_png, "cut.png"), Error);
  std::vector<uint8_t> junk(100, 7);
  EXPECT_THROW(decode_image(junk, "junk.bin"), Error);
  EXPECT_THROW(decode_image({}, "empty"), Error);
  auto bad = png;
  for (size_t i = 100; i < 400; ++i) bad[i] ^= 0x5A;  // corrupt compressed data
  EXPECT_THROW(decode_image(bad, "bad.png"), Error);
}

uint64_t fnv1a64(const std::vector<uint8_t>& bytes) {
  uint64_t h = 1469598103934665603ull;
  for (uint8_t b : bytes) h = (h ^ b) * 1099511628211ull;
  return h;
}

// FNV-1a 64 of Pillow 9.4's RGB bytes (Debian's python3-pil, the libjpeg-turbo we link):
//   im = Image.open(f); im.draft("RGB", (s, s)); im.convert("RGB").tobytes()  (no draft for 0).
// Pillow's draft scales by 1/8, 1/4 or 1/2; in these cases the smallest M/8 that keeps the shorter
// side at least s is the same scale, so the reduced decode must give Pillow's bytes exactly.
TEST(Decode, FastJpegEqualsPillowsDraftWhereTheScaleIsAPowerOfTwo) {
  BRAINSEM_REQUIRE_SHARED("golden/clip_openai/images/dog.jpg");
  const auto dir = shared_dir() / "golden/clip_openai/images";
  struct Case {
    const char* file;
    int min_side, width, height;
    uint64_t fnv;
  };
  for (const auto& c :
       {Case{"dog.jpg", 0, 768, 576, 0x3eb6f019cd1ff98eull}, Case{"dog.jpg", 224, 384, 288, 0x7ce3e4ddf9e58c30ull},
        Case{"dog.jpg", 100, 192, 144, 0x29e5d4b5d0f6fbdeull}, Case{"eagle.jpg", 0, 773, 512, 0x22ced9d360fbacf1ull},
        Case{"eagle.jpg", 224, 387, 256, 0x34a0dda33b1ffae7ull},
        Case{"eagle.jpg", 100, 194, 128, 0xed1b8290b4a69152ull}}) {
    const Image im = decode_image(slurp(dir / c.file), c.file, kDefaultMaxPixels, c.min_side);
    EXPECT_EQ(im.mode, Mode::RGB);
    EXPECT_EQ(im.width, c.width) << c.file << " " << c.min_side;
    EXPECT_EQ(im.height, c.height) << c.file << " " << c.min_side;
    EXPECT_EQ(fnv1a64(im.pixels), c.fnv) << c.file << " at min side " << c.min_side;
  }
}

TEST(Decode, FastJpegTakesTheSmallestEighthThatKeepsTheShorterSide) {
  EXPECT_EQ(jpeg_scale_eighths(500, 375, 224), 5);  // ImageNet's usual size: 313 x 235
  EXPECT_EQ(jpeg_scale_eighths(375, 500, 224), 5);
  EXPECT_EQ(jpeg_scale_eighths(768, 576, 224), 4);
  EXPECT_EQ(jpeg_scale_eighths(1000, 1000, 125), 1);  // ceil(1000 / 8) = 125
  EXPECT_EQ(jpeg_scale_eighths(1000, 1000, 126), 2);
  EXPECT_EQ(jpeg_scale_eighths(200, 150, 224), 8);  // already smaller than asked: full size
  EXPECT_EQ(jpeg_scale_eighths(500, 375, 0), 8);    // 0 = Pillow-exact
  BRAINSEM_REQUIRE_SHARED("golden/clip_openai/images/dog.jpg");
  const auto jpg = slurp(shared_dir() / "golden/clip_openai/images/dog.jpg");
  const Image im = decode_image(jpg, "dog.jpg", kDefaultMaxPixels, 300);  // M = 5: no Pillow draft
  EXPECT_EQ(im.width, 480);
  EXPECT_EQ(im.height, 360);
  // PNGs ignore it.
  const auto png = slurp(shared_dir() / "golden/clip_openai/images/camera.png");
  EXPECT_EQ(decode_image(png, "camera.png", kDefaultMaxPixels, 100).width, decode_image(png, "camera.png").width);
}

TEST(Decode, ImagesAboveThePixelLimitAreRefusedFromTheirHeader) {
  BRAINSEM_REQUIRE_SHARED("golden/clip_openai/images/dog.jpg");
  const auto dir = shared_dir() / "golden/clip_openai/images";
  const auto jpg = slurp(dir / "dog.jpg");
  const auto png = slurp(dir / "camera.png");
  const Image dog = decode_image(jpg, "dog.jpg", 0);  // 0 = no limit
  const int64_t pixels = int64_t{dog.width} * dog.height;
  EXPECT_EQ(decode_image(jpg, "dog.jpg", pixels).width, dog.width);  // exactly at the limit: fine
  std::string error = brainsem::testing::error_of([&] { decode_image(jpg, "dog.jpg", pixels - 1); });
  EXPECT_NE(error.find("dog.jpg: " + std::to_string(dog.width) + "x" + std::to_string(dog.height)), std::string::npos)
      << error;
  EXPECT_NE(error.find("--max-pixels"), std::string::npos) << error;
  EXPECT_NE(brainsem::testing::error_of([&] { decode_image(png, "camera.png", 100); }).find("camera.png"),
            std::string::npos);
  // A 57-byte PNG whose header claims 65535 x 65535 RGB (12 GiB of pixels) is refused by the default
  // limit, naming the file, before anything is allocated (it once failed as a bare std::bad_alloc).
  std::vector<uint8_t> bomb = {0x89, 'P', 'N', 'G',  '\r', '\n', 0x1A, '\n', 0,    0, 0, 13, 'I', 'H', 'D',
                               'R',  0,   0,   0xFF, 0xFF, 0,    0,    0xFF, 0xFF, 8, 2, 0,  0,   0};
  const uint32_t crc = static_cast<uint32_t>(crc32(0, bomb.data() + 12, 17));
  for (int shift : {24, 16, 8, 0}) bomb.push_back(static_cast<uint8_t>(crc >> shift));
  const uint8_t idat[4] = {'I', 'D', 'A', 'T'};  // an empty IDAT: the header reader stops there
  const uint32_t idat_crc = static_cast<uint32_t>(crc32(0, idat, 4));
  for (uint8_t b : std::initializer_list<uint8_t>{0, 0, 0, 0, 'I', 'D', 'A', 'T'}) bomb.push_back(b);
  for (int shift : {24, 16, 8, 0}) bomb.push_back(static_cast<uint8_t>(idat_crc >> shift));
  for (uint8_t b : std::initializer_list<uint8_t>{0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82})
    bomb.push_back(b);
  ASSERT_EQ(bomb.size(), 57u);
  error = brainsem::testing::error_of([&] { decode_image(bomb, "bomb.png"); });
  EXPECT_NE(error.find("bomb.png: 65535x65535 = 4294836225 pixels is more than the limit of 89478485"),
            std::string::npos)
      << error;
}

TEST(Preprocess, PillowArithmeticIsOneLevelOffOnTheHuggingFaceGolden) {
  // Shows why the HF pipeline uses torch's int16 arithmetic: Pillow's differs by exactly one
  // 8-bit level (1/255/std ~ 0.0146) on a few hundred values of img0.
  BRAINSEM_REQUIRE_SHARED("golden/clip_hf/reference_outputs.safetensors");
  io::SafetensorsFile ref(shared_dir() / "golden/clip_hf/reference_outputs.safetensors");
  const Image im = read_image(shared_dir() / "golden/clip_hf/img0.png");
  PreprocessConfig cfg;
  cfg.pipeline = Pipeline::HF;
  const auto [w, h] = resized_size(im.width, im.height, 224);
  Image r = pillow_resize(im, w, h, ResizeArithmetic::Pillow);
  Image crop = Image::blank(224, 224, Mode::RGB);
  const int left = crop_offset(w, 224, Pipeline::HF);
  for (int y = 0; y < 224; ++y)
    std::copy_n(r.pixels.data() + (static_cast<size_t>(y) * w + left) * 3, 224 * 3, crop.pixels.data() + y * 224 * 3);
  auto t = torch::empty({3, 224, 224});
  normalize_into(crop, cfg, t.data_ptr<float>());
  const double maxd = (t - ref.tensor("pixel_values")[0]).abs().max().item<double>();
  EXPECT_NEAR(maxd, 1.0 / 255 / 0.26130258, 1e-3);
}

}  // namespace
}  // namespace brainsem::clip
