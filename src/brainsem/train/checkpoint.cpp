#include "brainsem/train/checkpoint.h"

#include <cstring>
#include <fstream>
#include <map>
#include <set>

#include "brainsem/core/error.h"
#include "brainsem/io/safetensors.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace brainsem::train {

namespace {
torch::Tensor scalar_i64(int64_t v) { return torch::tensor(v, torch::kInt64); }

// A tensor of the file as an owned copy, with the dtype and (when given) shape it must have.
torch::Tensor read_tensor(const io::SafetensorsFile& f, const std::string& name, torch::ScalarType type,
                          const std::optional<std::vector<int64_t>>& shape = std::nullopt) {
  const std::string where = f.path().string();
  BRAINSEM_CHECK(f.contains(name), "checkpoint ", where, " has no tensor '", name,
                 "'; the file is incomplete or not a "
                 "BrainSem checkpoint");
  auto t = f.tensor(name);
  BRAINSEM_CHECK(t.scalar_type() == type, "checkpoint ", where, ": tensor '", name, "' is ", f.info(name).dtype,
                 ", expected ", io::safetensors_dtype_name(type));
  if (shape)
    BRAINSEM_CHECK(t.sizes() == torch::IntArrayRef(*shape), "checkpoint ", where, ": tensor '", name, "' has shape ",
                   t.sizes(), ", expected ", torch::IntArrayRef(*shape));
  if (t.is_floating_point())
    BRAINSEM_CHECK(torch::isfinite(t).all().item<bool>(), "checkpoint ", where, ": tensor '", name,
                   "' holds non-finite values (NaN or Inf); the run diverged or the file is corrupt");
  return t.clone();
}
}  // namespace

void write_checkpoint(const fs::path& path, const CheckpointState& s) {
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  for (const auto& [name, t] : s.model) tensors.emplace_back("model/" + name, t.detach());
  for (size_t i = 0; i < s.best.size(); ++i) tensors.emplace_back("best/" + std::to_string(i), s.best[i].detach());
  for (size_t i = 0; i < s.adam.size(); ++i) {
    if (!s.adam[i]) continue;
    const std::string p = "adam/" + std::to_string(i) + "/";
    tensors.emplace_back(p + "exp_avg", s.adam[i]->exp_avg.detach());
    tensors.emplace_back(p + "exp_avg_sq", s.adam[i]->exp_avg_sq.detach());
    tensors.emplace_back(p + "step", scalar_i64(s.adam[i]->step));
  }
  if (s.log_scale.defined()) tensors.emplace_back("log_scale", s.log_scale.detach());
  tensors.emplace_back("step", scalar_i64(s.step));
  tensors.emplace_back("best_step", scalar_i64(s.best_step));
  tensors.emplace_back("best_val", torch::tensor(s.best_val, torch::kFloat64));
  io::write_safetensors(path, tensors,
                        {{"format", kCheckpointFormat},
                         {"config", s.config.dump()},
                         {"adam_parameters", std::to_string(s.adam.size())},
                         {"best_parameters", std::to_string(s.best.size())}});
}

bool is_legacy_checkpoint(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  in.read(magic, 4);
  return in.gcount() == 4 && std::memcmp(magic, "PK\x03\x04", 4) == 0;
}

fs::path checkpoint_in(const fs::path& dir) {
  if (!fs::exists(dir / kCheckpointFile) && fs::exists(dir / kLegacyCheckpointFile)) return dir / kLegacyCheckpointFile;
  return dir / kCheckpointFile;
}

bool has_checkpoint(const fs::path& dir) { return fs::exists(checkpoint_in(dir)); }

void refuse_legacy_checkpoint(const fs::path& path) {
  fail("checkpoint ", path,
       " is a TorchScript archive written by an earlier BrainSem; loading such a file can run code "
       "inside it, so it is not read by default. If you trust where it came from, convert it once with "
       "`brainsem eval --run RUN --trust-checkpoint` (writes ",
       kCheckpointFile, " beside it)");
}

namespace {
io::SafetensorsFile open_checkpoint(const fs::path& path) {
  BRAINSEM_CHECK(fs::exists(path), "checkpoint ", path, " does not exist");
  if (is_legacy_checkpoint(path)) refuse_legacy_checkpoint(path);
  io::SafetensorsFile f(path);
  auto it = f.metadata().find("format");
  BRAINSEM_CHECK(it != f.metadata().end() && it->second == kCheckpointFormat, "checkpoint ", path,
                 " is not a BrainSem checkpoint (metadata format is '", it == f.metadata().end() ? "" : it->second,
                 "', expected ", kCheckpointFormat, ")");
  return f;
}

int64_t count_at(const io::SafetensorsFile& f, const std::string& key) {
  const std::string& v = f.metadata_at(key);
  BRAINSEM_CHECK(!v.empty() && v.size() < 10 && v.find_first_not_of("0123456789") == std::string::npos, "checkpoint ",
                 f.path(), ": metadata '", key, "' = '", v, "' is not a count");
  return std::stoll(v);
}
}  // namespace

int64_t read_checkpoint_step(const fs::path& path) {
  return read_tensor(open_checkpoint(path), "step", torch::kInt64, std::vector<int64_t>{}).item<int64_t>();
}

CheckpointState read_checkpoint(const fs::path& path) {
  const auto f = open_checkpoint(path);
  CheckpointState s;
  try {
    s.config = json::parse(f.metadata_at("config"));
  } catch (const json::exception& e) {
    fail("checkpoint ", path, " holds an unreadable configuration (", e.what(), ")");
  }
  BRAINSEM_CHECK(s.config.is_object(), "checkpoint ", path, ": metadata 'config' is not a JSON object");
  const std::vector<int64_t> scalar;
  s.step = read_tensor(f, "step", torch::kInt64, scalar).item<int64_t>();
  s.best_step = read_tensor(f, "best_step", torch::kInt64, scalar).item<int64_t>();
  s.best_val = read_tensor(f, "best_val", torch::kFloat64, scalar).item<double>();
  BRAINSEM_CHECK(s.step >= 0 && s.best_step >= -1 && s.best_step <= s.step, "checkpoint ", path, ": step ", s.step,
                 " and best step ", s.best_step, " are inconsistent");
  std::set<std::string> known{"step", "best_step", "best_val"};
  for (const auto& name : f.names())
    if (name.rfind("model/", 0) == 0) {
      s.model.emplace_back(name.substr(6), read_tensor(f, name, torch::kFloat32));
      known.insert(name);
    }
  const int64_t best = count_at(f, "best_parameters"), adam = count_at(f, "adam_parameters");
  for (int64_t i = 0; i < best; ++i) {
    const std::string name = "best/" + std::to_string(i);
    s.best.push_back(read_tensor(f, name, torch::kFloat32));
    known.insert(name);
  }
  for (int64_t i = 0; i < adam; ++i) {
    const std::string p = "adam/" + std::to_string(i) + "/";
    if (!f.contains(p + "step")) {
      s.adam.emplace_back(std::nullopt);
      continue;
    }
    CheckpointState::AdamMoments m;
    m.step = read_tensor(f, p + "step", torch::kInt64, scalar).item<int64_t>();
    m.exp_avg = read_tensor(f, p + "exp_avg", torch::kFloat32);
    m.exp_avg_sq = read_tensor(f, p + "exp_avg_sq", torch::kFloat32, m.exp_avg.sizes().vec());
    BRAINSEM_CHECK(m.step >= 0 && m.exp_avg_sq.ge(0).all().item<bool>(), "checkpoint ", path, ": optimiser state of ",
                   "parameter ", i, " is invalid (negative step or second moment)");
    for (const char* k : {"step", "exp_avg", "exp_avg_sq"}) known.insert(p + k);
    s.adam.emplace_back(std::move(m));
  }
  if (f.contains("log_scale")) {
    s.log_scale = read_tensor(f, "log_scale", torch::kFloat32, std::vector<int64_t>{1});
    known.insert("log_scale");
  }
  for (const auto& name : f.names())
    BRAINSEM_CHECK(known.count(name), "checkpoint ", path, ": unexpected tensor '", name, "'");
  return s;
}

}  // namespace brainsem::train
