#include "brainsem/clip/modified_resnet.h"

#include "brainsem/clip/transformer.h"
#include "brainsem/core/error.h"
#include "brainsem/core/rng.h"

namespace brainsem::clip {

std::string ResNetConfig::describe() const {
  return cat("ModifiedResNet layers [", layers[0], ",", layers[1], ",", layers[2], ",", layers[3], "] W", width, " H",
             heads, " R", image_size, " D", embed_dim);
}

ModifiedResNet::ModifiedResNet(ResNetConfig cfg) : cfg_(cfg) {
  BRAINSEM_CHECK(cfg_.image_size % 32 == 0, "ModifiedResNet config: image_size ", cfg_.image_size,
                 " must be a multiple of 32");
  BRAINSEM_CHECK(cfg_.width > 0 && cfg_.width % 2 == 0 && cfg_.heads > 0 && (cfg_.width * 32) % cfg_.heads == 0,
                 "ModifiedResNet config: width ", cfg_.width, " and heads ", cfg_.heads, " do not fit");
}

torch::Tensor ModifiedResNet::ConvBn::operator()(const torch::Tensor& x) const {
  return torch::conv2d(x, w, b, stride, padding);
}

ModifiedResNet::ConvBn ModifiedResNet::load_conv_bn(StrictWeights& sw, const std::string& conv, const std::string& bn,
                                                    int64_t out, int64_t in, int64_t k) {
  ConvBn c;
  c.padding = k / 2;
  auto w = sw.take(conv + ".weight", {out, in, k, k});
  auto g = sw.take(bn + ".weight", {out}), beta = sw.take(bn + ".bias", {out});
  auto mean = sw.take(bn + ".running_mean", {out}), var = sw.take(bn + ".running_var", {out});
  sw.take(bn + ".num_batches_tracked", {});  // training counter; not used in eval
  if (!(w.defined() && g.defined() && beta.defined() && mean.defined() && var.defined())) return c;
  auto w64 = w.to(torch::kFloat64);
  auto scale = g.to(torch::kFloat64) / torch::sqrt(var.to(torch::kFloat64) + cfg_.eps);  // fold in double
  c.w = (w64 * scale.view({out, 1, 1, 1})).to(torch::kFloat32);
  c.b = (beta.to(torch::kFloat64) - mean.to(torch::kFloat64) * scale).to(torch::kFloat32);
  return c;
}

ModifiedResNet::ConvBn ModifiedResNet::random_conv_bn(int64_t out, int64_t in, int64_t k) {
  ConvBn c;
  c.padding = k / 2;
  c.w = torch::randn({out, in, k, k}) * std::sqrt(2.0 / (in * k * k));
  c.b = torch::randn({out}) * 0.01;
  return c;
}

void ModifiedResNet::load_openai(StrictWeights& w, const std::string& p) {
  const int64_t W = cfg_.width;
  stem1_ = load_conv_bn(w, p + "conv1", p + "bn1", W / 2, 3, 3);
  stem1_.stride = 2;
  stem2_ = load_conv_bn(w, p + "conv2", p + "bn2", W / 2, W / 2, 3);
  stem3_ = load_conv_bn(w, p + "conv3", p + "bn3", W, W / 2, 3);
  blocks_.clear();
  int64_t inplanes = W;
  for (int s = 0; s < 4; ++s) {
    const int64_t planes = W << s;
    for (int i = 0; i < cfg_.layers[s]; ++i) {
      const std::string b = p + "layer" + std::to_string(s + 1) + "." + std::to_string(i) + ".";
      Bottleneck blk;
      blk.stride = (i == 0 && s > 0) ? 2 : 1;
      blk.c1 = load_conv_bn(w, b + "conv1", b + "bn1", planes, inplanes, 1);
      blk.c2 = load_conv_bn(w, b + "conv2", b + "bn2", planes, planes, 3);
      blk.c3 = load_conv_bn(w, b + "conv3", b + "bn3", planes * 4, planes, 1);
      blk.has_down = blk.stride > 1 || inplanes != planes * 4;
      if (blk.has_down) blk.down = load_conv_bn(w, b + "downsample.0", b + "downsample.1", planes * 4, inplanes, 1);
      blocks_.push_back(blk);
      inplanes = planes * 4;
    }
  }
  const int64_t C = W * 32, spatial = cfg_.image_size / 32;
  pos_ = w.take(p + "attnpool.positional_embedding", {spatial * spatial + 1, C});
  q_w_ = w.take(p + "attnpool.q_proj.weight", {C, C});
  q_b_ = w.take(p + "attnpool.q_proj.bias", {C});
  k_w_ = w.take(p + "attnpool.k_proj.weight", {C, C});
  k_b_ = w.take(p + "attnpool.k_proj.bias", {C});
  v_w_ = w.take(p + "attnpool.v_proj.weight", {C, C});
  v_b_ = w.take(p + "attnpool.v_proj.bias", {C});
  c_w_ = w.take(p + "attnpool.c_proj.weight", {cfg_.embed_dim, C});
  c_b_ = w.take(p + "attnpool.c_proj.bias", {cfg_.embed_dim});
}

void ModifiedResNet::init_random(uint64_t seed) {
  const core::SeededTorchScope seeded(seed);  // random weights without resetting the process's generator
  const int64_t W = cfg_.width;
  stem1_ = random_conv_bn(W / 2, 3, 3);
  stem1_.stride = 2;
  stem2_ = random_conv_bn(W / 2, W / 2, 3);
  stem3_ = random_conv_bn(W, W / 2, 3);
  blocks_.clear();
  int64_t inplanes = W;
  for (int s = 0; s < 4; ++s) {
    const int64_t planes = W << s;
    for (int i = 0; i < cfg_.layers[s]; ++i) {
      Bottleneck blk;
      blk.stride = (i == 0 && s > 0) ? 2 : 1;
      blk.c1 = random_conv_bn(planes, inplanes, 1);
      blk.c2 = random_conv_bn(planes, planes, 3);
      blk.c3 = random_conv_bn(planes * 4, planes, 1);
      blk.has_down = blk.stride > 1 || inplanes != planes * 4;
      if (blk.has_down) blk.down = random_conv_bn(planes * 4, inplanes, 1);
      blocks_.push_back(blk);
      inplanes = planes * 4;
    }
  }
  const int64_t C = W * 32, spatial = cfg_.image_size / 32;
  auto r = [](std::vector<int64_t> s) { return torch::randn(s) * 0.02; };
  pos_ = r({spatial * spatial + 1, C});
  q_w_ = r({C, C});
  q_b_ = r({C});
  k_w_ = r({C, C});
  k_b_ = r({C});
  v_w_ = r({C, C});
  v_b_ = r({C});
  c_w_ = r({cfg_.embed_dim, C});
  c_b_ = r({cfg_.embed_dim});
}

std::vector<torch::Tensor*> ModifiedResNet::all() {
  std::vector<torch::Tensor*> v{&pos_, &q_w_, &q_b_, &k_w_, &k_b_, &v_w_, &v_b_, &c_w_, &c_b_};
  for (auto* c : {&stem1_, &stem2_, &stem3_}) {
    v.push_back(&c->w);
    v.push_back(&c->b);
  }
  for (auto& b : blocks_)
    for (auto* c : {&b.c1, &b.c2, &b.c3, &b.down}) {
      v.push_back(&c->w);
      v.push_back(&c->b);
    }
  return v;
}

void ModifiedResNet::to(torch::Device device, torch::ScalarType dtype) {
  for (auto* t : all())
    if (t->defined()) *t = t->to(device, dtype);
}

torch::Tensor ModifiedResNet::forward(const torch::Tensor& pixels) const {
  BRAINSEM_CHECK(pixels.dim() == 4 && pixels.size(1) == 3 && pixels.size(2) == cfg_.image_size &&
                     pixels.size(3) == cfg_.image_size,
                 "ModifiedResNet: expected pixels [B, 3, ", cfg_.image_size, ", ", cfg_.image_size, "], got ",
                 pixels.sizes());
  auto x = torch::relu(stem1_(pixels));  // [B, W/2, R/2, R/2]
  x = torch::relu(stem2_(x));
  x = torch::relu(stem3_(x));
  x = torch::avg_pool2d(x, 2);  // [B, W, R/4, R/4]
  for (const auto& b : blocks_) {
    auto out = torch::relu(b.c1(x));
    out = torch::relu(b.c2(out));
    if (b.stride > 1) out = torch::avg_pool2d(out, b.stride);
    out = b.c3(out);
    auto identity = x;
    if (b.has_down) identity = b.down(b.stride > 1 ? torch::avg_pool2d(x, b.stride) : x);
    x = torch::relu(out + identity);
  }
  // Attention pool: x [B, C, s, s] -> tokens [B, s*s+1, C] with the spatial mean first.
  const int64_t B = x.size(0), C = x.size(1), H = cfg_.heads, Dh = C / H;
  auto t = x.flatten(2).transpose(1, 2);           // [B, s*s, C]
  t = torch::cat({t.mean(1, true), t}, 1) + pos_;  // [B, L, C]
  const int64_t L = t.size(1);
  auto q = torch::linear(t.narrow(1, 0, 1), q_w_, q_b_).view({B, 1, H, Dh}).transpose(1, 2);  // [B, H, 1, Dh]
  auto k = torch::linear(t, k_w_, k_b_).view({B, L, H, Dh}).transpose(1, 2);                  // [B, H, L, Dh]
  auto v = torch::linear(t, v_w_, v_b_).view({B, L, H, Dh}).transpose(1, 2);
  auto o = attention(q, k, v).transpose(1, 2).reshape({B, C});  // [B, C]
  return torch::linear(o, c_w_, c_b_);                          // [B, D]
}

}  // namespace brainsem::clip
