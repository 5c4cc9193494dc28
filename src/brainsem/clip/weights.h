#pragma once
// Strict weight loading: every tensor a model needs is taken by name with its expected shape;
// at the end one error lists all missing, mis-shaped and unexpected keys together.
#include <torch/torch.h>

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "brainsem/io/safetensors.h"

namespace brainsem::clip {

class StrictWeights {
 public:
  // `ignored(name)` marks keys that may be present but are not used (e.g. the text tower).
  StrictWeights(const std::filesystem::path& path, std::function<bool(const std::string&)> ignored);

  // The tensor `name` as float32 (an owned copy), or an empty tensor recorded as a problem when
  // missing or of another shape. shape = {} accepts any shape.
  torch::Tensor take(const std::string& name, const std::vector<int64_t>& shape);
  bool has(const std::string& name) const { return file_.contains(name); }
  // Shape of a stored tensor (throws naming the file if absent).
  std::vector<int64_t> shape_of(const std::string& name) const { return file_.info(name).shape; }
  const io::SafetensorsFile& file() const { return file_; }

  // Throws one brainsem::Error listing every problem (missing, mis-shaped, unexpected), with
  // `hint` saying how to fix it; does nothing when all is well.
  void finish(const std::string& hint) const;

 private:
  io::SafetensorsFile file_;
  std::function<bool(const std::string&)> ignored_;
  std::map<std::string, bool> taken_;
  std::vector<std::string> missing_, misshaped_;
};

}  // namespace brainsem::clip
