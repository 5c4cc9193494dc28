#include "brainsem/clip/vit.h"

#include <torch/version.h>

#include <cmath>

#include "brainsem/core/error.h"
#include "brainsem/core/rng.h"

namespace brainsem::clip {

std::string VitConfig::describe() const {
  return cat("ViT W", width, " L", layers, " H", heads, " P", patch_size, " R", image_size, " D", embed_dim, " ",
             quick_gelu ? "quick_gelu" : "gelu");
}

torch::Tensor layer_norm_fp32(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b, double eps) {
  // As OpenAI's LayerNorm subclass: normalise in float32 whatever the compute dtype.
  if (x.scalar_type() == torch::kFloat32) return torch::layer_norm(x, {x.size(-1)}, w, b, eps);
  return torch::layer_norm(x.to(torch::kFloat32), {x.size(-1)}, w.to(torch::kFloat32), b.to(torch::kFloat32), eps)
      .to(x.scalar_type());
}

torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) {
#if TORCH_VERSION_MAJOR >= 2
  return at::scaled_dot_product_attention(q, k, v);
#else
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  auto scores = torch::matmul(q * scale, k.transpose(-2, -1));
  return torch::matmul(torch::softmax(scores.to(torch::kFloat32), -1).to(q.scalar_type()), v);
#endif
}

VisionTransformer::VisionTransformer(VitConfig cfg) : cfg_(cfg) {
  BRAINSEM_CHECK(cfg_.patch_size > 0 && cfg_.image_size % cfg_.patch_size == 0, "ViT config: image_size ",
                 cfg_.image_size, " is not a multiple of patch_size ", cfg_.patch_size);
  BRAINSEM_CHECK(cfg_.heads > 0 && cfg_.width % cfg_.heads == 0, "ViT config: width ", cfg_.width,
                 " is not divisible by heads ", cfg_.heads);
  BRAINSEM_CHECK(cfg_.layers > 0 && cfg_.embed_dim > 0 && cfg_.mlp_width > 0, "ViT config: layers, embed_dim and mlp width must be positive");
  blocks_.resize(cfg_.layers);
}

std::vector<torch::Tensor*> VisionTransformer::all() {
  std::vector<torch::Tensor*> v{&conv1_, &class_embedding_, &positional_embedding_, &ln_pre_w_, &ln_pre_b_,
                                &ln_post_w_, &ln_post_b_, &proj_};
  for (auto& b : blocks_)
    for (auto* t : {&b.ln1_w, &b.ln1_b, &b.qkv_w, &b.qkv_b, &b.out_w, &b.out_b, &b.ln2_w, &b.ln2_b, &b.fc_w, &b.fc_b,
                    &b.proj_w, &b.proj_b})
      v.push_back(t);
  return v;
}

void VisionTransformer::load_openai(StrictWeights& w, const std::string& p) {
  const int64_t W = cfg_.width, M = cfg_.mlp_width, P = cfg_.patch_size;
  conv1_ = w.take(p + "conv1.weight", {W, 3, P, P});
  class_embedding_ = w.take(p + "class_embedding", {W});
  positional_embedding_ = w.take(p + "positional_embedding", {cfg_.tokens(), W});
  ln_pre_w_ = w.take(p + "ln_pre.weight", {W});
  ln_pre_b_ = w.take(p + "ln_pre.bias", {W});
  for (int i = 0; i < cfg_.layers; ++i) {
    const std::string b = p + "transformer.resblocks." + std::to_string(i) + ".";
    auto& B = blocks_[i];
    B.ln1_w = w.take(b + "ln_1.weight", {W});
    B.ln1_b = w.take(b + "ln_1.bias", {W});
    B.qkv_w = w.take(b + "attn.in_proj_weight", {3 * W, W});
    B.qkv_b = w.take(b + "attn.in_proj_bias", {3 * W});
    B.out_w = w.take(b + "attn.out_proj.weight", {W, W});
    B.out_b = w.take(b + "attn.out_proj.bias", {W});
    B.ln2_w = w.take(b + "ln_2.weight", {W});
    B.ln2_b = w.take(b + "ln_2.bias", {W});
    B.fc_w = w.take(b + "mlp.c_fc.weight", {M, W});
    B.fc_b = w.take(b + "mlp.c_fc.bias", {M});
    B.proj_w = w.take(b + "mlp.c_proj.weight", {W, M});
    B.proj_b = w.take(b + "mlp.c_proj.bias", {W});
  }
  ln_post_w_ = w.take(p + "ln_post.weight", {W});
  ln_post_b_ = w.take(p + "ln_post.bias", {W});
  proj_ = w.take(p + "proj", {W, cfg_.embed_dim});
}

void VisionTransformer::load_hf(StrictWeights& w) {
  const int64_t W = cfg_.width, M = cfg_.mlp_width, P = cfg_.patch_size;
  const std::string p = "vision_model.";
  conv1_ = w.take(p + "embeddings.patch_embedding.weight", {W, 3, P, P});
  class_embedding_ = w.take(p + "embeddings.class_embedding", {W});
  positional_embedding_ = w.take(p + "embeddings.position_embedding.weight", {cfg_.tokens(), W});
  ln_pre_w_ = w.take(p + "pre_layrnorm.weight", {W});
  ln_pre_b_ = w.take(p + "pre_layrnorm.bias", {W});
  for (int i = 0; i < cfg_.layers; ++i) {
    const std::string b = p + "encoder.layers." + std::to_string(i) + ".";
    auto& B = blocks_[i];
    B.ln1_w = w.take(b + "layer_norm1.weight", {W});
    B.ln1_b = w.take(b + "layer_norm1.bias", {W});
    auto q = w.take(b + "self_attn.q_proj.weight", {W, W}), k = w.take(b + "self_attn.k_proj.weight", {W, W}),
         v = w.take(b + "self_attn.v_proj.weight", {W, W});
    auto qb = w.take(b + "self_attn.q_proj.bias", {W}), kb = w.take(b + "self_attn.k_proj.bias", {W}),
         vb = w.take(b + "self_attn.v_proj.bias", {W});
    if (q.defined() && k.defined() && v.defined()) B.qkv_w = torch::cat({q, k, v}, 0);  // [3W, W], q,k,v order
    if (qb.defined() && kb.defined() && vb.defined()) B.qkv_b = torch::cat({qb, kb, vb}, 0);
    B.out_w = w.take(b + "self_attn.out_proj.weight", {W, W});
    B.out_b = w.take(b + "self_attn.out_proj.bias", {W});
    B.ln2_w = w.take(b + "layer_norm2.weight", {W});
    B.ln2_b = w.take(b + "layer_norm2.bias", {W});
    B.fc_w = w.take(b + "mlp.fc1.weight", {M, W});
    B.fc_b = w.take(b + "mlp.fc1.bias", {M});
    B.proj_w = w.take(b + "mlp.fc2.weight", {W, M});
    B.proj_b = w.take(b + "mlp.fc2.bias", {W});
  }
  ln_post_w_ = w.take(p + "post_layernorm.weight", {W});
  ln_post_b_ = w.take(p + "post_layernorm.bias", {W});
  auto proj = w.take("visual_projection.weight", {cfg_.embed_dim, W});
  if (proj.defined()) proj_ = proj.t().contiguous();  // HF stores [D, W] (nn.Linear); we use x @ [W, D]
}

void VisionTransformer::init_random(uint64_t seed) {
  const core::SeededTorchScope seeded(seed);  // random weights without resetting the process's generator
  const int64_t W = cfg_.width, M = cfg_.mlp_width, P = cfg_.patch_size;
  auto r = [](std::vector<int64_t> s) { return torch::randn(s) * 0.02; };
  conv1_ = r({W, 3, P, P});
  class_embedding_ = r({W});
  positional_embedding_ = r({cfg_.tokens(), W});
  ln_pre_w_ = ln_post_w_ = torch::ones({W});
  ln_pre_b_ = ln_post_b_ = torch::zeros({W});
  for (auto& B : blocks_) {
    B.ln1_w = B.ln2_w = torch::ones({W});
    B.ln1_b = B.ln2_b = torch::zeros({W});
    B.qkv_w = r({3 * W, W});
    B.qkv_b = r({3 * W});
    B.out_w = r({W, W});
    B.out_b = r({W});
    B.fc_w = r({M, W});
    B.fc_b = r({M});
    B.proj_w = r({W, M});
    B.proj_b = r({W});
  }
  proj_ = r({W, cfg_.embed_dim});
}

void VisionTransformer::to(torch::Device device, torch::ScalarType dtype) {
  for (auto* t : all())
    if (t->defined()) *t = t->to(device, dtype);
}

torch::Tensor VisionTransformer::forward(const torch::Tensor& pixels) const {
  const int64_t B = pixels.size(0), W = cfg_.width, H = cfg_.heads, Dh = W / H;
  BRAINSEM_CHECK(pixels.dim() == 4 && pixels.size(1) == 3 && pixels.size(2) == cfg_.image_size &&
                     pixels.size(3) == cfg_.image_size,
                 "ViT: expected pixels [B, 3, ", cfg_.image_size, ", ", cfg_.image_size, "], got ", pixels.sizes());
  auto x = torch::conv2d(pixels, conv1_, {}, cfg_.patch_size);  // [B, W, g, g]
  x = x.flatten(2).transpose(1, 2);                             // [B, g*g, W], row-major over (h, w)
  auto cls = class_embedding_.view({1, 1, W}).expand({B, 1, W});
  x = torch::cat({cls, x}, 1) + positional_embedding_;  // [B, T, W]
  x = layer_norm_fp32(x, ln_pre_w_, ln_pre_b_, cfg_.eps);
  const int64_t T = x.size(1);
  for (const auto& b : blocks_) {
    auto h = layer_norm_fp32(x, b.ln1_w, b.ln1_b, cfg_.eps);
    auto qkv = torch::linear(h, b.qkv_w, b.qkv_b).view({B, T, 3, H, Dh}).permute({2, 0, 3, 1, 4});  // [3, B, H, T, Dh]
    auto o = attention(qkv[0], qkv[1], qkv[2]);                                                       // [B, H, T, Dh]
    o = o.transpose(1, 2).reshape({B, T, W});
    x = x + torch::linear(o, b.out_w, b.out_b);
    auto m = torch::linear(layer_norm_fp32(x, b.ln2_w, b.ln2_b, cfg_.eps), b.fc_w, b.fc_b);  // [B, T, M]
    m = cfg_.quick_gelu ? m * torch::sigmoid(1.702 * m) : torch::gelu(m);
    x = x + torch::linear(m, b.proj_w, b.proj_b);
  }
  auto pooled = layer_norm_fp32(x.select(1, 0), ln_post_w_, ln_post_b_, cfg_.eps);  // [B, W], CLS only
  return torch::matmul(pooled, proj_);                                              // [B, D]
}

}  // namespace brainsem::clip
