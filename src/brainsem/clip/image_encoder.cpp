#include "brainsem/clip/image_encoder.h"

#include <nlohmann/json.hpp>

#include <cmath>

#include "brainsem/clip/checkpoint_formats.h"
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

bool is_text_key_openai(const std::string& k) {
  return starts_with(k, "transformer.") || starts_with(k, "token_embedding.") || k == "positional_embedding" ||
         starts_with(k, "ln_final.") || k == "text_projection" || k == "logit_scale" || k == "input_resolution" ||
         k == "context_length" || k == "vocab_size";
}

// CLIPImageProcessor's preprocessor_config.json onto `cfg`. Only what the HF pipeline here does is
// accepted: resize (bicubic) to a shortest edge, a square centre crop, rescale by 1/255, normalise
// with positive std. A step switched off or another resample filter is refused, not ignored.
void read_hf_preprocessor(const fs::path& path, PreprocessConfig& cfg) {
  const json p = read_model_json(path);
  BRAINSEM_CHECK(p.is_object(), path.string(), ": expected a JSON object (CLIPImageProcessor's settings)");
  for (const char* step : {"do_resize", "do_center_crop", "do_rescale", "do_normalize"})
    BRAINSEM_CHECK(json_or(p, step, true, path), path.string(), ": '", step,
                   "' is false, but CLIP's pipeline (and BrainSem's) always does that step; remove the key or set it "
                   "to true");
  const int resample = json_or(p, "resample", 3, path);
  BRAINSEM_CHECK(resample == 3, path.string(), ": 'resample' ", resample,
                 " is not bicubic (3, CLIP's filter); other filters are not implemented");
  const double rescale = json_or(p, "rescale_factor", 1.0 / 255.0, path);
  BRAINSEM_CHECK(std::abs(rescale - 1.0 / 255.0) < 1e-9, path.string(), ": 'rescale_factor' ", rescale,
                 " is not 1/255; only 8-bit images rescaled to [0, 1] are supported");
  // size: {"shortest_edge": N}, or N in older processors.
  if (p.contains("size") && !p["size"].is_null()) {
    const json& size = p["size"];
    BRAINSEM_CHECK(size.is_number_integer() || (size.is_object() && size.contains("shortest_edge")), path.string(),
                   ": 'size' ", size.dump(), " is not {\"shortest_edge\": N}; CLIP resizes the shortest edge");
    cfg.resize = size.is_object() ? json_or(size, "shortest_edge", 0, path) : json_or(p, "size", 0, path);
  }
  // crop_size: {"height": N, "width": N}, or N.
  if (p.contains("crop_size") && !p["crop_size"].is_null()) {
    const json& crop = p["crop_size"];
    if (crop.is_object()) {
      const int h = json_or(crop, "height", 0, path), w = json_or(crop, "width", h, path);
      BRAINSEM_CHECK(h == w, path.string(), ": crop_size ", crop.dump(), " is not square; CLIP crops a square");
      cfg.crop = h;
    } else {
      cfg.crop = json_or(p, "crop_size", 0, path);
    }
  }
  BRAINSEM_CHECK(cfg.resize > 0 && cfg.crop > 0 && cfg.crop <= cfg.resize, path.string(), ": size ", cfg.resize,
                 " and crop ", cfg.crop, " must be positive with the crop no larger than the resized shortest edge");
  auto triple = [&](const char* key, std::array<float, 3>& out, bool positive) {
    if (!p.contains(key) || p[key].is_null()) return;
    const json& v = p[key];
    bool ok = v.is_array() && v.size() == 3;
    for (size_t i = 0; ok && i < 3; ++i)
      ok = v[i].is_number() && std::isfinite(v[i].get<double>()) && (!positive || v[i].get<double>() > 0);
    BRAINSEM_CHECK(ok, path.string(), ": '", key, "' ", v.dump(), " must be 3 finite numbers",
                   positive ? " above 0" : "", " (one per RGB channel)");
    for (size_t i = 0; i < 3; ++i) out[i] = v[i].get<float>();
  };
  triple("image_mean", cfg.mean, false);
  triple("image_std", cfg.std, true);
}

std::unique_ptr<ImageEncoder> load_hf(const fs::path& dir) {
  const auto [cfg_path, weights] = hf_model_files(dir);
  const json cfg = read_model_json(cfg_path);
  const json& v = cfg.contains("vision_config") ? cfg["vision_config"] : cfg;
  VitConfig c;
  c.image_size = json_or(v, "image_size", 224, cfg_path);
  c.patch_size = json_or(v, "patch_size", 32, cfg_path);
  c.width = json_or(v, "hidden_size", 768, cfg_path);
  c.layers = json_or(v, "num_hidden_layers", 12, cfg_path);
  c.heads = json_or(v, "num_attention_heads", 12, cfg_path);
  c.mlp_width = json_or(v, "intermediate_size", 3072, cfg_path);
  c.eps = json_or(v, "layer_norm_eps", 1e-5, cfg_path);
  // CLIPModel keeps the projection size at the top level (vision_config.projection_dim is unused).
  c.embed_dim = cfg.contains("vision_config") ? json_or(cfg, "projection_dim", 512, cfg_path)
                                              : json_or(v, "projection_dim", 512, cfg_path);
  c.quick_gelu = hf_quick_gelu(v, cfg_path);
  const int channels = json_or(v, "num_channels", 3, cfg_path);
  BRAINSEM_CHECK(channels == 3, cfg_path.string(), ": num_channels ", channels, " (CLIP images have 3)");

  StrictWeights w(weights, [](const std::string& k) {
    return starts_with(k, "text_model.") || k == "text_projection.weight" || k == "logit_scale" ||
           (k.size() >= 12 && k.compare(k.size() - 12, 12, "position_ids") == 0);
  });
  VisionTransformer model(c);
  model.load_hf(w);
  w.finish("use a CLIPModel / CLIPVisionModelWithProjection checkpoint whose config.json matches its weights");

  EncoderInfo info;
  info.format = "hf";
  info.id = hf_model_id(dir);
  info.arch = c.describe();
  info.image_size = c.image_size;
  info.embed_dim = c.embed_dim;
  info.preprocess.pipeline = Pipeline::HF;
  info.preprocess.resize = info.preprocess.crop = c.image_size;
  const fs::path pp = dir / "preprocessor_config.json";
  if (fs::exists(pp)) read_hf_preprocessor(pp, info.preprocess);
  BRAINSEM_CHECK(info.preprocess.crop == c.image_size, pp.string(), ": crop size ", info.preprocess.crop,
                 " differs from the model's image_size ", c.image_size);
  return std::make_unique<ModelEncoder<VisionTransformer>>(std::move(model), info);
}

std::unique_ptr<ImageEncoder> load_openai(const fs::path& weights) {
  const fs::path cfg_path = openai_config_path(weights);
  const json cfg = read_model_json(cfg_path);
  // Which prefix holds the image tower: "visual." (full CLIP state dict) or none (visual only).
  const bool has_visual = has_key_prefix(io::SafetensorsFile(weights), "visual.");
  const std::string prefix = has_visual ? "visual." : "";
  StrictWeights strict(weights, [has_visual](const std::string& k) { return has_visual && is_text_key_openai(k); });

  int embed_dim = json_or(cfg, "embed_dim", 512, cfg_path);
  int image_size = 224, width = 768, patch = 0;
  json layers;
  bool quick_gelu = true;  // openai/CLIP always uses QuickGELU
  double head_width = 64;
  if (cfg.contains("vision_cfg")) {  // open_clip model config
    const json& v = cfg["vision_cfg"];
    image_size = json_or(v, "image_size", 224, cfg_path);
    width = json_or(v, "width", 768, cfg_path);
    patch = json_or(v, "patch_size", 0, cfg_path);
    layers = v.at("layers");
    head_width = json_or(v, "head_width", 64.0, cfg_path);
    quick_gelu = json_or(cfg, "quick_gelu", false, cfg_path);
  } else {  // openai/CLIP constructor arguments
    image_size = json_or(cfg, "image_resolution", 224, cfg_path);
    width = json_or(cfg, "vision_width", 768, cfg_path);
    patch = json_or(cfg, "vision_patch_size", 0, cfg_path);
    BRAINSEM_CHECK(cfg.contains("vision_layers"), cfg_path.string(), ": no 'vision_layers'");
    layers = cfg["vision_layers"];
    quick_gelu = json_or(cfg, "quick_gelu", true, cfg_path);
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
    BRAINSEM_CHECK(layers.size() == 4, cfg_path.string(), ": a ModifiedResNet needs 4 stage depths, got ",
                   layers.dump());
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
  if (cfg.contains("vision_cfg"))
    c.mlp_width = static_cast<int>(width * json_or(cfg["vision_cfg"], "mlp_ratio", 4.0, cfg_path));
  c.embed_dim = embed_dim;
  c.quick_gelu = quick_gelu;
  VisionTransformer model(c);
  model.load_openai(strict, prefix);
  strict.finish(hint);
  info.arch = c.describe();
  return std::make_unique<ModelEncoder<VisionTransformer>>(std::move(model), info);
}

template <typename Model, typename Config>
std::unique_ptr<ImageEncoder> random_encoder(const Config& cfg, uint64_t seed) {
  Model m(cfg);
  m.init_random(seed);
  EncoderInfo info;
  info.format = "random";
  info.id = "random:" + cfg.describe();
  info.arch = cfg.describe();
  info.image_size = cfg.image_size;
  info.embed_dim = cfg.embed_dim;
  info.preprocess.resize = info.preprocess.crop = cfg.image_size;
  return std::make_unique<ModelEncoder<Model>>(std::move(m), info);
}

}  // namespace

std::unique_ptr<ImageEncoder> load_image_encoder(const fs::path& path) {
  BRAINSEM_CHECK(fs::exists(path), path.string(),
                 ": model not found; give a Hugging Face directory, "
                 "an OpenAI/open_clip .safetensors with its .json, or a TorchScript .pt");
  if (fs::is_directory(path)) return load_hf(path);
  const std::string ext = path.extension().string();
  if (ext == ".safetensors") {
    // A HF model.safetensors given directly: its config.json is beside it.
    if (has_key_prefix(io::SafetensorsFile(path), "vision_model.")) return load_hf(hf_model_dir(path));
    return load_openai(path);
  }
  if (ext == ".pt" || ext == ".pth" || ext == ".jit") return load_torchscript_encoder(path);
  fail(path.string(), ": unknown model format '", ext,
       "'; expected a directory (Hugging Face), .safetensors (+ .json) or a TorchScript .pt");
}

std::unique_ptr<ImageEncoder> random_vit_encoder(const VitConfig& cfg, uint64_t seed) {
  return random_encoder<VisionTransformer>(cfg, seed);
}

std::unique_ptr<ImageEncoder> random_resnet_encoder(const ResNetConfig& cfg, uint64_t seed) {
  return random_encoder<ModifiedResNet>(cfg, seed);
}

}  // namespace brainsem::clip
