#pragma once
// CLIP's vision transformer (openai/CLIP model.py VisionTransformer; HF CLIPVisionTransformer):
// patch conv (no bias) -> [CLS; patches] + positional embedding -> ln_pre -> the shared block
// stack (clip/transformer.h) -> ln_post(CLS) -> @ proj. The projection is kept in OpenAI's form
// [W, D]; the HF name table transposes visual_projection.
#include <torch/torch.h>

#include <string>

#include "brainsem/clip/transformer.h"
#include "brainsem/clip/weights.h"

namespace brainsem::clip {

struct VitConfig {
  int image_size = 224;
  int patch_size = 16;
  int width = 768;
  int layers = 12;
  int heads = 12;
  int mlp_width = 3072;
  int embed_dim = 512;
  bool quick_gelu = true;  // OpenAI weights: QuickGELU; most LAION/open_clip: exact GELU
  double eps = 1e-5;
  int grid() const { return image_size / patch_size; }
  int tokens() const { return grid() * grid() + 1; }
  TransformerConfig transformer() const { return {width, layers, heads, mlp_width, quick_gelu, eps}; }
  std::string describe() const;  // e.g. "ViT W768 L12 H12 P16 R224 D512 quick_gelu"
};

class VisionTransformer {
 public:
  explicit VisionTransformer(VitConfig cfg);
  // OpenAI / open_clip names under `prefix` (normally "visual.").
  void load_openai(StrictWeights& w, const std::string& prefix);
  // Hugging Face CLIPVisionModelWithProjection / CLIPModel names.
  void load_hf(StrictWeights& w);
  // Random weights (benchmarks, tests of shapes): N(0, 0.02), LayerNorm 1/0.
  void init_random(uint64_t seed);

  // [B, 3, R, R] -> [B, D] (unnormalised image embeddings), in the weights' device/dtype.
  torch::Tensor forward(const torch::Tensor& pixels) const;
  void to(torch::Device device, torch::ScalarType dtype);
  const VitConfig& config() const { return cfg_; }

 private:
  VitConfig cfg_;
  Transformer transformer_;
  torch::Tensor conv1_, class_embedding_, positional_embedding_, ln_pre_w_, ln_pre_b_, ln_post_w_, ln_post_b_, proj_;
};

}  // namespace brainsem::clip
