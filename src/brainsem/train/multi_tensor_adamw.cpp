#include "brainsem/train/multi_tensor_adamw.h"

#include <cmath>
#include <map>

#include "brainsem/core/error.h"

namespace brainsem::train {

namespace {
// The parameters of one group that share a step count, hence one pair of bias corrections.
struct SameStep {
  std::vector<torch::Tensor> params, grads, exp_avgs, exp_avg_sqs;
};
}  // namespace

void multi_tensor_adamw_step(torch::optim::AdamW& opt) {
  torch::NoGradGuard no_grad;
  auto& state = opt.state();
  for (auto& group : opt.param_groups()) {
    const auto& o = static_cast<const torch::optim::AdamWOptions&>(group.options());
    BRAINSEM_CHECK(!o.amsgrad(), "multi_tensor_adamw_step: AMSGrad is not supported");
    std::map<int64_t, SameStep> by_step;
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      BRAINSEM_CHECK(!p.grad().is_sparse(), "multi_tensor_adamw_step: sparse gradients are not supported");
      auto key = adamw_state_key(state, p);
      auto it = state.find(key);
      if (it == state.end()) {  // AdamW's own initialisation
        auto fresh = std::make_unique<torch::optim::AdamWParamState>();
        fresh->step(0);
        fresh->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        fresh->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        it = state.emplace(key, std::move(fresh)).first;
      }
      auto& s = static_cast<torch::optim::AdamWParamState&>(*it->second);
      s.step(s.step() + 1);
      auto& same = by_step[s.step()];
      same.params.push_back(p);
      same.grads.push_back(p.grad());
      same.exp_avgs.push_back(s.exp_avg());
      same.exp_avg_sqs.push_back(s.exp_avg_sq());
    }
    const auto [beta1, beta2] = o.betas();
    for (auto& [step, t] : by_step) {
      // AdamW::step's operations in its order, each over the whole list.
      if (o.weight_decay() != 0) at::_foreach_mul_(t.params, 1 - o.lr() * o.weight_decay());
      const double bias_correction1 = 1 - std::pow(beta1, step);
      const double bias_correction2 = 1 - std::pow(beta2, step);
      at::_foreach_mul_(t.exp_avgs, beta1);
      at::_foreach_add_(t.exp_avgs, t.grads, 1 - beta1);
      at::_foreach_mul_(t.exp_avg_sqs, beta2);
      at::_foreach_addcmul_(t.exp_avg_sqs, t.grads, t.grads, 1 - beta2);
      auto denom = at::_foreach_sqrt(t.exp_avg_sqs);
      at::_foreach_div_(denom, std::sqrt(bias_correction2));
      at::_foreach_add_(denom, o.eps());
      at::_foreach_addcdiv_(t.params, t.exp_avgs, denom, -o.lr() / bias_correction1);
    }
  }
}

}  // namespace brainsem::train
