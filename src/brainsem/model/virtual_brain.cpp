#include "brainsem/model/virtual_brain.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "brainsem/core/error.h"

namespace brainsem::model {

VirtualMode parse_virtual_mode(const std::string& name) {
  if (name == "paper") return VirtualMode::paper;
  if (name == "literal") return VirtualMode::literal;
  if (name == "released") return VirtualMode::released;
  fail("virtual mode '", name, "' is unknown; use paper, literal or released");
}

void to_json(nlohmann::json& j, VirtualMode mode) { j = to_string(mode); }
void from_json(const nlohmann::json& j, VirtualMode& mode) { mode = parse_virtual_mode(j.get<std::string>()); }

std::string to_string(VirtualMode mode) {
  switch (mode) {
    case VirtualMode::paper:
      return "paper";
    case VirtualMode::literal:
      return "literal";
    case VirtualMode::released:
      return "released";
  }
  return "?";
}

std::vector<float> virtual_weights(int64_t k, VirtualMode mode, std::mt19937_64& rng) {
  BRAINSEM_CHECK(k >= 1, "virtual brain activity needs at least one sample per class");
  std::uniform_real_distribution<double> alpha_dist(-1.0, 1.0);
  std::vector<double> e(k), keep(k, 1.0);
  for (auto& v : e) v = std::exp(alpha_dist(rng));
  if (mode == VirtualMode::released) {
    // A random subset of size U{1..K-1} (all K when K == 1), as dataset_augment.py does.
    std::vector<int64_t> order(k);
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), rng);
    int64_t size = k == 1 ? 1 : std::uniform_int_distribution<int64_t>(1, k - 1)(rng);
    std::fill(keep.begin(), keep.end(), 0.0);
    for (int64_t i = 0; i < size; ++i) keep[order[i]] = 1.0;
  } else {
    std::bernoulli_distribution coin(0.5);
    for (int64_t i = 1; i < k; ++i) keep[i] = coin(rng) ? 1.0 : 0.0;  // x_1 always takes part
  }
  double all = std::accumulate(e.begin(), e.end(), 0.0);
  double kept = 0;
  for (int64_t i = 0; i < k; ++i) kept += e[i] * keep[i];
  double denom = mode == VirtualMode::literal ? all : kept;
  std::vector<float> w(k);
  for (int64_t i = 0; i < k; ++i) w[i] = static_cast<float>(e[i] * keep[i] / denom);
  return w;
}

torch::Tensor virtual_batch(const torch::Tensor& samples, const std::vector<std::vector<int64_t>>& rows_of_class,
                            const std::vector<int64_t>& batch_classes, VirtualMode mode, std::mt19937_64& rng) {
  const int64_t b = static_cast<int64_t>(batch_classes.size());
  const int64_t kmax = std::max_element(rows_of_class.begin(), rows_of_class.end(), [](const auto& a, const auto& c) {
                         return a.size() < c.size();
                       })->size();
  // Gather [B, Kmax, R, P] with zero weights on padding, then one batched weighted sum.
  auto index = torch::zeros({b, kmax}, torch::kInt64);
  auto weights = torch::zeros({b, kmax}, torch::kFloat32);
  auto idx = index.accessor<int64_t, 2>();
  auto wts = weights.accessor<float, 2>();
  for (int64_t i = 0; i < b; ++i) {
    const auto& rows = rows_of_class.at(batch_classes[i]);
    std::vector<int64_t> order(rows);
    std::shuffle(order.begin(), order.end(), rng);  // which sample is "x_1" is random
    auto w = virtual_weights(static_cast<int64_t>(order.size()), mode, rng);
    for (size_t j = 0; j < order.size(); ++j) {
      idx[i][j] = order[j];
      wts[i][j] = w[j];
    }
  }
  // Drawn on the host, applied where the samples live.
  auto gathered =
      samples.index_select(0, index.flatten().to(samples.device())).view({b, kmax, samples.size(1), samples.size(2)});
  return (gathered * weights.to(samples.device(), samples.dtype()).view({b, kmax, 1, 1})).sum(1);
}

}  // namespace brainsem::model
