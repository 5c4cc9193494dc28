#pragma once
// CLIP's vision transformer (openai/CLIP model.py VisionTransformer; HF CLIPVisionTransformer):
// patch conv (no bias) -> [CLS; patches] + positional embedding -> ln_pre -> L pre-LN residual
// blocks (MHA with fused qkv, MLP with QuickGELU or exact GELU) -> ln_post(CLS) -> @ proj.
// Weights are kept in OpenAI's canonical form (fused in_proj [3W, W], proj [W, D]); the HF
// loader concatenates q/k/v and transposes visual_projection.
#include <torch/torch.h>

#include <string>
#include <vector>

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
  struct Block {
    torch::Tensor ln1_w, ln1_b, qkv_w, qkv_b, out_w, out_b, ln2_w, ln2_b, fc_w, fc_b, proj_w, proj_b;
  };
  std::vector<torch::Tensor*> all();
  VitConfig cfg_;
  torch::Tensor conv1_, class_embedding_, positional_embedding_, ln_pre_w_, ln_pre_b_, ln_post_w_, ln_post_b_, proj_;
  std::vector<Block> blocks_;
};

// Shared pieces (also used by the ResNet's attention pool).
torch::Tensor layer_norm_fp32(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b, double eps);
// softmax(q k^T / sqrt(d)) v for [B, H, Tq, d] x [B, H, Tk, d].
torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v);

}  // namespace brainsem::clip
