#include "brainsem/clip/transformer.h"

#include <torch/version.h>

#include <cmath>
#include <limits>

#include "brainsem/core/error.h"

namespace brainsem::clip {

torch::Tensor layer_norm_fp32(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b, double eps) {
  if (x.scalar_type() == torch::kFloat32) return torch::layer_norm(x, {x.size(-1)}, w, b, eps);
  return torch::layer_norm(x.to(torch::kFloat32), {x.size(-1)}, w.to(torch::kFloat32), b.to(torch::kFloat32), eps)
      .to(x.scalar_type());
}

torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, bool causal) {
#if TORCH_VERSION_MAJOR >= 2
  if (!causal) return at::scaled_dot_product_attention(q, k, v);
#endif
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  auto scores = torch::matmul(q * scale, k.transpose(-2, -1)).to(torch::kFloat32);  // [B, H, Tq, Tk]
  if (causal) {
    const int64_t T = scores.size(-1);
    auto future = torch::ones({T, T}, torch::TensorOptions().dtype(torch::kBool).device(q.device())).triu(1);
    scores = scores.masked_fill(future, -std::numeric_limits<float>::infinity());
  }
  return torch::matmul(torch::softmax(scores, -1).to(q.scalar_type()), v);
}

Transformer::Transformer(TransformerConfig cfg, const std::string& what) : cfg_(cfg) {
  BRAINSEM_CHECK(cfg_.heads > 0 && cfg_.width % cfg_.heads == 0, what, ": width ", cfg_.width,
                 " is not divisible by heads ", cfg_.heads);
  BRAINSEM_CHECK(cfg_.layers > 0 && cfg_.mlp_width > 0, what, ": layers and mlp width must be positive");
  blocks_.resize(cfg_.layers);
}

void Transformer::load(StrictWeights& w, BlockNames names, const std::string& prefix) {
  const int64_t W = cfg_.width, M = cfg_.mlp_width;
  for (int i = 0; i < cfg_.layers; ++i) {
    const std::string b = prefix + std::to_string(i) + ".";
    auto& B = blocks_[i];
    if (names == BlockNames::openai) {
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
      continue;
    }
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
}

void Transformer::init_random(const std::function<torch::Tensor(std::vector<int64_t>)>& normal) {
  const int64_t W = cfg_.width, M = cfg_.mlp_width;
  for (auto& B : blocks_) {
    B.ln1_w = B.ln2_w = torch::ones({W});
    B.ln1_b = B.ln2_b = torch::zeros({W});
    B.qkv_w = normal({3 * W, W});
    B.qkv_b = normal({3 * W});
    B.out_w = normal({W, W});
    B.out_b = normal({W});
    B.fc_w = normal({M, W});
    B.fc_b = normal({M});
    B.proj_w = normal({W, M});
    B.proj_b = normal({W});
  }
}

void Transformer::to(torch::Device device, torch::ScalarType dtype) {
  for (auto& b : blocks_)
    for (auto* t : {&b.ln1_w, &b.ln1_b, &b.qkv_w, &b.qkv_b, &b.out_w, &b.out_b, &b.ln2_w, &b.ln2_b, &b.fc_w, &b.fc_b,
                    &b.proj_w, &b.proj_b})
      if (t->defined()) *t = t->to(device, dtype);
}

torch::Tensor Transformer::forward(torch::Tensor x, bool causal) const {
  const int64_t B = x.size(0), T = x.size(1), W = cfg_.width, H = cfg_.heads, Dh = W / H;
  for (const auto& b : blocks_) {
    auto h = layer_norm_fp32(x, b.ln1_w, b.ln1_b, cfg_.eps);
    auto qkv = torch::linear(h, b.qkv_w, b.qkv_b).view({B, T, 3, H, Dh}).permute({2, 0, 3, 1, 4});  // [3, B, H, T, Dh]
    auto o = attention(qkv[0], qkv[1], qkv[2], causal);                                             // [B, H, T, Dh]
    o = o.transpose(1, 2).reshape({B, T, W});
    x = x + torch::linear(o, b.out_w, b.out_b);
    auto m = torch::linear(layer_norm_fp32(x, b.ln2_w, b.ln2_b, cfg_.eps), b.fc_w, b.fc_b);  // [B, T, M]
    m = cfg_.quick_gelu ? m * torch::sigmoid(1.702 * m) : torch::gelu(m);
    x = x + torch::linear(m, b.proj_w, b.proj_b);
  }
  return x;
}

}  // namespace brainsem::clip
