#include "brainsem/train/multi_tensor_adamw.h"

#include <gtest/gtest.h>

#include <functional>

#include "brainsem/core/error.h"

using namespace brainsem;

namespace {

// Parameters of several shapes (a matrix, a vector, a scalar-like [1]) and one that gets no
// gradient for the first steps, so that its step count lags the others'.
struct Params {
  std::vector<torch::Tensor> all;
  explicit Params(uint64_t seed) {
    torch::manual_seed(seed);
    for (auto shape : std::vector<std::vector<int64_t>>{{33, 17}, {17}, {1}, {5, 3}})
      all.push_back(torch::randn(shape).requires_grad_(true));
  }
};

// Loss of step `s`: a different quadratic each step, so the gradients change. The last parameter
// enters it only from step 3 on.
torch::Tensor loss_at(const std::vector<torch::Tensor>& p, int s) {
  torch::manual_seed(100 + s);
  auto loss =
      (p[0] - torch::randn_like(p[0])).pow(2).sum() + (p[1] * torch::randn_like(p[1])).sum().pow(2) + p[2].exp().sum();
  if (s >= 3) loss = loss + (p[3].sin() * torch::randn_like(p[3])).sum();
  return loss;
}

void run_steps(torch::optim::AdamW& opt, const std::vector<torch::Tensor>& p, int steps,
               const std::function<void(torch::optim::AdamW&)>& step) {
  for (int s = 0; s < steps; ++s) {
    opt.zero_grad();
    loss_at(p, s).backward();
    step(opt);
  }
}

void expect_same_run(double weight_decay) {
  Params a(7), b(7);
  auto options = torch::optim::AdamWOptions(3e-2).weight_decay(weight_decay).betas({0.8, 0.95}).eps(1e-6);
  torch::optim::AdamW reference(a.all, options), multi(b.all, options);
  run_steps(reference, a.all, 8, [](torch::optim::AdamW& o) { o.step(); });
  run_steps(multi, b.all, 8, [](torch::optim::AdamW& o) { train::multi_tensor_adamw_step(o); });
  for (size_t i = 0; i < a.all.size(); ++i) {
    EXPECT_TRUE(torch::equal(a.all[i], b.all[i]))
        << "parameter " << i << " differs; max |diff| " << (a.all[i] - b.all[i]).abs().max().item<double>();
    // The state stays AdamW's: the same step counts and moments, under the same keys.
    const auto& ra = static_cast<const torch::optim::AdamWParamState&>(
        *reference.state().at(train::adamw_state_key(reference.state(), a.all[i])));
    const auto& rb = static_cast<const torch::optim::AdamWParamState&>(
        *multi.state().at(train::adamw_state_key(multi.state(), b.all[i])));
    EXPECT_EQ(ra.step(), rb.step()) << "parameter " << i;
    EXPECT_TRUE(torch::equal(ra.exp_avg(), rb.exp_avg())) << "parameter " << i;
    EXPECT_TRUE(torch::equal(ra.exp_avg_sq(), rb.exp_avg_sq())) << "parameter " << i;
  }
  // The lagging parameter really lagged: 5 steps against 8 (two groups of bias corrections).
  const auto& late = static_cast<const torch::optim::AdamWParamState&>(
      *multi.state().at(train::adamw_state_key(multi.state(), b.all[3])));
  EXPECT_EQ(late.step(), 5);
}

}  // namespace

TEST(MultiTensorAdamW, MatchesAdamWsStepBitForBitWithAndWithoutDecay) {
  expect_same_run(0.0);
  expect_same_run(0.1);
}

TEST(MultiTensorAdamW, MovesEveryParameterAgainstItsGradient) {
  // A known answer for the first step: Adam's first update is -lr * sign(g) (up to eps).
  auto p = torch::tensor({1.0f, -2.0f, 3.0f}).requires_grad_(true);
  torch::optim::AdamW opt({p}, torch::optim::AdamWOptions(0.1).weight_decay(0));
  (p * torch::tensor({2.0f, -0.5f, 0.0f})).sum().backward();
  train::multi_tensor_adamw_step(opt);
  EXPECT_NEAR(p[0].item<float>(), 0.9f, 1e-6);
  EXPECT_NEAR(p[1].item<float>(), -1.9f, 1e-6);
  EXPECT_EQ(p[2].item<float>(), 3.0f);  // zero gradient: no move
}

TEST(MultiTensorAdamW, RefusesAmsgrad) {
  auto p = torch::ones({2}).requires_grad_(true);
  torch::optim::AdamW opt({p}, torch::optim::AdamWOptions(0.1).amsgrad(true));
  p.sum().backward();
  EXPECT_THROW(train::multi_tensor_adamw_step(opt), Error);
}
