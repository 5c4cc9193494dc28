#include "brainsem/core/device.h"

#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include <regex>

#include "brainsem/core/error.h"

namespace brainsem::core {

namespace {
// LibTorch 2.4 replaced the per-device autocast setters with ones taking the device type.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
bool autocast_enabled(bool cuda) { return at::autocast::is_autocast_enabled(cuda ? at::kCUDA : at::kCPU); }
void set_autocast(bool cuda, bool on) { at::autocast::set_autocast_enabled(cuda ? at::kCUDA : at::kCPU, on); }
torch::ScalarType autocast_dtype(bool cuda) { return at::autocast::get_autocast_dtype(cuda ? at::kCUDA : at::kCPU); }
void set_autocast_dtype(bool cuda, torch::ScalarType t) {
  at::autocast::set_autocast_dtype(cuda ? at::kCUDA : at::kCPU, t);
}
#else
bool autocast_enabled(bool cuda) { return cuda ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled(); }
void set_autocast(bool cuda, bool on) { cuda ? at::autocast::set_enabled(on) : at::autocast::set_cpu_enabled(on); }
torch::ScalarType autocast_dtype(bool cuda) {
  return cuda ? at::autocast::get_autocast_gpu_dtype() : at::autocast::get_autocast_cpu_dtype();
}
void set_autocast_dtype(bool cuda, torch::ScalarType t) {
  cuda ? at::autocast::set_autocast_gpu_dtype(t) : at::autocast::set_autocast_cpu_dtype(t);
}
#endif

ComputeTarget& current() {
  static ComputeTarget target;
  return target;
}
}  // namespace

std::string ComputeTarget::describe() const {
  const char* name = dtype == torch::kBFloat16 ? "bf16" : dtype == torch::kHalf ? "fp16" : "fp32";
  return device.str() + " " + name;
}

ComputeTarget parse_compute_target(const std::string& device, const std::string& dtype, bool allow_fp16) {
  ComputeTarget t;
  static const std::regex cuda_form(R"(cuda(:([0-9]{1,3}))?)");
  std::smatch m;
  if (device == "cpu") {
    t.device = torch::kCPU;
  } else if (std::regex_match(device, m, cuda_form)) {
    BRAINSEM_CHECK(torch::cuda::is_available(), "--device ", device,
                   ": CUDA is not available (this LibTorch was built without CUDA, or no GPU is visible); use "
                   "--device cpu, or build against a CUDA LibTorch (docs/performance.md)");
    const int index = m[2].matched ? std::stoi(m[2].str()) : 0;
    const auto count = static_cast<int>(torch::cuda::device_count());
    BRAINSEM_CHECK(index < count, "--device ", device, ": this machine has ", count, " CUDA device",
                   count == 1 ? "" : "s", " (cuda:0", count > 1 ? " to cuda:" + std::to_string(count - 1) : "", ")");
    t.device = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
  } else {
    fail("--device '", device, "' is not a device; use cpu, cuda or cuda:N");
  }
  if (dtype == "fp32") {
    t.dtype = torch::kFloat32;
  } else if (dtype == "bf16") {
    t.dtype = torch::kBFloat16;
  } else if (dtype == "fp16" && allow_fp16) {
    BRAINSEM_CHECK(t.device.is_cuda(), "--dtype fp16 needs --device cuda; use bf16 on the CPU");
    t.dtype = torch::kHalf;
  } else {
    fail("--dtype '", dtype, "' is not supported here; use fp32 or bf16", allow_fp16 ? " (or fp16 on CUDA)" : "");
  }
  return t;
}

void set_compute_target(const ComputeTarget& target) {
  current() = target;
  if (target.device.is_cuda()) {
    at::globalContext().setAllowTF32CuBLAS(true);
    at::globalContext().setAllowTF32CuDNN(true);
  }
}

const ComputeTarget& compute_target() { return current(); }

AutocastScope::AutocastScope(const ComputeTarget& target) {
  if (!target.autocast()) return;
  active_ = true;
  cuda_ = target.device.is_cuda();
  previous_enabled_ = autocast_enabled(cuda_);
  previous_dtype_ = autocast_dtype(cuda_);
  set_autocast_dtype(cuda_, target.dtype);
  set_autocast(cuda_, true);
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
  // Leaving the outermost scope frees the cached low-precision copies of the weights.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  set_autocast(cuda_, previous_enabled_);
  set_autocast_dtype(cuda_, previous_dtype_);
}

}  // namespace brainsem::core
