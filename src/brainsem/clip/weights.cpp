#include "brainsem/clip/weights.h"

#include "brainsem/core/error.h"

namespace brainsem::clip {

namespace {
std::string shape_str(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}
}  // namespace

StrictWeights::StrictWeights(const std::filesystem::path& path, std::function<bool(const std::string&)> ignored)
    : file_(path), ignored_(std::move(ignored)) {}

torch::Tensor StrictWeights::take(const std::string& name, const std::vector<int64_t>& shape) {
  taken_[name] = true;
  if (!file_.contains(name)) {
    missing_.push_back(name + " " + shape_str(shape));
    return {};
  }
  const auto& info = file_.info(name);
  if (!shape.empty() && info.shape != shape) {
    misshaped_.push_back(name + " is " + shape_str(info.shape) + ", expected " + shape_str(shape));
    return {};
  }
  return file_.tensor(name).to(torch::kFloat32).clone();
}

void StrictWeights::finish(const std::string& hint) const {
  std::vector<std::string> unexpected;
  for (const auto& name : file_.names())
    if (!taken_.count(name) && !ignored_(name)) unexpected.push_back(name);
  if (missing_.empty() && misshaped_.empty() && unexpected.empty()) return;
  std::string msg = file_.path().string() + ": the weights do not fit the model (";
  msg += std::to_string(missing_.size()) + " missing, " + std::to_string(misshaped_.size()) + " mis-shaped, " +
         std::to_string(unexpected.size()) + " unexpected)";
  auto list = [&](const char* what, const std::vector<std::string>& v) {
    if (v.empty()) return;
    msg += std::string("\n  ") + what + ":";
    for (const auto& s : v) msg += "\n    " + s;
  };
  list("missing", missing_);
  list("mis-shaped", misshaped_);
  list("unexpected", unexpected);
  msg += "\n  fix: " + hint;
  fail(msg);
}

}  // namespace brainsem::clip
