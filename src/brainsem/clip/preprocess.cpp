#include "brainsem/clip/preprocess.h"

#include <cmath>

#include "brainsem/clip/resize.h"
#include "brainsem/core/error.h"

namespace brainsem::clip {

std::string PreprocessConfig::id() const {
  std::string s = pipeline == Pipeline::OpenAI ? "openai-clip-" : "hf-clip-";
  s += std::to_string(crop);
  if (resize != crop) s += "-r" + std::to_string(resize);
  const PreprocessConfig defaults;
  if (mean != defaults.mean || std != defaults.std) s += "-custom-norm";
  if (fast_jpeg) s += "-fastjpeg";
  return s;
}

std::pair<int, int> resized_size(int width, int height, int shortest) {
  const bool w_short = width <= height;
  const int s = w_short ? width : height, l = w_short ? height : width;
  // Python: int(size * long / short): integer product, true (double) division, truncation.
  const int new_long = static_cast<int>(static_cast<double>(static_cast<int64_t>(shortest) * l) / s);
  return w_short ? std::pair{shortest, new_long} : std::pair{new_long, shortest};
}

int crop_offset(int size, int crop, Pipeline p) {
  if (p == Pipeline::HF) return (size - crop) / 2;  // floor (non-negative here)
  // torchvision: int(round((size - crop) / 2.0)); Python's round is half-to-even, as nearbyint.
  return static_cast<int>(std::nearbyint((size - crop) / 2.0));
}

namespace {
Image crop_image(const Image& im, int left, int top, int w, int h) {
  Image out = Image::blank(w, h, im.mode);
  out.palette = im.palette;
  out.palette_alpha = im.palette_alpha;
  const int c = im.channels();
  for (int y = 0; y < h; ++y)
    std::copy_n(im.pixels.data() + (static_cast<size_t>(y + top) * im.width + left) * c, static_cast<size_t>(w) * c,
                out.pixels.data() + static_cast<size_t>(y) * w * c);
  return out;
}
}  // namespace

Image resize_crop_rgb(const Image& im, const PreprocessConfig& cfg) {
  BRAINSEM_CHECK(cfg.resize >= cfg.crop && cfg.crop > 0, "preprocessing: resize (", cfg.resize,
                 ") must be at least the crop size (", cfg.crop, ")");
  BRAINSEM_CHECK(im.width > 0 && im.height > 0, "preprocessing: empty image");
  const bool hf = cfg.pipeline == Pipeline::HF;
  const Image rgb_first = hf ? to_rgb_on_white(im) : Image();
  const Image& src = hf ? rgb_first : im;
  const auto [w, h] = resized_size(src.width, src.height, cfg.resize);
  // transformers 5.x resizes the uint8 tensor with torch's kernel (matches its golden pixel
  // values exactly; Pillow's 22-bit arithmetic differs by one level on ~0.4% of them).
  const Image resized = pillow_resize(src, w, h, hf ? ResizeArithmetic::TorchUint8 : ResizeArithmetic::Pillow);
  const Image cropped = crop_image(resized, crop_offset(w, cfg.crop, cfg.pipeline),
                                   crop_offset(h, cfg.crop, cfg.pipeline), cfg.crop, cfg.crop);
  return hf ? cropped : to_rgb(cropped);
}

void normalize_into(const Image& rgb, const PreprocessConfig& cfg, float* out) {
  BRAINSEM_CHECK(rgb.mode == Mode::RGB, "normalize_into: expects an RGB image, got ", mode_name(rgb.mode));
  const size_t n = static_cast<size_t>(rgb.width) * rgb.height;
  for (int c = 0; c < 3; ++c) {
    const float m = cfg.mean[c], s = cfg.std[c];
    float* plane = out + c * n;
    for (size_t i = 0; i < n; ++i) plane[i] = (static_cast<float>(rgb.pixels[i * 3 + c]) / 255.0f - m) / s;
  }
}

torch::Tensor preprocess(const Image& im, const PreprocessConfig& cfg) {
  const Image rgb = resize_crop_rgb(im, cfg);
  auto t = torch::empty({3, rgb.height, rgb.width}, torch::kFloat32);
  normalize_into(rgb, cfg, t.data_ptr<float>());
  return t;
}

}  // namespace brainsem::clip
