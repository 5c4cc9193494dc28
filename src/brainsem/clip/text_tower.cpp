#include "brainsem/clip/text_tower.h"

#include "brainsem/core/error.h"
#include "brainsem/core/rng.h"

namespace brainsem::clip {

std::string TextConfig::describe() const {
  return cat("Text W", width, " L", layers, " H", heads, " V", vocab_size, " C", context_length, " D", embed_dim, " ",
             quick_gelu ? "quick_gelu" : "gelu");
}

namespace {
TextConfig checked(TextConfig cfg) {
  BRAINSEM_CHECK(cfg.embed_dim > 0 && cfg.vocab_size > 0 && cfg.context_length > 1,
                 "text config: embed_dim, vocab_size and context_length must be positive (", cfg.describe(), ")");
  return cfg;
}
}  // namespace

TextTransformer::TextTransformer(TextConfig cfg)
    : cfg_(checked(cfg)), transformer_(cfg_.transformer(), "text config") {}

void TextTransformer::load_openai(StrictWeights& w, const std::string& p) {
  const int64_t W = cfg_.width;
  token_embedding_ = w.take(p + "token_embedding.weight", {cfg_.vocab_size, W});
  positional_embedding_ = w.take(p + "positional_embedding", {cfg_.context_length, W});
  transformer_.load(w, BlockNames::openai, p + "transformer.resblocks.");
  ln_final_w_ = w.take(p + "ln_final.weight", {W});
  ln_final_b_ = w.take(p + "ln_final.bias", {W});
  proj_ = w.take(p + "text_projection", {W, cfg_.embed_dim});
}

void TextTransformer::load_hf(StrictWeights& w) {
  const int64_t W = cfg_.width;
  const std::string p = "text_model.";
  token_embedding_ = w.take(p + "embeddings.token_embedding.weight", {cfg_.vocab_size, W});
  positional_embedding_ = w.take(p + "embeddings.position_embedding.weight", {cfg_.context_length, W});
  transformer_.load(w, BlockNames::hf, p + "encoder.layers.");
  ln_final_w_ = w.take(p + "final_layer_norm.weight", {W});
  ln_final_b_ = w.take(p + "final_layer_norm.bias", {W});
  auto proj = w.take("text_projection.weight", {cfg_.embed_dim, W});
  if (proj.defined()) proj_ = proj.t().contiguous();  // HF stores [D, W] (nn.Linear); we use x @ [W, D]
}

void TextTransformer::init_random(uint64_t seed) {
  const core::SeededTorchScope seeded(seed);  // random weights without resetting the process's generator
  const int64_t W = cfg_.width;
  auto r = [](std::vector<int64_t> s) { return torch::randn(s) * 0.02; };
  token_embedding_ = r({cfg_.vocab_size, W});
  positional_embedding_ = r({cfg_.context_length, W});
  ln_final_w_ = torch::ones({W});
  ln_final_b_ = torch::zeros({W});
  transformer_.init_random(r);
  proj_ = r({W, cfg_.embed_dim});
}

void TextTransformer::to(torch::Device device, torch::ScalarType dtype) {
  for (auto* t : {&token_embedding_, &positional_embedding_, &ln_final_w_, &ln_final_b_, &proj_})
    if (t->defined()) *t = t->to(device, dtype);
  transformer_.to(device, dtype);
}

torch::Tensor TextTransformer::eot_positions(const torch::Tensor& ids) const {
  const int64_t T = ids.size(1);
  const bool by_argmax = cfg_.eos_token_id < 0 || cfg_.eos_token_id == 2;
  // The value to find in each row: [B, 1].
  auto target = by_argmax ? std::get<0>(ids.max(1, /*keepdim=*/true))
                          : torch::full({ids.size(0), 1}, cfg_.eos_token_id, ids.options());
  auto hit = ids == target;  // [B, T]
  auto any = hit.any(1);
  if (!any.all().item<bool>()) {
    const int64_t row = (~any).nonzero()[0][0].item<int64_t>();
    fail("text ids: row ", row, " holds no end-of-text token (id ", cfg_.eos_token_id,
         "); tokenize with CLIP's tokenizer, which ends every text with it");
  }
  // The first hit: positions where hit, else T; the row minimum.
  auto pos = torch::arange(T, ids.options()).expand_as(ids);
  return torch::where(hit, pos, torch::full_like(pos, T)).amin(1);
}

TextOutput TextTransformer::forward(const torch::Tensor& ids_in) const {
  BRAINSEM_CHECK(ids_in.dim() == 2 && ids_in.size(0) > 0 && ids_in.size(1) > 0, "text tower: expected ids [B, T], got ",
                 ids_in.sizes());
  const int64_t B = ids_in.size(0), T = ids_in.size(1), W = cfg_.width;
  BRAINSEM_CHECK(T <= cfg_.context_length, "text tower: ", T, " tokens exceed the model's context length ",
                 cfg_.context_length, "; tokenize with context_length ", cfg_.context_length);
  auto ids = ids_in.to(token_embedding_.device(), torch::kInt64);
  const int64_t lo = ids.min().item<int64_t>(), hi = ids.max().item<int64_t>();
  BRAINSEM_CHECK(lo >= 0 && hi < cfg_.vocab_size, "text tower: token id ", lo < 0 ? lo : hi,
                 " is outside the model's vocabulary [0, ", cfg_.vocab_size,
                 "); the tokenizer and the model's vocabulary do not match");
  auto x = token_embedding_.index_select(0, ids.flatten()).view({B, T, W}) +
           positional_embedding_.slice(0, 0, T);  // [B, T, W]
  x = transformer_.forward(x, /*causal=*/true);
  x = layer_norm_fp32(x, ln_final_w_, ln_final_b_, cfg_.eps);
  const auto pos = eot_positions(ids);
  TextOutput out;
  out.pooled = x.index({torch::arange(B, pos.options()), pos});  // [B, W]
  out.embeds = torch::matmul(out.pooled, proj_);                 // [B, D]
  return out;
}

}  // namespace brainsem::clip
