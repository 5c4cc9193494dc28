#pragma once
// A frozen CLIP image encoder (the vision tower or the ModifiedResNet) loaded from one of three
// weight formats (clip/checkpoint_formats.h, docs/clip.md):
//   * Hugging Face: a directory with config.json and model.safetensors (CLIPModel or
//     CLIPVisionModelWithProjection; text-tower keys are ignored). Preprocessing: HF pipeline,
//     with size/crop/mean/std from preprocessor_config.json when present.
//   * OpenAI / open_clip state dict: NAME.safetensors with NAME.json beside it (openai/CLIP's CLIP
//     constructor arguments, or open_clip's {embed_dim, quick_gelu, vision_cfg}). Preprocessing:
//     OpenAI (torchvision) pipeline.
//   * TorchScript archives (.pt/.pth, e.g. OpenAI's released models or torch.jit.trace(model.visual))
//     via torch::jit::load. TorchScript can run arbitrary code: load only files you trust.
// Loading is strict: one error lists all missing, unexpected and mis-shaped keys.
#include <torch/torch.h>

#include <filesystem>
#include <memory>
#include <string>

#include "brainsem/clip/modified_resnet.h"
#include "brainsem/clip/preprocess.h"
#include "brainsem/clip/vision_tower.h"

namespace brainsem::clip {

struct EncoderInfo {
  std::string id;      // stored in feature stores, e.g. "openai:openai_vit_tiny", "hf:clip-vit-base-patch16"
  std::string format;  // "hf", "openai", "torchscript", "random"
  std::string arch;    // VitConfig/ResNetConfig::describe(), or "torchscript"
  int image_size = 224;
  int64_t embed_dim = 0;
  PreprocessConfig preprocess;
};

class ImageEncoder {
 public:
  virtual ~ImageEncoder() = default;
  // pixels [B, 3, R, R] float32 (any device) -> image embeddings [B, D] float32 on the CPU,
  // unnormalised (as the references return them). Runs without autograd.
  torch::Tensor encode(const torch::Tensor& pixels);
  // Moves the weights; dtype float32, bfloat16 or float16 (float16 needs CUDA in LibTorch 1.13).
  virtual void to(torch::Device device, torch::ScalarType dtype) = 0;
  const EncoderInfo& info() const { return info_; }
  torch::Device device() const { return device_; }
  torch::ScalarType dtype() const { return dtype_; }

 protected:
  virtual torch::Tensor forward(const torch::Tensor& pixels) = 0;
  EncoderInfo info_;
  torch::Device device_ = torch::kCPU;
  torch::ScalarType dtype_ = torch::kFloat32;
};

// Detects the format from `path` (directory, .safetensors, .pt/.pth/.jit) and loads it on the CPU
// in float32. Throws brainsem::Error saying what is missing and how to fix it.
std::unique_ptr<ImageEncoder> load_image_encoder(const std::filesystem::path& path);

// Encoders with random weights of a given shape (benchmarks and tests).
std::unique_ptr<ImageEncoder> random_vit_encoder(const VitConfig& cfg, uint64_t seed = 0);
std::unique_ptr<ImageEncoder> random_resnet_encoder(const ResNetConfig& cfg, uint64_t seed = 0);

// The TorchScript loader on its own (jit_encoder.cpp).
std::unique_ptr<ImageEncoder> load_torchscript_encoder(const std::filesystem::path& path);

}  // namespace brainsem::clip
