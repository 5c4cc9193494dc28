#include "brainsem/clip/image_encoder.h"

#include <nlohmann/json.hpp>

#include "brainsem/core/atomic_file.h"
#include "brainsem/core/error.h"

namespace brainsem::clip {

namespace fs = std::filesystem;
using nlohmann::json;

torch::Tensor ImageEncoder::encode(const torch::Tensor& pixels) {
  torch::NoGradGuard no_grad;
  auto out = forward(pixels.to(device_, dtype_));
  return out.to(torch::kCPU, torch::kFloat32);
}

namespace {

template <typename Model>
class ModelEncoder : public ImageEncoder {
 public:
  ModelEncoder(Model m, EncoderInfo info) : model_(std::move(m)) { info_ = std::move(info); }
  void to(torch::Device device, torch::ScalarType dtype) override {
    model_.to(device, dtype);
    device_ = device;
    dtype_ = dtype;
  }

 protected:
  torch::Tensor forward(const torch::Tensor& pixels) override { return model_.forward(pixels); }

 private:
  Model model_;
};

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

bool is_text_key_openai(const std::string& k) {
  return k.rfind("transformer.", 0) == 0 || k.rfind("token_embedding.", 0) == 0 || k == "positional_embedding" ||
         k.rfind("ln_final.", 0) == 0 || k == "text_projection" || k == "logit_scale" || k == "input_resolution" ||
         k == "context_length" || k == "vocab_size";
}

std::unique_ptr<ImageEncoder> load_hf(const fs::path& dir) {
  const fs::path cfg_path = dir / "config.json", weights = dir / "model.safetensors";
  BRAINSEM_CHECK(fs::exists(cfg_path), dir.string(), ": no config.json; a Hugging Face CLIP model directory needs "
                 "config.json and model.safetensors (save_pretrained(..., safe_serialization=True))");
  BRAINSEM_CHECK(fs::exists(weights), dir.string(), ": no model.safetensors; convert pytorch_model.bin with "
                 "save_pretrained(..., safe_serialization=True)");
  const json cfg = read_json(cfg_path);
  const json& v = cfg.contains("vision_config") ? cfg["vision_config"] : cfg;
  VitConfig c;
  c.image_size = get_or(v, "image_size", 224);
  c.patch_size = get_or(v, "patch_size", 32);
  c.width = get_or(v, "hidden_size", 768);
  c.layers = get_or(v, "num_hidden_layers", 12);
  c.heads = get_or(v, "num_attention_heads", 12);
  c.mlp_width = get_or(v, "intermediate_size", 3072);
  c.eps = get_or(v, "layer_norm_eps", 1e-5);
  // CLIPModel keeps the projection size at the top level (vision_config.projection_dim is unused).
  c.embed_dim = cfg.contains("vision_config") ? get_or(cfg, "projection_dim", 512) : get_or(v, "projection_dim", 512);
  const std::string act = get_or<std::string>(v, "hidden_act", "quick_gelu");
  BRAINSEM_CHECK(act == "quick_gelu" || act == "gelu", cfg_path.string(), ": hidden_act '", act,
                 "' is not supported (quick_gelu or gelu)");
  c.quick_gelu = act == "quick_gelu";
  const int channels = get_or(v, "num_channels", 3);
  BRAINSEM_CHECK(channels == 3, cfg_path.string(), ": num_channels ", channels, " (CLIP images have 3)");

  StrictWeights w(weights, [](const std::string& k) {
    return k.rfind("text_model.", 0) == 0 || k == "text_projection.weight" || k == "logit_scale" ||
           (k.size() >= 12 && k.compare(k.size() - 12, 12, "position_ids") == 0);
  });
  VisionTransformer model(c);
  model.load_hf(w);
  w.finish("use a CLIPModel / CLIPVisionModelWithProjection checkpoint whose config.json matches its weights");

  EncoderInfo info;
  info.format = "hf";
  info.id = "hf:" + fs::absolute(dir).lexically_normal().filename().string();
  if (info.id == "hf:") info.id = "hf:" + fs::absolute(dir).lexically_normal().parent_path().filename().string();
  info.arch = c.describe();
  info.image_size = c.image_size;
  info.embed_dim = c.embed_dim;
  info.preprocess.pipeline = Pipeline::HF;
  info.preprocess.resize = info.preprocess.crop = c.image_size;
  const fs::path pp = dir / "preprocessor_config.json";
  if (fs::exists(pp)) {
    const json p = read_json(pp);
    if (p.contains("size") && p["size"].is_object() && p["size"].contains("shortest_edge"))
      info.preprocess.resize = p["size"]["shortest_edge"].get<int>();
    if (p.contains("crop_size") && p["crop_size"].is_object() && p["crop_size"].contains("height"))
      info.preprocess.crop = p["crop_size"]["height"].get<int>();
    if (p.contains("image_mean")) info.preprocess.mean = p["image_mean"].get<std::array<float, 3>>();
    if (p.contains("image_std")) info.preprocess.std = p["image_std"].get<std::array<float, 3>>();
  }
  BRAINSEM_CHECK(info.preprocess.crop == c.image_size, pp.string(), ": crop size ", info.preprocess.crop,
                 " differs from the model's image_size ", c.image_size);
  return std::make_unique<ModelEncoder<VisionTransformer>>(std::move(model), info);
}

std::unique_ptr<ImageEncoder> load_openai(const fs::path& weights) {
  fs::path cfg_path = weights;
  cfg_path.replace_extension(".json");
  BRAINSEM_CHECK(fs::exists(cfg_path), weights.string(), ": no architecture file ", cfg_path.string(),
                 "; write the model's JSON config (openai/CLIP CLIP(...) arguments or open_clip's model config) "
                 "beside the weights with the same stem");
  const json cfg = read_json(cfg_path);
  // Which prefix holds the image tower: "visual." (full CLIP state dict) or none (visual only).
  bool has_visual = false;
  for (const auto& n : io::SafetensorsFile(weights).names())
    if (n.rfind("visual.", 0) == 0) has_visual = true;
  const std::string prefix = has_visual ? "visual." : "";
  StrictWeights strict(weights, [has_visual](const std::string& k) { return has_visual && is_text_key_openai(k); });

  int embed_dim = get_or(cfg, "embed_dim", 512);
  int image_size = 224, width = 768, patch = 0;
  json layers;
  bool quick_gelu = true;  // openai/CLIP always uses QuickGELU
  double head_width = 64;
  if (cfg.contains("vision_cfg")) {  // open_clip model config
    const json& v = cfg["vision_cfg"];
    image_size = get_or(v, "image_size", 224);
    width = get_or(v, "width", 768);
    patch = get_or(v, "patch_size", 0);
    layers = v.at("layers");
    head_width = get_or(v, "head_width", 64.0);
    quick_gelu = get_or(cfg, "quick_gelu", false);
  } else {  // openai/CLIP constructor arguments
    image_size = get_or(cfg, "image_resolution", 224);
    width = get_or(cfg, "vision_width", 768);
    patch = get_or(cfg, "vision_patch_size", 0);
    BRAINSEM_CHECK(cfg.contains("vision_layers"), cfg_path.string(), ": no 'vision_layers'");
    layers = cfg["vision_layers"];
    quick_gelu = get_or(cfg, "quick_gelu", true);
  }
  EncoderInfo info;
  info.format = "openai";
  info.id = "openai:" + weights.stem().string();
  info.image_size = image_size;
  info.embed_dim = embed_dim;
  info.preprocess.pipeline = Pipeline::OpenAI;
  info.preprocess.resize = info.preprocess.crop = image_size;
  const std::string hint = "check that " + cfg_path.string() + " describes these weights";
  if (layers.is_array()) {
    BRAINSEM_CHECK(layers.size() == 4, cfg_path.string(), ": a ModifiedResNet needs 4 stage depths, got ", layers.dump());
    ResNetConfig c;
    c.image_size = image_size;
    for (int i = 0; i < 4; ++i) c.layers[i] = layers[i].get<int>();
    c.width = width;
    c.heads = width * 32 / 64;  // as openai/CLIP build_model and open_clip
    c.embed_dim = embed_dim;
    ModifiedResNet model(c);
    model.load_openai(strict, prefix);
    strict.finish(hint);
    info.arch = c.describe();
    return std::make_unique<ModelEncoder<ModifiedResNet>>(std::move(model), info);
  }
  BRAINSEM_CHECK(layers.is_number_integer() && patch > 0, cfg_path.string(),
                 ": a ViT needs integer vision layers and a patch size");
  VitConfig c;
  c.image_size = image_size;
  c.patch_size = patch;
  c.width = width;
  c.layers = layers.get<int>();
  c.heads = static_cast<int>(width / head_width);
  c.mlp_width = width * 4;
  if (cfg.contains("vision_cfg")) c.mlp_width = static_cast<int>(width * get_or(cfg["vision_cfg"], "mlp_ratio", 4.0));
  c.embed_dim = embed_dim;
  c.quick_gelu = quick_gelu;
  VisionTransformer model(c);
  model.load_openai(strict, prefix);
  strict.finish(hint);
  info.arch = c.describe();
  return std::make_unique<ModelEncoder<VisionTransformer>>(std::move(model), info);
}

}  // namespace

std::unique_ptr<ImageEncoder> load_image_encoder(const fs::path& path) {
  BRAINSEM_CHECK(fs::exists(path), path.string(), ": model not found; give a Hugging Face directory, "
                 "an OpenAI/open_clip .safetensors with its .json, or a TorchScript .pt");
  if (fs::is_directory(path)) return load_hf(path);
  const std::string ext = path.extension().string();
  if (ext == ".safetensors") {
    // A HF model.safetensors given directly: its config.json is beside it.
    io::SafetensorsFile f(path);
    bool hf = false;
    for (const auto& n : f.names())
      if (n.rfind("vision_model.", 0) == 0) hf = true;
    if (hf) return load_hf(path.parent_path().empty() ? fs::path(".") : path.parent_path());
    return load_openai(path);
  }
  if (ext == ".pt" || ext == ".pth" || ext == ".jit") return load_torchscript_encoder(path);
  fail(path.string(), ": unknown model format '", ext,
       "'; expected a directory (Hugging Face), .safetensors (+ .json) or a TorchScript .pt");
}

std::unique_ptr<ImageEncoder> random_vit_encoder(const VitConfig& cfg, uint64_t seed) {
  VisionTransformer m(cfg);
  m.init_random(seed);
  EncoderInfo info;
  info.format = "random";
  info.id = "random:" + cfg.describe();
  info.arch = cfg.describe();
  info.image_size = cfg.image_size;
  info.embed_dim = cfg.embed_dim;
  info.preprocess.resize = info.preprocess.crop = cfg.image_size;
  return std::make_unique<ModelEncoder<VisionTransformer>>(std::move(m), info);
}

std::unique_ptr<ImageEncoder> random_resnet_encoder(const ResNetConfig& cfg, uint64_t seed) {
  ModifiedResNet m(cfg);
  m.init_random(seed);
  EncoderInfo info;
  info.format = "random";
  info.id = "random:" + cfg.describe();
  info.arch = cfg.describe();
  info.image_size = cfg.image_size;
  info.embed_dim = cfg.embed_dim;
  info.preprocess.resize = info.preprocess.crop = cfg.image_size;
  return std::make_unique<ModelEncoder<ModifiedResNet>>(std::move(m), info);
}

}  // namespace brainsem::clip
