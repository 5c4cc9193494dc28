#pragma once
// Torch's global CPU generator, seeded for one piece of work and given back afterwards: module
// constructors and dropout draw from it and take no generator, so the code that needs them seeded
// (initial weights, dropout masks) borrows it instead of resetting it for the whole process.
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/Generator.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include <cstdint>
#include <mutex>

namespace brainsem::core {

class SeededTorchScope {
 public:
  // Seeds the global CPU generator with `seed` until the scope ends, then restores its state.
  explicit SeededTorchScope(uint64_t seed) : generator_(at::detail::getDefaultCPUGenerator()) {
    std::lock_guard<std::mutex> lock(generator_.mutex());
    saved_ = generator_.get_state();
    generator_.set_current_seed(seed);
    // CUDA generators are seeded as torch::manual_seed seeds them, but not restored: their state
    // would have to be saved per device.
    if (torch::cuda::is_available()) torch::cuda::manual_seed_all(seed);
  }
  ~SeededTorchScope() {
    std::lock_guard<std::mutex> lock(generator_.mutex());
    generator_.set_state(saved_);
  }
  SeededTorchScope(const SeededTorchScope&) = delete;
  SeededTorchScope& operator=(const SeededTorchScope&) = delete;

 private:
  at::Generator generator_;
  at::Tensor saved_;  // the generator's serialised state before the scope
};

}  // namespace brainsem::core
