#pragma once
// CLIP image preprocessing, identical to the two reference pipelines (docs/clip.md):
//   OpenAI / open_clip (torchvision): Resize(short side, BICUBIC) in the image's own mode
//     (palette images therefore NEAREST) -> CenterCrop (offset round-half-even) -> RGB ->
//     ToTensor -> Normalize.
//   Hugging Face CLIPImageProcessor: convert_to_rgb first (alpha composited over white) ->
//     resize (BICUBIC) -> center crop (offset floor) -> rescale 1/255 -> normalize.
// The resized size is (size, int(size*long/short)) in both, as torchvision and transformers compute it.
#include <torch/torch.h>

#include <array>
#include <string>

#include "brainsem/clip/image.h"

namespace brainsem::clip {

enum class Pipeline { OpenAI, HF };

struct PreprocessConfig {
  Pipeline pipeline = Pipeline::OpenAI;
  int resize = 224;  // shortest side after resizing
  int crop = 224;    // square centre crop
  std::array<float, 3> mean{0.48145466f, 0.4578275f, 0.40821073f};
  std::array<float, 3> std{0.26862954f, 0.26130258f, 0.27577711f};
  // JPEGs decoded at a reduced DCT scale whose shorter side is still at least `resize`
  // (decode_image's jpeg_min_side): faster, not Pillow-exact.
  bool fast_jpeg = false;

  // Stored in feature stores: e.g. "openai-clip-224" or "hf-clip-224" (plus "-r256" when the
  // resize differs from the crop, "-custom-norm" for non-CLIP mean/std, "-fastjpeg" with fast_jpeg).
  std::string id() const;
  int jpeg_min_side() const { return fast_jpeg ? resize : 0; }
};

// (width, height) after the shortest-side resize.
std::pair<int, int> resized_size(int width, int height, int shortest);
// Top-left offset of the centre crop of `crop` out of `size`, per pipeline.
int crop_offset(int size, int crop, Pipeline p);

// Resize + crop (+ RGB conversion in the pipeline's order): an RGB crop x crop image.
Image resize_crop_rgb(const Image& im, const PreprocessConfig& cfg);
// Writes the normalised CHW float32 planes of an RGB image to out[3*H*W].
void normalize_into(const Image& rgb, const PreprocessConfig& cfg, float* out);
// The whole pipeline: [3, crop, crop] float32.
torch::Tensor preprocess(const Image& im, const PreprocessConfig& cfg);

}  // namespace brainsem::clip
