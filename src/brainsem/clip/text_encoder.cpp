#include "brainsem/clip/text_encoder.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <limits>

#include "brainsem/clip/tokenizer.h"
#include "brainsem/clip/vit.h"
#include "brainsem/core/atomic_file.h"
#include "brainsem/core/error.h"
#include "brainsem/core/progress.h"
#include "brainsem/core/rng.h"

namespace brainsem::clip {

namespace fs = std::filesystem;
using nlohmann::json;

std::string TextConfig::describe() const {
  return cat("Text W", width, " L", layers, " H", heads, " V", vocab_size, " C", context_length, " D", embed_dim, " ",
             quick_gelu ? "quick_gelu" : "gelu");
}

TextTransformer::TextTransformer(TextConfig cfg) : cfg_(cfg) {
  BRAINSEM_CHECK(cfg_.heads > 0 && cfg_.width % cfg_.heads == 0, "text config: width ", cfg_.width,
                 " is not divisible by heads ", cfg_.heads);
  BRAINSEM_CHECK(cfg_.layers > 0 && cfg_.embed_dim > 0 && cfg_.mlp_width > 0 && cfg_.vocab_size > 0 &&
                     cfg_.context_length > 1,
                 "text config: layers, embed_dim, mlp width, vocab_size and context_length must be positive (",
                 cfg_.describe(), ")");
  blocks_.resize(cfg_.layers);
}

std::vector<torch::Tensor*> TextTransformer::all() {
  std::vector<torch::Tensor*> v{&token_embedding_, &positional_embedding_, &ln_final_w_, &ln_final_b_, &proj_};
  for (auto& b : blocks_)
    for (auto* t : {&b.ln1_w, &b.ln1_b, &b.qkv_w, &b.qkv_b, &b.out_w, &b.out_b, &b.ln2_w, &b.ln2_b, &b.fc_w, &b.fc_b,
                    &b.proj_w, &b.proj_b})
      v.push_back(t);
  return v;
}

void TextTransformer::load_openai(StrictWeights& w, const std::string& p) {
  const int64_t W = cfg_.width, M = cfg_.mlp_width;
  token_embedding_ = w.take(p + "token_embedding.weight", {cfg_.vocab_size, W});
  positional_embedding_ = w.take(p + "positional_embedding", {cfg_.context_length, W});
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
  ln_final_w_ = w.take(p + "ln_final.weight", {W});
  ln_final_b_ = w.take(p + "ln_final.bias", {W});
  proj_ = w.take(p + "text_projection", {W, cfg_.embed_dim});
}

void TextTransformer::load_hf(StrictWeights& w) {
  const int64_t W = cfg_.width, M = cfg_.mlp_width;
  const std::string p = "text_model.";
  token_embedding_ = w.take(p + "embeddings.token_embedding.weight", {cfg_.vocab_size, W});
  positional_embedding_ = w.take(p + "embeddings.position_embedding.weight", {cfg_.context_length, W});
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
  ln_final_w_ = w.take(p + "final_layer_norm.weight", {W});
  ln_final_b_ = w.take(p + "final_layer_norm.bias", {W});
  auto proj = w.take("text_projection.weight", {cfg_.embed_dim, W});
  if (proj.defined()) proj_ = proj.t().contiguous();  // HF stores [D, W] (nn.Linear); we use x @ [W, D]
}

void TextTransformer::init_random(uint64_t seed) {
  const core::SeededTorchScope seeded(seed);  // random weights without resetting the process's generator
  const int64_t W = cfg_.width, M = cfg_.mlp_width;
  auto r = [](std::vector<int64_t> s) { return torch::randn(s) * 0.02; };
  token_embedding_ = r({cfg_.vocab_size, W});
  positional_embedding_ = r({cfg_.context_length, W});
  ln_final_w_ = torch::ones({W});
  ln_final_b_ = torch::zeros({W});
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

void TextTransformer::to(torch::Device device, torch::ScalarType dtype) {
  for (auto* t : all())
    if (t->defined()) *t = t->to(device, dtype);
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
  const int64_t B = ids_in.size(0), T = ids_in.size(1), W = cfg_.width, H = cfg_.heads, Dh = W / H;
  BRAINSEM_CHECK(T <= cfg_.context_length, "text tower: ", T, " tokens exceed the model's context length ",
                 cfg_.context_length, "; tokenize with context_length ", cfg_.context_length);
  auto ids = ids_in.to(token_embedding_.device(), torch::kInt64);
  const int64_t lo = ids.min().item<int64_t>(), hi = ids.max().item<int64_t>();
  BRAINSEM_CHECK(lo >= 0 && hi < cfg_.vocab_size, "text tower: token id ", lo < 0 ? lo : hi,
                 " is outside the model's vocabulary [0, ", cfg_.vocab_size,
                 "); the tokenizer and the model's vocabulary do not match");
  auto x = token_embedding_.index_select(0, ids.flatten()).view({B, T, W}) +
           positional_embedding_.slice(0, 0, T);  // [B, T, W]
  // Causal mask: position i attends to positions <= i only.
  auto future = torch::ones({T, T}, torch::TensorOptions().dtype(torch::kBool).device(x.device())).triu(1);
  const double scale = 1.0 / std::sqrt(static_cast<double>(Dh));
  for (const auto& b : blocks_) {
    auto h = layer_norm_fp32(x, b.ln1_w, b.ln1_b, cfg_.eps);
    auto qkv = torch::linear(h, b.qkv_w, b.qkv_b).view({B, T, 3, H, Dh}).permute({2, 0, 3, 1, 4});  // [3, B, H, T, Dh]
    auto scores = torch::matmul(qkv[0] * scale, qkv[1].transpose(-2, -1)).to(torch::kFloat32);   // [B, H, T, T]
    scores = scores.masked_fill(future, -std::numeric_limits<float>::infinity());
    auto o = torch::matmul(torch::softmax(scores, -1).to(x.scalar_type()), qkv[2]);  // [B, H, T, Dh]
    o = o.transpose(1, 2).reshape({B, T, W});
    x = x + torch::linear(o, b.out_w, b.out_b);
    auto m = torch::linear(layer_norm_fp32(x, b.ln2_w, b.ln2_b, cfg_.eps), b.fc_w, b.fc_b);  // [B, T, M]
    m = cfg_.quick_gelu ? m * torch::sigmoid(1.702 * m) : torch::gelu(m);
    x = x + torch::linear(m, b.proj_w, b.proj_b);
  }
  x = layer_norm_fp32(x, ln_final_w_, ln_final_b_, cfg_.eps);
  const auto pos = eot_positions(ids);
  TextOutput out;
  out.pooled = x.index({torch::arange(B, pos.options()), pos});  // [B, W]
  out.embeds = torch::matmul(out.pooled, proj_);                 // [B, D]
  return out;
}

TextEncoder::TextEncoder(TextTransformer model, TextEncoderInfo info) : model_(std::move(model)), info_(std::move(info)) {}

torch::Tensor TextEncoder::encode_ids(const torch::Tensor& ids) {
  torch::NoGradGuard no_grad;
  return model_.forward(ids.to(device_)).embeds.to(torch::kCPU, torch::kFloat32);
}

torch::Tensor TextEncoder::encode_texts(const std::vector<std::string>& texts) {
  const auto& cfg = model_.config();
  BRAINSEM_CHECK(cfg.vocab_size == ClipTokenizer::kVocabSize, info_.id, ": the model's text vocabulary has ",
                 cfg.vocab_size, " tokens but CLIP's BPE tokenizer has ", ClipTokenizer::kVocabSize,
                 "; use a CLIP model with the standard vocabulary");
  return encode_ids(ClipTokenizer::builtin().tokenize_batch(texts, cfg.context_length));
}

void TextEncoder::to(torch::Device device, torch::ScalarType dtype) {
  model_.to(device, dtype);
  device_ = device;
  dtype_ = dtype;
}

namespace {

json read_json(const fs::path& p) {
  try {
    return json::parse(core::read_text_file(p));
  } catch (const json::exception& e) {
    fail(p.string(), ": not valid JSON (", e.what(), ")");
  }
}

template <typename T>
T get_or(const json& j, const char* key, T def) {
  if (!j.contains(key) || j[key].is_null()) return def;
  return j[key].get<T>();
}

bool starts_with(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }

std::unique_ptr<TextEncoder> load_hf_text(const fs::path& dir) {
  const fs::path cfg_path = dir / "config.json", weights = dir / "model.safetensors";
  BRAINSEM_CHECK(fs::exists(cfg_path), dir.string(), ": no config.json; a Hugging Face CLIP model directory needs "
                 "config.json and model.safetensors (save_pretrained(..., safe_serialization=True))");
  BRAINSEM_CHECK(fs::exists(weights), dir.string(), ": no model.safetensors; convert the checkpoint with "
                 "save_pretrained(..., safe_serialization=True)");
  const json cfg = read_json(cfg_path);
  const json& t = cfg.contains("text_config") ? cfg["text_config"] : cfg;
  StrictWeights w(weights, [](const std::string& k) {
    return starts_with(k, "vision_model.") || k == "visual_projection.weight" || k == "logit_scale" ||
           k == "text_model.embeddings.position_ids";
  });
  BRAINSEM_CHECK(w.has("text_projection.weight"), weights.string(),
                 ": no text_projection.weight; this is not a CLIPModel / CLIPTextModelWithProjection checkpoint "
                 "(a vision-only model has no text tower)");
  TextConfig c;
  c.vocab_size = get_or(t, "vocab_size", 49408);
  c.width = get_or(t, "hidden_size", 512);
  c.mlp_width = get_or(t, "intermediate_size", 2048);
  c.layers = get_or(t, "num_hidden_layers", 12);
  c.heads = get_or(t, "num_attention_heads", 8);
  c.context_length = get_or(t, "max_position_embeddings", 77);
  c.eps = get_or(t, "layer_norm_eps", 1e-5);
  c.eos_token_id = get_or<int64_t>(t, "eos_token_id", -1);
  const std::string act = get_or<std::string>(t, "hidden_act", "quick_gelu");
  BRAINSEM_CHECK(act == "quick_gelu" || act == "gelu", cfg_path.string(), ": text hidden_act '", act,
                 "' is not supported (quick_gelu or gelu)");
  c.quick_gelu = act == "quick_gelu";
  // CLIPModel's projection size is the top-level projection_dim (text_config's is unused); read it
  // from the weights so both CLIPModel and CLIPTextModelWithProjection files work.
  c.embed_dim = static_cast<int>(w.shape_of("text_projection.weight").at(0));
  TextTransformer model(c);
  model.load_hf(w);
  w.finish("use a CLIPModel / CLIPTextModelWithProjection checkpoint whose config.json matches its weights");
  TextEncoderInfo info;
  info.format = "hf";
  info.id = "hf:" + fs::absolute(dir).lexically_normal().filename().string();
  if (info.id == "hf:") info.id = "hf:" + fs::absolute(dir).lexically_normal().parent_path().filename().string();
  info.arch = c.describe();
  info.embed_dim = c.embed_dim;
  return std::make_unique<TextEncoder>(std::move(model), info);
}

std::unique_ptr<TextEncoder> load_openai_text(const fs::path& weights) {
  fs::path cfg_path = weights;
  cfg_path.replace_extension(".json");
  BRAINSEM_CHECK(fs::exists(cfg_path), weights.string(), ": no architecture file ", cfg_path.string(),
                 "; write the model's JSON config (openai/CLIP CLIP(...) arguments or open_clip's model config) "
                 "beside the weights with the same stem");
  const json cfg = read_json(cfg_path);
  TextConfig c;
  c.embed_dim = get_or(cfg, "embed_dim", 512);
  if (cfg.contains("text_cfg")) {  // open_clip model config
    const json& t = cfg["text_cfg"];
    c.context_length = get_or(t, "context_length", 77);
    c.vocab_size = get_or(t, "vocab_size", 49408);
    c.width = get_or(t, "width", 512);
    c.heads = get_or(t, "heads", 8);
    c.layers = get_or(t, "layers", 12);
    c.mlp_width = static_cast<int>(c.width * get_or(t, "mlp_ratio", 4.0));
    c.quick_gelu = get_or(cfg, "quick_gelu", false);
  } else {  // openai/CLIP constructor arguments
    BRAINSEM_CHECK(cfg.contains("transformer_width") && cfg.contains("transformer_layers"), cfg_path.string(),
                   ": no 'transformer_width'/'transformer_layers'; expected openai/CLIP's CLIP(...) arguments or "
                   "open_clip's config with 'text_cfg'");
    c.context_length = get_or(cfg, "context_length", 77);
    c.vocab_size = get_or(cfg, "vocab_size", 49408);
    c.width = cfg["transformer_width"].get<int>();
    c.layers = cfg["transformer_layers"].get<int>();
    c.heads = get_or(cfg, "transformer_heads", c.width / 64);
    c.mlp_width = c.width * 4;
    c.quick_gelu = get_or(cfg, "quick_gelu", true);  // openai/CLIP always uses QuickGELU
  }
  c.eos_token_id = -1;  // encode_text pools at text.argmax(dim=-1)
  StrictWeights w(weights, [](const std::string& k) {
    return starts_with(k, "visual.") || k == "logit_scale" || k == "input_resolution" || k == "context_length" ||
           k == "vocab_size" || k == "attn_mask";
  });
  BRAINSEM_CHECK(w.has("text_projection"), weights.string(),
                 ": no text_projection; this state dict holds no text tower (a visual-only export?)");
  TextTransformer model(c);
  model.load_openai(w, "");
  w.finish("check that " + cfg_path.string() + " describes these weights");
  TextEncoderInfo info;
  info.format = "openai";
  info.id = "openai:" + weights.stem().string();
  info.arch = c.describe();
  info.embed_dim = c.embed_dim;
  return std::make_unique<TextEncoder>(std::move(model), info);
}

}  // namespace

std::unique_ptr<TextEncoder> load_text_encoder(const fs::path& path) {
  BRAINSEM_CHECK(fs::exists(path), path.string(), ": model not found; give a Hugging Face CLIP directory or an "
                 "OpenAI/open_clip .safetensors with its .json");
  if (fs::is_directory(path)) return load_hf_text(path);
  const std::string ext = path.extension().string();
  BRAINSEM_CHECK(ext == ".safetensors", path.string(), ": unknown text model format '", ext,
                 "'; expected a Hugging Face directory or a .safetensors state dict (TorchScript archives are "
                 "supported for images only)");
  io::SafetensorsFile f(path);
  for (const auto& n : f.names())
    if (starts_with(n, "text_model.")) return load_hf_text(path.parent_path().empty() ? fs::path(".") : path.parent_path());
  return load_openai_text(path);
}

std::string fill_template(const std::string& tmpl, const std::string& name) {
  std::string out;
  for (size_t i = 0; i < tmpl.size();) {
    if (tmpl.compare(i, 2, "{}") == 0) {
      out += name;
      i += 2;
    } else {
      out += tmpl[i++];
    }
  }
  return out;
}

torch::Tensor class_prototypes(TextEncoder& encoder, const std::vector<std::string>& classes,
                               const std::vector<std::string>& templates, int batch, bool progress) {
  BRAINSEM_CHECK(!classes.empty(), "class prototypes: no classes given");
  BRAINSEM_CHECK(!templates.empty(), "class prototypes: no templates given");
  BRAINSEM_CHECK(batch > 0, "class prototypes: batch must be positive");
  const int64_t C = static_cast<int64_t>(classes.size()), Tm = static_cast<int64_t>(templates.size());
  const int64_t total = C * Tm;
  torch::Tensor sums;  // [C, D]
  std::unique_ptr<core::Progress> bar;
  if (progress) bar = std::make_unique<core::Progress>("embed-text", total, "prompts");
  for (int64_t start = 0; start < total; start += batch) {
    const int64_t end = std::min<int64_t>(total, start + batch);
    std::vector<std::string> prompts;
    for (int64_t k = start; k < end; ++k) prompts.push_back(fill_template(templates[k % Tm], classes[k / Tm]));
    auto e = encoder.encode_texts(prompts);  // [n, D]
    e = e / e.norm(2, 1, true);
    if (!sums.defined()) sums = torch::zeros({C, e.size(1)}, torch::kFloat32);
    auto cls = torch::empty({end - start}, torch::kInt64);  // class of each prompt
    for (int64_t k = start; k < end; ++k) cls.data_ptr<int64_t>()[k - start] = k / Tm;
    sums.index_add_(0, cls, e);
    if (bar) bar->update(end);
  }
  if (bar) bar->finish();
  // The mean's direction is the sum's: normalising the sum equals normalising the mean.
  return sums / sums.norm(2, 1, true);
}

std::vector<std::string> builtin_templates(const std::string& name) {
  if (name == "default") return {"a photo of a {}."};
  if (name == "imagenet80") {
    // OpenAI's 80 ImageNet prompt templates (openai/CLIP notebooks/Prompt_Engineering_for_ImageNet.ipynb).
    return {"a bad photo of a {}.",
            "a photo of many {}.",
            "a sculpture of a {}.",
            "a photo of the hard to see {}.",
            "a low resolution photo of the {}.",
            "a rendering of a {}.",
            "graffiti of a {}.",
            "a bad photo of the {}.",
            "a cropped photo of the {}.",
            "a tattoo of a {}.",
            "the embroidered {}.",
            "a photo of a hard to see {}.",
            "a bright photo of a {}.",
            "a photo of a clean {}.",
            "a photo of a dirty {}.",
            "a dark photo of the {}.",
            "a drawing of a {}.",
            "a photo of my {}.",
            "the plastic {}.",
            "a photo of the cool {}.",
            "a close-up photo of a {}.",
            "a black and white photo of the {}.",
            "a painting of the {}.",
            "a painting of a {}.",
            "a pixelated photo of the {}.",
            "a sculpture of the {}.",
            "a bright photo of the {}.",
            "a cropped photo of a {}.",
            "a plastic {}.",
            "a photo of the dirty {}.",
            "a jpeg corrupted photo of a {}.",
            "a blurry photo of the {}.",
            "a photo of the {}.",
            "a good photo of the {}.",
            "a rendering of the {}.",
            "a {} in a video game.",
            "a photo of one {}.",
            "a doodle of a {}.",
            "a close-up photo of the {}.",
            "a photo of a {}.",
            "the origami {}.",
            "the {} in a video game.",
            "a sketch of a {}.",
            "a doodle of the {}.",
            "a origami {}.",
            "a low resolution photo of a {}.",
            "the toy {}.",
            "a rendition of the {}.",
            "a photo of the clean {}.",
            "a photo of a large {}.",
            "a rendition of a {}.",
            "a photo of a nice {}.",
            "a photo of a weird {}.",
            "a blurry photo of a {}.",
            "a cartoon {}.",
            "art of a {}.",
            "a sketch of the {}.",
            "a embroidered {}.",
            "a pixelated photo of a {}.",
            "itap of the {}.",
            "a jpeg corrupted photo of the {}.",
            "a good photo of a {}.",
            "a plushie {}.",
            "a photo of the nice {}.",
            "a photo of the small {}.",
            "a photo of the weird {}.",
            "the cartoon {}.",
            "art of the {}.",
            "a drawing of the {}.",
            "a photo of the large {}.",
            "a black and white photo of a {}.",
            "the plushie {}.",
            "a dark photo of a {}.",
            "itap of a {}.",
            "graffiti of the {}.",
            "a toy {}.",
            "itap of my {}.",
            "a photo of a cool {}.",
            "a photo of a small {}.",
            "a tattoo of the {}."};
  }
  fail("unknown template set '", name, "'; use default, imagenet80 or a file with one template per line");
}

std::vector<std::string> read_templates_file(const fs::path& path) {
  const std::string text = core::read_text_file(path);
  std::vector<std::string> out;
  size_t pos = 0;
  int line_no = 0;
  while (pos <= text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    std::string line = text.substr(pos, eol - pos);
    ++line_no;
    pos = eol + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    BRAINSEM_CHECK(line.find("{}") != std::string::npos, path.string(), ":", line_no, ": template '", line,
                   "' has no {} where the class name goes (e.g. 'a photo of a {}.')");
    out.push_back(line);
  }
  BRAINSEM_CHECK(!out.empty(), path.string(), ": no templates (one per line, each with {} for the class name)");
  return out;
}

}  // namespace brainsem::clip
