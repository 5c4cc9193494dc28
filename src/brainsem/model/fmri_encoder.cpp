#include "brainsem/model/fmri_encoder.h"

#include <torch/version.h>

#include <cmath>

#include "brainsem/core/error.h"

namespace F = torch::nn::functional;

namespace brainsem::model {

void validate(const FmriEncoderConfig& cfg) {
  BRAINSEM_CHECK(cfg.kind == "vit" || cfg.kind == "linear" || cfg.kind == "mlp", "encoder kind '", cfg.kind,
                 "' is unknown; use vit, linear or mlp");
  BRAINSEM_CHECK(cfg.tokens > 0 && cfg.token_width > 0, "encoder needs tokens > 0 and token_width > 0");
  BRAINSEM_CHECK(cfg.out_dim > 0 && cfg.width > 0 && cfg.mlp > 0, "encoder width, mlp and out_dim must be positive");
  BRAINSEM_CHECK(cfg.dropout >= 0 && cfg.dropout < 1, "dropout must be in [0, 1), got ", cfg.dropout);
  BRAINSEM_CHECK(cfg.head == "linear" || cfg.head == "none", "encoder head must be linear or none, got '", cfg.head,
                 "'");
  BRAINSEM_CHECK(cfg.head == "linear" || cfg.kind == "vit",
                 "encoder head none (the CLS output as the embedding) "
                 "applies to --encoder vit only; a ",
                 cfg.kind, " encoder ends in its own linear layer: pass --head linear");
  BRAINSEM_CHECK(cfg.head == "linear" || cfg.width == cfg.out_dim, "encoder head none uses the CLS output (width ",
                 cfg.width, ") as the embedding, but the image features have ", cfg.out_dim,
                 " dimensions; pass --width ", cfg.out_dim, " or --head linear (a Linear(width->", cfg.out_dim,
                 ") head)");
  if (cfg.kind == "vit") {
    BRAINSEM_CHECK(cfg.depth >= 1, "encoder depth must be >= 1");
    BRAINSEM_CHECK(cfg.heads >= 1 && cfg.width % cfg.heads == 0, "encoder width ", cfg.width,
                   " must be divisible by heads ", cfg.heads);
    BRAINSEM_CHECK(cfg.pos_embed == "learned" || cfg.pos_embed == "none", "pos_embed must be learned or none, got '",
                   cfg.pos_embed, "'");
  }
}

TransformerBlockImpl::TransformerBlockImpl(int64_t width, int64_t heads, int64_t mlp, double dropout)
    : heads_(heads), dropout_(dropout) {
  norm1_ = register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({width}).eps(1e-6)));
  qkv_ = register_module("qkv", torch::nn::Linear(width, 3 * width));
  proj_ = register_module("proj", torch::nn::Linear(width, width));
  norm2_ = register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({width}).eps(1e-6)));
  fc1_ = register_module("fc1", torch::nn::Linear(width, mlp));
  fc2_ = register_module("fc2", torch::nn::Linear(mlp, width));
}

torch::Tensor TransformerBlockImpl::forward(const torch::Tensor& x) {
  const int64_t b = x.size(0), t = x.size(1), d = x.size(2), hd = d / heads_;
  auto qkv = qkv_->forward(norm1_->forward(x)).view({b, t, 3, heads_, hd}).permute({2, 0, 3, 1, 4});
  auto q = qkv[0], k = qkv[1], v = qkv[2];  // [B, H, T, hd]
  torch::Tensor y;                          // [B, H, T, hd]
#if TORCH_VERSION_MAJOR >= 2
  // On a GPU one fused kernel replaces four launches. On the CPU, 8 tokens gain nothing from it, and
  // the plain form keeps CPU numbers identical between LibTorch 1.13 and 2.x.
  if (q.is_cuda()) y = at::scaled_dot_product_attention(q, k, v);
#endif
  if (!y.defined()) {
    auto attn = torch::softmax(torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(hd)), -1);
    y = torch::matmul(attn, v);
  }
  y = y.transpose(1, 2).reshape({b, t, d});
  auto h = x + F::dropout(proj_->forward(y), F::DropoutFuncOptions().p(dropout_).training(is_training()));
  auto m = fc2_->forward(torch::gelu(fc1_->forward(norm2_->forward(h))));
  return h + F::dropout(m, F::DropoutFuncOptions().p(dropout_).training(is_training()));
}

std::vector<std::string> unused_encoder_fields(const std::string& kind) {
  if (kind == "linear") return {"width", "depth", "heads", "mlp", "pos_embed", "tanh_output", "head"};
  if (kind == "mlp") return {"width", "depth", "heads", "pos_embed", "tanh_output", "head"};
  return {};
}

FmriEncoderImpl::FmriEncoderImpl(const FmriEncoderConfig& cfg) : cfg_(cfg) {
  validate(cfg_);
  if (cfg_.kind == "vit") {
    token_embed_ = register_module("token_embed", torch::nn::Linear(cfg_.token_width, cfg_.width));
    cls_token_ = register_parameter("cls_token", torch::zeros({1, 1, cfg_.width}));
    // "none" keeps a zero buffer, as the released code's never-initialised pos_embed.
    pos_embed_ = cfg_.pos_embed == "learned"
                     ? register_parameter("pos_embed", torch::randn({1, cfg_.tokens + 1, cfg_.width}) * 0.02)
                     : register_buffer("pos_embed", torch::zeros({1, cfg_.tokens + 1, cfg_.width}));
    blocks_ = register_module("blocks", torch::nn::ModuleList());
    for (int64_t i = 0; i < cfg_.depth; ++i)
      blocks_->push_back(TransformerBlock(cfg_.width, cfg_.heads, cfg_.mlp, cfg_.dropout));
    norm_ = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({cfg_.width}).eps(1e-6)));
    if (cfg_.head == "linear") head_ = register_module("head", torch::nn::Linear(cfg_.width, cfg_.out_dim));
  } else if (cfg_.kind == "linear") {
    head_ = register_module("head", torch::nn::Linear(cfg_.tokens * cfg_.token_width, cfg_.out_dim));
  } else {
    hidden_ = register_module("hidden", torch::nn::Linear(cfg_.tokens * cfg_.token_width, cfg_.mlp));
    head_ = register_module("head", torch::nn::Linear(cfg_.mlp, cfg_.out_dim));
  }
}

torch::Tensor FmriEncoderImpl::forward(const torch::Tensor& x) {
  BRAINSEM_CHECK(x.dim() == 3 && x.size(1) == cfg_.tokens && x.size(2) == cfg_.token_width, "encoder expects [B, ",
                 cfg_.tokens, ", ", cfg_.token_width, "] input, got ", x.sizes());
  auto drop = [&](const torch::Tensor& t) {
    return F::dropout(t, F::DropoutFuncOptions().p(cfg_.dropout).training(is_training()));
  };
  if (cfg_.kind == "linear") return head_->forward(drop(x.flatten(1)));
  if (cfg_.kind == "mlp") return head_->forward(drop(torch::gelu(hidden_->forward(drop(x.flatten(1))))));
  const int64_t b = x.size(0);
  auto tokens = token_embed_->forward(x);                                                // [B, R, D]
  auto h = torch::cat({cls_token_.expand({b, 1, cfg_.width}), tokens}, 1) + pos_embed_;  // [B, R+1, D]
  h = drop(h);
  for (const auto& block : *blocks_) h = block->as<TransformerBlock>()->forward(h);
  h = norm_->forward(h);
  if (cfg_.tanh_output) h = torch::tanh(h);
  auto cls = h.select(1, 0);                 // [B, D]
  return head_ ? head_->forward(cls) : cls;  // [B, E]
}

int64_t count_parameters(torch::nn::Module& module) {
  int64_t n = 0;
  for (const auto& p : module.parameters()) n += p.numel();
  return n;
}

}  // namespace brainsem::model
