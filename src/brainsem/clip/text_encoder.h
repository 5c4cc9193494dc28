#pragma once
// A frozen CLIP text encoder (the text tower, clip/text_tower.h) loaded from one of two weight
// formats (clip/checkpoint_formats.h, docs/clip_text.md):
//   * Hugging Face: a directory with config.json and model.safetensors (CLIPModel or
//     CLIPTextModelWithProjection); pooling as its config says (eos_token_id 2 = legacy argmax
//     of the ids, otherwise the first position holding eos_token_id).
//   * OpenAI / open_clip: NAME.safetensors with NAME.json (openai/CLIP's CLIP constructor
//     arguments, or open_clip's {embed_dim, quick_gelu, text_cfg}); pooling at argmax of the ids.
// Also: class prototypes averaged over prompt templates (filled by clip/prompts.h).
#include <torch/torch.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "brainsem/clip/text_tower.h"

namespace brainsem::clip {

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

}  // namespace brainsem::clip
