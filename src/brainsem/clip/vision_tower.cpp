#include "brainsem/clip/vision_tower.h"

#include "brainsem/core/error.h"
#include "brainsem/core/rng.h"

namespace brainsem::clip {

std::string VitConfig::describe() const {
  return cat("ViT W", width, " L", layers, " H", heads, " P", patch_size, " R", image_size, " D", embed_dim, " ",
             quick_gelu ? "quick_gelu" : "gelu");
}

namespace {
VitConfig checked(VitConfig cfg) {
  BRAINSEM_CHECK(cfg.patch_size > 0 && cfg.image_size % cfg.patch_size == 0, "ViT config: image_size ", cfg.image_size,
                 " is not a multiple of patch_size ", cfg.patch_size);
  BRAINSEM_CHECK(cfg.embed_dim > 0, "ViT config: embed_dim must be positive");
  return cfg;
}
}  // namespace

VisionTransformer::VisionTransformer(VitConfig cfg)
    : cfg_(checked(cfg)), transformer_(cfg_.transformer(), "ViT config") {}

void VisionTransformer::load_openai(StrictWeights& w, const std::string& p) {
  const int64_t W = cfg_.width, P = cfg_.patch_size;
  conv1_ = w.take(p + "conv1.weight", {W, 3, P, P});
  class_embedding_ = w.take(p + "class_embedding", {W});
  positional_embedding_ = w.take(p + "positional_embedding", {cfg_.tokens(), W});
  ln_pre_w_ = w.take(p + "ln_pre.weight", {W});
  ln_pre_b_ = w.take(p + "ln_pre.bias", {W});
  transformer_.load(w, BlockNames::openai, p + "transformer.resblocks.");
  ln_post_w_ = w.take(p + "ln_post.weight", {W});
  ln_post_b_ = w.take(p + "ln_post.bias", {W});
  proj_ = w.take(p + "proj", {W, cfg_.embed_dim});
}

void VisionTransformer::load_hf(StrictWeights& w) {
  const int64_t W = cfg_.width, P = cfg_.patch_size;
  const std::string p = "vision_model.";
  conv1_ = w.take(p + "embeddings.patch_embedding.weight", {W, 3, P, P});
  class_embedding_ = w.take(p + "embeddings.class_embedding", {W});
  positional_embedding_ = w.take(p + "embeddings.position_embedding.weight", {cfg_.tokens(), W});
  ln_pre_w_ = w.take(p + "pre_layrnorm.weight", {W});
  ln_pre_b_ = w.take(p + "pre_layrnorm.bias", {W});
  transformer_.load(w, BlockNames::hf, p + "encoder.layers.");
  ln_post_w_ = w.take(p + "post_layernorm.weight", {W});
  ln_post_b_ = w.take(p + "post_layernorm.bias", {W});
  auto proj = w.take("visual_projection.weight", {cfg_.embed_dim, W});
  if (proj.defined()) proj_ = proj.t().contiguous();  // HF stores [D, W] (nn.Linear); we use x @ [W, D]
}

void VisionTransformer::init_random(uint64_t seed) {
  const core::SeededTorchScope seeded(seed);  // random weights without resetting the process's generator
  const int64_t W = cfg_.width, P = cfg_.patch_size;
  auto r = [](std::vector<int64_t> s) { return torch::randn(s) * 0.02; };
  conv1_ = r({W, 3, P, P});
  class_embedding_ = r({W});
  positional_embedding_ = r({cfg_.tokens(), W});
  ln_pre_w_ = ln_post_w_ = torch::ones({W});
  ln_pre_b_ = ln_post_b_ = torch::zeros({W});
  transformer_.init_random(r);
  proj_ = r({W, cfg_.embed_dim});
}

void VisionTransformer::to(torch::Device device, torch::ScalarType dtype) {
  for (auto* t :
       {&conv1_, &class_embedding_, &positional_embedding_, &ln_pre_w_, &ln_pre_b_, &ln_post_w_, &ln_post_b_, &proj_})
    if (t->defined()) *t = t->to(device, dtype);
  transformer_.to(device, dtype);
}

torch::Tensor VisionTransformer::forward(const torch::Tensor& pixels) const {
  const int64_t B = pixels.size(0), W = cfg_.width;
  BRAINSEM_CHECK(pixels.dim() == 4 && pixels.size(1) == 3 && pixels.size(2) == cfg_.image_size &&
                     pixels.size(3) == cfg_.image_size,
                 "ViT: expected pixels [B, 3, ", cfg_.image_size, ", ", cfg_.image_size, "], got ", pixels.sizes());
  auto x = torch::conv2d(pixels, conv1_, {}, cfg_.patch_size);  // [B, W, g, g]
  x = x.flatten(2).transpose(1, 2);                             // [B, g*g, W], row-major over (h, w)
  auto cls = class_embedding_.view({1, 1, W}).expand({B, 1, W});
  x = torch::cat({cls, x}, 1) + positional_embedding_;  // [B, T, W]
  x = layer_norm_fp32(x, ln_pre_w_, ln_pre_b_, cfg_.eps);
  x = transformer_.forward(x, /*causal=*/false);
  auto pooled = layer_norm_fp32(x.select(1, 0), ln_post_w_, ln_post_b_, cfg_.eps);  // [B, W], CLS only
  return torch::matmul(pooled, proj_);                                              // [B, D]
}

}  // namespace brainsem::clip
