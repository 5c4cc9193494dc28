#pragma once
// The residual block stack both CLIP towers share (openai/CLIP model.py Transformer; HF
// CLIPEncoder): L pre-LN blocks of multi-head self-attention with fused qkv (optionally causal, as
// the text tower's) and an MLP with QuickGELU or exact GELU. Weights are kept in OpenAI's canonical
// form (fused in_proj [3W, W]); the Hugging Face name table concatenates q, k and v.
#include <torch/torch.h>

#include <functional>
#include <string>
#include <vector>

#include "brainsem/clip/weights.h"

namespace brainsem::clip {

struct TransformerConfig {
  int width = 768;
  int layers = 12;
  int heads = 12;
  int mlp_width = 3072;
  bool quick_gelu = true;  // OpenAI weights: QuickGELU; most LAION/open_clip: exact GELU
  double eps = 1e-5;
};

// The two checkpoint name tables of a block stack.
enum class BlockNames {
  openai,  // PREFIX{i}.ln_1, .attn.in_proj_*, .attn.out_proj, .ln_2, .mlp.c_fc, .mlp.c_proj
  hf,      // PREFIX{i}.layer_norm1, .self_attn.{q,k,v,out}_proj, .layer_norm2, .mlp.fc1, .mlp.fc2
};

class Transformer {
 public:
  // `what` names the tower in configuration errors ("ViT config", "text config").
  Transformer(TransformerConfig cfg, const std::string& what);
  // Takes every block's weights from `w`; `prefix` ends where the block index begins, e.g.
  // "visual.transformer.resblocks." (openai) or "vision_model.encoder.layers." (hf).
  void load(StrictWeights& w, BlockNames names, const std::string& prefix);
  // LayerNorms 1/0, every other weight drawn by `normal(shape)` in a fixed order.
  void init_random(const std::function<torch::Tensor(std::vector<int64_t>)>& normal);
  // x [B, T, W] -> [B, T, W]. `causal`: position i attends to positions <= i only.
  torch::Tensor forward(torch::Tensor x, bool causal) const;
  void to(torch::Device device, torch::ScalarType dtype);
  const TransformerConfig& config() const { return cfg_; }

 private:
  struct Block {
    torch::Tensor ln1_w, ln1_b, qkv_w, qkv_b, out_w, out_b, ln2_w, ln2_b, fc_w, fc_b, proj_w, proj_b;
  };
  TransformerConfig cfg_;
  std::vector<Block> blocks_;
};

// LayerNorm computed in float32 whatever the compute dtype (OpenAI's LayerNorm subclass).
torch::Tensor layer_norm_fp32(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b, double eps);
// softmax(q k^T / sqrt(d)) v for [B, H, Tq, d] x [B, H, Tk, d]; `causal` masks key positions
// after each query's (Tq == Tk). Softmax in float32.
torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, bool causal = false);

}  // namespace brainsem::clip
