#pragma once
// CLIP's text tower (openai/CLIP model.py encode_text; HF CLIPTextTransformer + text_projection):
// token embedding + positional embedding -> the shared block stack with a causal mask
// (clip/transformer.h) -> final LayerNorm -> the hidden state at the end-of-text token -> @
// text_projection. The projection is kept in OpenAI's form [W, D]; the HF name table transposes
// text_projection.weight.
#include <torch/torch.h>

#include <string>

#include "brainsem/clip/transformer.h"
#include "brainsem/clip/weights.h"

namespace brainsem::clip {

struct TextConfig {
  int vocab_size = 49408;
  int context_length = 77;
  int width = 512;
  int layers = 12;
  int heads = 8;
  int mlp_width = 2048;
  int embed_dim = 512;
  bool quick_gelu = true;
  double eps = 1e-5;
  // The pooled position: < 0 or == 2 (HF's legacy configs): argmax of the ids (the end token has
  // the largest id in CLIP's vocabulary); otherwise the first position whose id equals it.
  int64_t eos_token_id = -1;
  TransformerConfig transformer() const { return {width, layers, heads, mlp_width, quick_gelu, eps}; }
  std::string describe() const;  // e.g. "Text W512 L12 H8 V49408 C77 D512 quick_gelu"
};

struct TextOutput {
  torch::Tensor pooled;  // [B, W] final-LayerNormed hidden state at the end token (HF pooler_output)
  torch::Tensor embeds;  // [B, D] pooled @ projection (unnormalised, as encode_text / text_embeds)
};

class TextTransformer {
 public:
  explicit TextTransformer(TextConfig cfg);
  // OpenAI / open_clip names (token_embedding.weight, positional_embedding, transformer.resblocks.*,
  // ln_final.*, text_projection) under `prefix` (normally "").
  void load_openai(StrictWeights& w, const std::string& prefix);
  // Hugging Face names (text_model.*, text_projection.weight).
  void load_hf(StrictWeights& w);
  // Random weights (tests): N(0, 0.02), LayerNorm 1/0.
  void init_random(uint64_t seed);

  // ids [B, T] int64 with T <= context_length; every row must hold its end token. Runs in the
  // weights' device/dtype; outputs there too.
  TextOutput forward(const torch::Tensor& ids) const;
  void to(torch::Device device, torch::ScalarType dtype);
  const TextConfig& config() const { return cfg_; }
  // Where each row is pooled: [B] int64 (see TextConfig::eos_token_id).
  torch::Tensor eot_positions(const torch::Tensor& ids) const;

 private:
  TextConfig cfg_;
  Transformer transformer_;
  torch::Tensor token_embedding_, positional_embedding_, ln_final_w_, ln_final_b_, proj_;
};

}  // namespace brainsem::clip
