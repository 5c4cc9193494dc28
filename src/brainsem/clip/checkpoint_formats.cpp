#include "brainsem/clip/checkpoint_formats.h"

#include "brainsem/core/atomic_file.h"
#include "brainsem/core/error.h"

namespace brainsem::clip {

namespace fs = std::filesystem;
using nlohmann::json;

json read_model_json(const fs::path& path) {
  try {
    return json::parse(core::read_text_file(path));
  } catch (const json::exception& e) {
    fail(path.string(), ": not valid JSON (", e.what(), ")");
  }
}

void wrong_config_value(const fs::path& file, const char* key, const char* expected, const json& value) {
  fail(file.string(), ": '", key, "' must be ", expected, ", got ", value.dump(),
       "; fix the value or use the config file written with these weights");
}

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

bool has_key_prefix(const io::SafetensorsFile& file, const std::string& prefix) {
  for (const auto& name : file.names())
    if (starts_with(name, prefix)) return true;
  return false;
}

HfModelFiles hf_model_files(const fs::path& dir) {
  HfModelFiles f{dir / "config.json", dir / "model.safetensors"};
  BRAINSEM_CHECK(fs::exists(f.config), dir.string(),
                 ": no config.json; a Hugging Face CLIP model directory needs "
                 "config.json and model.safetensors (save_pretrained(..., safe_serialization=True))");
  BRAINSEM_CHECK(fs::exists(f.weights), dir.string(),
                 ": no model.safetensors; convert the checkpoint with "
                 "save_pretrained(..., safe_serialization=True)");
  return f;
}

std::string hf_model_id(const fs::path& dir) {
  const fs::path abs = fs::absolute(dir).lexically_normal();
  const std::string name = abs.filename().string();
  return "hf:" + (name.empty() ? abs.parent_path().filename().string() : name);  // "dir/" ends in an empty name
}

fs::path hf_model_dir(const fs::path& weights) {
  return weights.parent_path().empty() ? fs::path(".") : weights.parent_path();
}

fs::path openai_config_path(const fs::path& weights) {
  fs::path config = weights;
  config.replace_extension(".json");
  BRAINSEM_CHECK(fs::exists(config), weights.string(), ": no architecture file ", config.string(),
                 "; write the model's JSON config (openai/CLIP CLIP(...) arguments or open_clip's model config) "
                 "beside the weights with the same stem");
  return config;
}

bool hf_quick_gelu(const json& tower_config, const fs::path& config) {
  const std::string act = json_or<std::string>(tower_config, "hidden_act", "quick_gelu", config);
  BRAINSEM_CHECK(act == "quick_gelu" || act == "gelu", config.string(), ": hidden_act '", act,
                 "' is not supported (quick_gelu or gelu)");
  return act == "quick_gelu";
}

}  // namespace brainsem::clip
