#include "brainsem/eval/protocols.h"

#include <cmath>
#include <cstdio>
#include <random>

#include "brainsem/core/error.h"
#include "brainsem/eval/ranks.h"

namespace brainsem::eval {
namespace {

// Cosine similarities [N, M] in the order eval/ranks.h compares them (non-finite = -Inf, float64).
torch::Tensor cosine(const torch::Tensor& a, const torch::Tensor& b) {
  auto na =
      torch::nn::functional::normalize(a.to(torch::kFloat64), torch::nn::functional::NormalizeFuncOptions().dim(1));
  auto nb =
      torch::nn::functional::normalize(b.to(torch::kFloat64), torch::nn::functional::NormalizeFuncOptions().dim(1));
  return rankable_similarity(na.matmul(nb.t()));
}

// A uniform index in [0, n) from the generator, by rejection, so draws are the same on every
// standard library (std::uniform_int_distribution's algorithm is not specified).
int64_t uniform_index(std::mt19937_64& rng, int64_t n) {
  const uint64_t un = static_cast<uint64_t>(n);
  const uint64_t limit = UINT64_MAX - UINT64_MAX % un;
  uint64_t x;
  do x = rng();
  while (x >= limit);
  return static_cast<int64_t>(x % un);
}

// The first `k` entries of `v` become a uniform random k-subset (partial Fisher-Yates).
void draw_prefix(std::vector<int64_t>& v, int64_t k, std::mt19937_64& rng) {
  const int64_t n = static_cast<int64_t>(v.size());
  for (int64_t i = 0; i < k; ++i) std::swap(v[i], v[i + uniform_index(rng, n - i)]);
}

// One-sided p of mean(per_item) > chance, by the program's paired sign-flip test.
double p_above_chance(const torch::Tensor& per_item, double chance, uint64_t seed) {
  auto test = paired_sign_flip(per_item, torch::full_like(per_item, chance), 10000, seed);
  return test.statistic > 0 ? test.p_value / 2 : 1 - test.p_value / 2;
}

void check_inputs(const torch::Tensor& predicted, const torch::Tensor& candidates, const std::vector<int64_t>& truth,
                  const char* what) {
  BRAINSEM_CHECK(predicted.dim() == 2 && candidates.dim() == 2 && predicted.size(1) == candidates.size(1), what,
                 ": predictions ", predicted.sizes(), " and candidates ", candidates.sizes(),
                 " must be [N, E] and [C, E]");
  BRAINSEM_CHECK(static_cast<int64_t>(truth.size()) == predicted.size(0), what, ": ", truth.size(), " labels for ",
                 predicted.size(0), " predictions");
  for (int64_t t : truth)
    BRAINSEM_CHECK(t >= 0 && t < candidates.size(0), what, ": label ", t, " outside [0, ", candidates.size(0), ")");
}

}  // namespace

nlohmann::json ProtocolScore::to_json() const {
  nlohmann::json j{
      {"protocol", protocol},      {"metric", metric}, {"value", value},  {"ci95", {interval.lo, interval.hi}},
      {"interval", interval_kind}, {"chance", chance}, {"trials", trials}};
  if (p_value >= 0) j["p_value"] = p_value;
  return j;
}

std::vector<ProtocolScore> nway_classification(const torch::Tensor& predicted, const torch::Tensor& prototypes,
                                               const std::vector<int64_t>& truth, const std::vector<int64_t>& ks,
                                               int64_t repeats, uint64_t seed) {
  check_inputs(predicted, prototypes, truth, "n-way classification");
  BRAINSEM_CHECK(repeats >= 1, "n-way classification: repeats must be >= 1");
  const int64_t n = predicted.size(0), c = prototypes.size(0);
  auto sim = cosine(predicted, prototypes);  // [N, C]
  auto s = sim.accessor<double, 2>();
  std::vector<ProtocolScore> out;
  for (int64_t k : ks) {
    BRAINSEM_CHECK(k >= 2 && k <= c, "n-way classification: k = ", k, " needs 2 <= k <= ", c,
                   " (the number of candidate classes)");
    std::mt19937_64 rng(seed + static_cast<uint64_t>(k));
    auto top1 = torch::zeros({n}, torch::kFloat64), top5 = torch::zeros({n}, torch::kFloat64);
    std::vector<int64_t> others;
    for (int64_t i = 0; i < n; ++i) {
      others.clear();
      for (int64_t j = 0; j < c; ++j)
        if (j != truth[i]) others.push_back(j);
      int64_t hits1 = 0, hits5 = 0;
      for (int64_t r = 0; r < repeats; ++r) {
        draw_prefix(others, k - 1, rng);
        int64_t above = 0;  // distractors at least as similar as the truth
        for (int64_t d = 0; d < k - 1; ++d) above += s[i][others[d]] >= s[i][truth[i]];
        hits1 += above == 0;
        hits5 += above < 5;
      }
      top1[i] = static_cast<double>(hits1) / static_cast<double>(repeats);
      top5[i] = static_cast<double>(hits5) / static_cast<double>(repeats);
    }
    auto score = [&](const torch::Tensor& per_item, const std::string& metric, double chance) {
      ProtocolScore p;
      p.protocol = "nway";
      p.metric = metric;
      p.interval = bootstrap_mean_ci(per_item, 10000, 0.95, seed);
      p.value = p.interval.estimate;
      p.interval_kind = "bootstrap over test items";
      p.chance = chance;
      p.p_value = p_above_chance(per_item, chance, seed);
      p.trials = n * repeats;
      return p;
    };
    out.push_back(score(top1, std::to_string(k) + "-way top-1", 1.0 / static_cast<double>(k)));
    if (k > 5) out.push_back(score(top5, std::to_string(k) + "-way top-5", 5.0 / static_cast<double>(k)));
  }
  return out;
}

std::vector<ProtocolScore> subset_retrieval(const torch::Tensor& predicted, const torch::Tensor& images, int64_t subset,
                                            int64_t loops, uint64_t seed) {
  BRAINSEM_CHECK(predicted.dim() == 2 && images.sizes() == predicted.sizes(), "retrieval: predictions ",
                 predicted.sizes(), " and images ", images.sizes(),
                 " must both be [N, E], row i of each from test item i");
  BRAINSEM_CHECK(subset >= 2 && loops >= 2, "retrieval: subset and loops must be >= 2");
  const int64_t n = predicted.size(0), m = std::min(subset, n);
  BRAINSEM_CHECK(m >= 2, "retrieval needs at least 2 test items, got ", n);
  auto sim = cosine(predicted, images);  // [N, N]: prediction a vs image b
  std::mt19937_64 rng(seed);
  std::vector<int64_t> order(n);
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  auto fwd = torch::zeros({loops}, torch::kFloat64), bwd = torch::zeros({loops}, torch::kFloat64);
  for (int64_t l = 0; l < loops; ++l) {
    draw_prefix(order, m, rng);
    auto idx = torch::tensor(std::vector<int64_t>(order.begin(), order.begin() + m));
    auto s = sim.index_select(0, idx).index_select(1, idx);  // [m, m], diagonal = own pairs
    auto diag = s.diagonal();
    // Correct when no other entry of the row (column) is >= the own pair's similarity.
    auto row_beaten = (s >= diag.unsqueeze(1)).sum(1) - 1;
    auto col_beaten = (s >= diag.unsqueeze(0)).sum(0) - 1;
    fwd[l] = (row_beaten == 0).to(torch::kFloat64).mean();
    bwd[l] = (col_beaten == 0).to(torch::kFloat64).mean();
  }
  auto score = [&](const torch::Tensor& per_loop, const std::string& metric) {
    auto ms = mean_sd(per_loop);
    ProtocolScore p;
    p.protocol = "retrieval";
    p.metric = metric;
    p.value = ms.mean;
    const double half = 1.96 * ms.sd / std::sqrt(static_cast<double>(loops));
    p.interval = {ms.mean, ms.mean - half, ms.mean + half, 0.95};
    p.interval_kind = "normal over " + std::to_string(loops) + " subsets of " + std::to_string(m) + " (MindEye)";
    p.chance = 1.0 / static_cast<double>(m);
    p.trials = loops;
    return p;
  };
  return {score(fwd, std::to_string(m) + "-way forward top-1"), score(bwd, std::to_string(m) + "-way backward top-1")};
}

torch::Tensor pairwise_identification_rates(const torch::Tensor& predicted, const torch::Tensor& candidates,
                                            const std::vector<int64_t>& truth) {
  check_inputs(predicted, candidates, truth, "pairwise identification");
  const int64_t c = candidates.size(0);
  BRAINSEM_CHECK(c >= 2, "pairwise identification needs at least 2 candidates");
  // Pearson correlation = cosine of the vectors centred over their own entries.
  auto centre = [](const torch::Tensor& x) {
    auto d = x.to(torch::kFloat64);
    return d - d.mean(1, true);
  };
  auto corr = cosine(centre(predicted), centre(candidates));  // [N, C]
  auto t = torch::tensor(truth).unsqueeze(1);
  auto own = corr.gather(1, t);  // [N, 1]
  return (corr < own).sum(1).to(torch::kFloat64) / static_cast<double>(c - 1);
}

ProtocolScore pairwise_identification(const torch::Tensor& predicted, const torch::Tensor& candidates,
                                      const std::vector<int64_t>& truth, uint64_t seed) {
  auto rates = pairwise_identification_rates(predicted, candidates, truth);  // [N]
  ProtocolScore p;
  p.protocol = "pairwise";
  p.metric = "identification rate among " + std::to_string(candidates.size(0)) + " candidates";
  p.interval = bootstrap_mean_ci(rates, 10000, 0.95, seed);
  p.value = p.interval.estimate;
  p.interval_kind = "bootstrap over test items";
  p.chance = 0.5;
  p.p_value = p_above_chance(rates, 0.5, seed);
  p.trials = rates.size(0);
  return p;
}

std::vector<ProtocolScore> svc_classification(const torch::Tensor& predicted, const torch::Tensor& train_x,
                                              const std::vector<int64_t>& train_label, int64_t classes,
                                              const std::vector<int64_t>& truth, const SvcConfig& svc, uint64_t seed) {
  BRAINSEM_CHECK(classes >= 2, "SVC classification needs at least 2 classes");
  BRAINSEM_CHECK(predicted.dim() == 2 && train_x.dim() == 2 && predicted.size(1) == train_x.size(1),
                 "SVC classification: predictions ", predicted.sizes(), " and training features ", train_x.sizes(),
                 " must be [N, E] and [L, E]");
  BRAINSEM_CHECK(static_cast<int64_t>(truth.size()) == predicted.size(0), "SVC classification: ", truth.size(),
                 " labels for ", predicted.size(0), " predictions");
  for (int64_t t : truth)
    BRAINSEM_CHECK(t >= 0 && t < classes, "SVC classification: label ", t, " outside [0, ", classes, ")");
  const auto unit = [](const torch::Tensor& x) {
    return torch::nn::functional::normalize(x.to(torch::kFloat64),
                                            torch::nn::functional::NormalizeFuncOptions().dim(1));
  };
  const auto fit = svc_class_probabilities(unit(train_x), train_label, classes, unit(predicted), svc);
  const auto ranks = true_ranks(rankable_similarity(fit.probabilities), torch::tensor(truth));  // [N], 1 = best
  const int64_t n = predicted.size(0);
  char gamma[48];
  std::snprintf(gamma, sizeof gamma, "gamma %.3g", fit.gamma);
  auto score = [&](int64_t k) {
    const auto per_item = (ranks <= k).to(torch::kFloat64);
    ProtocolScore p;
    p.protocol = "bravl";
    p.metric = std::to_string(classes) + "-way SVC top-" + std::to_string(k) + " (" + gamma + ")";
    p.interval = bootstrap_mean_ci(per_item, 10000, 0.95, seed);
    p.value = p.interval.estimate;
    p.interval_kind = "bootstrap over test items";
    p.chance = std::min(1.0, static_cast<double>(k) / static_cast<double>(classes));
    // Each item is a hit or a miss: the exact binomial test, as the program's own top-k scores.
    const auto hits = static_cast<int64_t>(per_item.sum().item<double>() + 0.5);
    p.p_value = binomial_test(hits, n, p.chance).p_value;
    p.trials = n;
    return p;
  };
  return {score(1), score(5)};
}

}  // namespace brainsem::eval
