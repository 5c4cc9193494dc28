#pragma once
// What the CLIP image and text loaders share about model files (docs/clip.md):
//   * Hugging Face: a directory with config.json and model.safetensors; tower keys under
//     "vision_model." / "text_model.".
//   * OpenAI / open_clip: NAME.safetensors with NAME.json beside it (openai/CLIP's CLIP constructor
//     arguments, or open_clip's model config).
// The per-tower name tables live with the towers (vision_tower, text_tower, transformer).
#include <nlohmann/json.hpp>

#include <filesystem>
#include <limits>
#include <string>
#include <type_traits>

#include "brainsem/io/safetensors.h"

namespace brainsem::clip {

// A model's JSON config, with an error naming the file when it is not JSON.
nlohmann::json read_model_json(const std::filesystem::path& path);

[[noreturn]] void wrong_config_value(const std::filesystem::path& file, const char* key, const char* expected,
                                     const nlohmann::json& value);

// j[key] as T, or `fallback` when absent or null. Type-strict: a value of another JSON kind (true
// for an integer, 2.5 for an integer, "4" for a number) or outside T's range is refused naming the
// key and `file`, where nlohmann would convert it silently.
template <typename T>
T json_or(const nlohmann::json& j, const char* key, T fallback, const std::filesystem::path& file) {
  if (!j.is_object() || !j.contains(key) || j[key].is_null()) return fallback;
  const nlohmann::json& v = j[key];
  if constexpr (std::is_same_v<T, bool>) {
    if (!v.is_boolean()) wrong_config_value(file, key, "true or false", v);
  } else if constexpr (std::is_integral_v<T>) {
    if (!v.is_number_integer()) wrong_config_value(file, key, "an integer", v);
    const bool fits = v.is_number_unsigned()
                          ? v.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<T>::max())
                          : v.get<int64_t>() >= static_cast<int64_t>(std::numeric_limits<T>::min()) &&
                                v.get<int64_t>() <= static_cast<int64_t>(std::numeric_limits<T>::max());
    if (!fits) wrong_config_value(file, key, "an integer in range", v);
  } else if constexpr (std::is_floating_point_v<T>) {
    if (!v.is_number()) wrong_config_value(file, key, "a number", v);
  } else {
    if (!v.is_string()) wrong_config_value(file, key, "a string", v);
  }
  return v.get<T>();
}

bool starts_with(const std::string& s, const std::string& prefix);
// Whether any tensor name in `file` starts with `prefix`.
bool has_key_prefix(const io::SafetensorsFile& file, const std::string& prefix);

// A Hugging Face model directory checked for config.json and model.safetensors.
struct HfModelFiles {
  std::filesystem::path config, weights;
};
HfModelFiles hf_model_files(const std::filesystem::path& dir);
// "hf:" + the directory's name (as feature stores record it).
std::string hf_model_id(const std::filesystem::path& dir);
// The directory of a HF model given as its model.safetensors.
std::filesystem::path hf_model_dir(const std::filesystem::path& weights);
// NAME.json beside an OpenAI/open_clip NAME.safetensors, checked to exist.
std::filesystem::path openai_config_path(const std::filesystem::path& weights);
// A HF config's hidden_act as QuickGELU (true) or exact GELU (false); others refused naming `config`.
bool hf_quick_gelu(const nlohmann::json& tower_config, const std::filesystem::path& config);

}  // namespace brainsem::clip
