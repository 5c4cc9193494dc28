#include "brainsem/clip/text_encoder.h"

#include "brainsem/clip/checkpoint_formats.h"
#include "brainsem/clip/prompts.h"
#include "brainsem/clip/tokenizer.h"
#include "brainsem/core/error.h"
#include "brainsem/core/progress.h"

namespace brainsem::clip {

namespace fs = std::filesystem;
using nlohmann::json;

TextEncoder::TextEncoder(TextTransformer model, TextEncoderInfo info)
    : model_(std::move(model)), info_(std::move(info)) {}

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

std::unique_ptr<TextEncoder> load_hf_text(const fs::path& dir) {
  const auto [cfg_path, weights] = hf_model_files(dir);
  const json cfg = read_model_json(cfg_path);
  const json& t = cfg.contains("text_config") ? cfg["text_config"] : cfg;
  StrictWeights w(weights, [](const std::string& k) {
    return starts_with(k, "vision_model.") || k == "visual_projection.weight" || k == "logit_scale" ||
           k == "text_model.embeddings.position_ids";
  });
  BRAINSEM_CHECK(w.has("text_projection.weight"), weights.string(),
                 ": no text_projection.weight; this is not a CLIPModel / CLIPTextModelWithProjection checkpoint "
                 "(a vision-only model has no text tower)");
  TextConfig c;
  c.vocab_size = json_or(t, "vocab_size", 49408, cfg_path);
  c.width = json_or(t, "hidden_size", 512, cfg_path);
  c.mlp_width = json_or(t, "intermediate_size", 2048, cfg_path);
  c.layers = json_or(t, "num_hidden_layers", 12, cfg_path);
  c.heads = json_or(t, "num_attention_heads", 8, cfg_path);
  c.context_length = json_or(t, "max_position_embeddings", 77, cfg_path);
  c.eps = json_or(t, "layer_norm_eps", 1e-5, cfg_path);
  c.eos_token_id = json_or<int64_t>(t, "eos_token_id", -1, cfg_path);
  c.quick_gelu = hf_quick_gelu(t, cfg_path);
  // CLIPModel's projection size is the top-level projection_dim (text_config's is unused); read it
  // from the weights so both CLIPModel and CLIPTextModelWithProjection files work.
  c.embed_dim = static_cast<int>(w.shape_of("text_projection.weight").at(0));
  TextTransformer model(c);
  model.load_hf(w);
  w.finish("use a CLIPModel / CLIPTextModelWithProjection checkpoint whose config.json matches its weights");
  TextEncoderInfo info;
  info.format = "hf";
  info.id = hf_model_id(dir);
  info.arch = c.describe();
  info.embed_dim = c.embed_dim;
  return std::make_unique<TextEncoder>(std::move(model), info);
}

std::unique_ptr<TextEncoder> load_openai_text(const fs::path& weights) {
  const fs::path cfg_path = openai_config_path(weights);
  const json cfg = read_model_json(cfg_path);
  TextConfig c;
  c.embed_dim = json_or(cfg, "embed_dim", 512, cfg_path);
  if (cfg.contains("text_cfg")) {  // open_clip model config
    const json& t = cfg["text_cfg"];
    c.context_length = json_or(t, "context_length", 77, cfg_path);
    c.vocab_size = json_or(t, "vocab_size", 49408, cfg_path);
    c.width = json_or(t, "width", 512, cfg_path);
    c.heads = json_or(t, "heads", 8, cfg_path);
    c.layers = json_or(t, "layers", 12, cfg_path);
    c.mlp_width = static_cast<int>(c.width * json_or(t, "mlp_ratio", 4.0, cfg_path));
    c.quick_gelu = json_or(cfg, "quick_gelu", false, cfg_path);
  } else {  // openai/CLIP constructor arguments
    BRAINSEM_CHECK(cfg.contains("transformer_width") && cfg.contains("transformer_layers"), cfg_path.string(),
                   ": no 'transformer_width'/'transformer_layers'; expected openai/CLIP's CLIP(...) arguments or "
                   "open_clip's config with 'text_cfg'");
    c.context_length = json_or(cfg, "context_length", 77, cfg_path);
    c.vocab_size = json_or(cfg, "vocab_size", 49408, cfg_path);
    c.width = cfg["transformer_width"].get<int>();
    c.layers = cfg["transformer_layers"].get<int>();
    c.heads = json_or(cfg, "transformer_heads", c.width / 64, cfg_path);
    c.mlp_width = c.width * 4;
    c.quick_gelu = json_or(cfg, "quick_gelu", true, cfg_path);  // openai/CLIP always uses QuickGELU
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
  BRAINSEM_CHECK(fs::exists(path), path.string(),
                 ": model not found; give a Hugging Face CLIP directory or an "
                 "OpenAI/open_clip .safetensors with its .json");
  if (fs::is_directory(path)) return load_hf_text(path);
  const std::string ext = path.extension().string();
  BRAINSEM_CHECK(ext == ".safetensors", path.string(), ": unknown text model format '", ext,
                 "'; expected a Hugging Face directory or a .safetensors state dict (TorchScript archives are "
                 "supported for images only)");
  if (has_key_prefix(io::SafetensorsFile(path), "text_model.")) return load_hf_text(hf_model_dir(path));
  return load_openai_text(path);
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

}  // namespace brainsem::clip
