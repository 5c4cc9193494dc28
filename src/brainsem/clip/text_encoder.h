#pragma once
// CLIP's text tower (openai/CLIP model.py encode_text; HF CLIPTextTransformer + text_projection):
// token embedding + positional embedding -> L pre-LN residual blocks with a causal mask (fused
// qkv MHA, MLP with QuickGELU or exact GELU) -> final LayerNorm -> the hidden state at the
// end-of-text token -> @ text_projection. Weights are kept in OpenAI's canonical form (fused
// in_proj [3W, W], projection [W, D]); the HF loader concatenates q/k/v and transposes
// text_projection.weight. Formats (docs/clip_text.md):
//   * Hugging Face: a directory with config.json and model.safetensors (CLIPModel or
//     CLIPTextModelWithProjection); pooling as its config says (eos_token_id 2 = legacy argmax
//     of the ids, otherwise the first position holding eos_token_id).
//   * OpenAI / open_clip: NAME.safetensors with NAME.json (openai/CLIP's CLIP constructor
//     arguments, or open_clip's {embed_dim, quick_gelu, text_cfg}); pooling at argmax of the ids.
#include <torch/torch.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

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
  struct Block {
    torch::Tensor ln1_w, ln1_b, qkv_w, qkv_b, out_w, out_b, ln2_w, ln2_b, fc_w, fc_b, proj_w, proj_b;
  };
  std::vector<torch::Tensor*> all();
  TextConfig cfg_;
  torch::Tensor token_embedding_, positional_embedding_, ln_final_w_, ln_final_b_, proj_;
  std::vector<Block> blocks_;
};

struct TextEncoderInfo {
  std::string id;      // e.g. "hf:clip-vit-base-patch16", "openai:ViT-B-16" (as ImageEncoder ids)
  std::string format;  // "hf", "openai", "random"
  std::string arch;    // TextConfig::describe()
  int64_t embed_dim = 0;
};

class TextEncoder {
 public:
  TextEncoder(TextTransformer model, TextEncoderInfo info);
  // ids [B, T] int64 -> text embeddings [B, D] float32 on the CPU, unnormalised. No autograd.
  torch::Tensor encode_ids(const torch::Tensor& ids);
  // Tokenizes with CLIP's BPE tokenizer (context length from the model) and encodes.
  // Checks that the model's vocabulary is CLIP's (49408 tokens).
  torch::Tensor encode_texts(const std::vector<std::string>& texts);
  void to(torch::Device device, torch::ScalarType dtype);
  const TextEncoderInfo& info() const { return info_; }
  const TextTransformer& model() const { return model_; }

 private:
  TextTransformer model_;
  TextEncoderInfo info_;
  torch::Device device_ = torch::kCPU;
  torch::ScalarType dtype_ = torch::kFloat32;
};

// Detects the format from `path` (directory or HF model.safetensors -> Hugging Face; other
// .safetensors -> OpenAI/open_clip with NAME.json) and loads the text tower on the CPU, float32.
// Strict: one error lists all missing/mis-shaped/unexpected text keys (image-tower keys ignored).
std::unique_ptr<TextEncoder> load_text_encoder(const std::filesystem::path& path);

// Class prototypes for zero-shot classification: for each class c, the mean over templates t of
// normalise(encode(t with "{}" replaced by c)), normalised again. templates: strings with "{}".
// Returns [C, D] float32 with unit rows. `batch`: prompts per forward pass.
torch::Tensor class_prototypes(TextEncoder& encoder, const std::vector<std::string>& classes,
                               const std::vector<std::string>& templates, int batch = 256, bool progress = true);

// Template sets: "default" = {"a photo of a {}."}; "imagenet80" = OpenAI's 80 ImageNet prompts
// (CLIP repo notebook Prompt_Engineering_for_ImageNet.ipynb). Throws for other names.
std::vector<std::string> builtin_templates(const std::string& name);
// A template file: one template per line (blank lines and lines starting with '#' skipped); each
// must contain "{}". Throws naming the file and line.
std::vector<std::string> read_templates_file(const std::filesystem::path& path);
// Every "{}" in `tmpl` replaced by `name` (as Python's str.format with one positional field).
std::string fill_template(const std::string& tmpl, const std::string& name);

}  // namespace brainsem::clip
