#pragma once
// AdamW's update in multi-tensor form: torch::optim::AdamW's step, on its own state, as a handful
// of ATen _foreach_ operations over all parameters instead of about eight operations per parameter.
// On CUDA each _foreach_ operation is one fused launch over every tensor (PyTorch's "foreach"
// Adam); on the CPU it runs the same per-tensor kernels as AdamW::step, so the numbers are
// identical, bit for bit (tests/train/multi_tensor_adamw_test.cpp). The state stays AdamW's, so
// checkpoints and AdamW::step itself can take over at any step.
#include <torch/torch.h>

#include <sstream>
#include <string>
#include <type_traits>

namespace brainsem::train {

// The key of parameter `p` in an optimiser's state map: a string of the TensorImpl address in
// LibTorch 1.x, the address itself in later versions. Deduced, so both build.
template <typename StateMap>
typename StateMap::key_type adamw_state_key(const StateMap&, const torch::Tensor& p) {
  using Key = typename StateMap::key_type;
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream os;
    os << p.unsafeGetTensorImpl();
    return os.str();
  } else {
    return static_cast<Key>(p.unsafeGetTensorImpl());
  }
}

// One AdamW step of every parameter of `opt` that has a gradient (AMSGrad is refused).
void multi_tensor_adamw_step(torch::optim::AdamW& opt);

}  // namespace brainsem::train
