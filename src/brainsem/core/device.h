#pragma once
// Where models run: the one parser of --device/--dtype and the process-wide compute target.
//
// The target is process-wide, like LibTorch's thread count: the command line sets it once and every
// model the run builds (trainer, embedding of test fMRI, CLIP towers) reads it. Scoring, ridge
// regression and statistics stay on the CPU in float64, whatever the target.
//
// Numbers: on the CPU in float32 every result is identical to a run without a target (the same ops
// in the same order). On CUDA, float32 matrix products use TF32 (10-bit mantissa inputs, float32
// accumulation; on because the fuzzy loss compares cosines at ~1e-3, not yet measured on a GPU)
// and results are reproducible run to run only up to CUDA's non-deterministic reductions. bf16
// runs the models' matrix products under autocast (weights, optimiser state and the loss stay
// float32).
#include <torch/torch.h>

#include <string>

namespace brainsem::core {

struct ComputeTarget {
  torch::Device device = torch::kCPU;
  torch::ScalarType dtype = torch::kFloat32;  // kFloat32 | kBFloat16 | kHalf (CUDA inference only)

  bool autocast() const { return dtype != torch::kFloat32; }
  std::string describe() const;  // e.g. "cuda:0 bf16"
};

// "cpu", "cuda" (= cuda:0) or "cuda:N"; "fp32", "bf16" or (with allow_fp16, CUDA only) "fp16".
// Refuses what this build or machine cannot run, naming the option and what to use instead.
ComputeTarget parse_compute_target(const std::string& device, const std::string& dtype, bool allow_fp16 = false);

// The process's target (CPU float32 until set). Setting a CUDA target also turns on TF32 for
// float32 matrix products and convolutions.
void set_compute_target(const ComputeTarget& target);
const ComputeTarget& compute_target();

// Within its scope, autocast runs eligible ops (matrix products, convolutions) of `target`'s device
// type in target.dtype; a no-op for float32 targets. Not thread-safe across threads with different
// targets (autocast state is thread-local: each thread opens its own scope).
class AutocastScope {
 public:
  explicit AutocastScope(const ComputeTarget& target);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool active_ = false;
  bool cuda_ = false;
  bool previous_enabled_ = false;
  torch::ScalarType previous_dtype_ = torch::kFloat32;
};

}  // namespace brainsem::core
