#pragma once
// The training checkpoint, one owner for its file format. A run directory is something
// researchers share, so reading a checkpoint must never run code: it is a safetensors file
// (format "brainsem.checkpoint.v1") of named tensors plus typed metadata, read through the
// validating safetensors reader.
//   model/<name>              F32, every encoder parameter and buffer
//   best/<i>                  F32, the parameters at the best held-out step (model selection)
//   adam/<i>/exp_avg|exp_avg_sq  F32, AdamW moments of optimiser parameter i (when it has state)
//   adam/<i>/step             I64 []
//   log_scale                 F32 [1], the learnable temperature (when on)
//   step, best_step           I64 [];  best_val  F64 []
//   __metadata__: format, config (the resumable training config, JSON)
// Checkpoints of earlier versions (checkpoint.pt, a TorchScript archive) can execute code when
// loaded; they are read only when the user says they trust the file (`eval --trust-checkpoint`),
// which converts them.
#include <torch/torch.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace brainsem::train {

inline constexpr const char* kCheckpointFile = "checkpoint.safetensors";
inline constexpr const char* kLegacyCheckpointFile = "checkpoint.pt";
inline constexpr const char* kCheckpointFormat = "brainsem.checkpoint.v1";

struct CheckpointState {
  nlohmann::json config;  // the resumable training config
  int64_t step = 0, best_step = -1;
  double best_val = -1;
  std::vector<std::pair<std::string, torch::Tensor>> model;  // parameters and buffers by name
  std::vector<torch::Tensor> best;                           // parameters at best_step (may be empty)
  torch::Tensor log_scale;                                   // [1], or undefined
  struct AdamMoments {
    int64_t step = 0;
    torch::Tensor exp_avg, exp_avg_sq;
  };
  std::vector<std::optional<AdamMoments>> adam;  // per optimiser parameter, in order
};

// Writes atomically.
void write_checkpoint(const std::filesystem::path& path, const CheckpointState& state);
// Reads and validates (format, dtypes, names, finite values); tensors are owned copies.
CheckpointState read_checkpoint(const std::filesystem::path& path);
// The step a checkpoint was written at, without reading its tensors.
int64_t read_checkpoint_step(const std::filesystem::path& path);
// True for a TorchScript/pickle zip archive (a legacy checkpoint.pt): reading it may run code.
bool is_legacy_checkpoint(const std::filesystem::path& path);
// The checkpoint of a run directory: DIR/checkpoint.safetensors, or a legacy DIR/checkpoint.pt
// when only that exists (so reading it gives the legacy message), else the safetensors path.
std::filesystem::path checkpoint_in(const std::filesystem::path& dir);
// Whether a run directory holds a checkpoint of either kind.
bool has_checkpoint(const std::filesystem::path& dir);
// The message for a legacy checkpoint met without trust: what it is, why it is not read, how to convert.
[[noreturn]] void refuse_legacy_checkpoint(const std::filesystem::path& path);

}  // namespace brainsem::train
