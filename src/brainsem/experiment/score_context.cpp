#include "brainsem/experiment/score_context.h"

#include <cstdio>

#include "brainsem/eval/ridge.h"
#include "brainsem/eval/stats.h"
#include "brainsem/eval/zero_shot.h"

using nlohmann::json;

namespace brainsem::experiment {

json PermutationCheck::to_json() const {
  return json{{"method", method},
              {"prototype", prototype},
              {"permutations", permutations},
              {"seed", seed},
              {"top1", top1},
              {"top5", top5},
              {"null_mean_top1", null_mean_top1},
              {"null_mean_top5", null_mean_top5},
              {"p_top1", p_top1},
              {"p_top5", p_top5}};
}

std::vector<PermutationCheck> permutation_checks(const std::string& method, const torch::Tensor& predicted,
                                                 const LoadedStudy& study, int64_t permutations, uint64_t seed) {
  torch::NoGradGuard no_grad;
  std::vector<PermutationCheck> out;
  auto labels = torch::tensor(study.test_truth, torch::kInt64);
  for (const auto& p : test_prototypes(study)) {
    auto sim = eval::zero_shot(predicted, p.features, study.test_truth).similarity;  // [N_test, C_test]
    PermutationCheck c;
    c.method = method;
    c.prototype = p.kind;
    c.permutations = permutations;
    c.seed = seed;
    auto mean = [](const std::vector<double>& v) {
      double s = 0;
      for (double x : v) s += x;
      return v.empty() ? 0.0 : s / static_cast<double>(v.size());
    };
    // Both k use the same seed, hence the same shuffles.
    auto one = eval::topk_permutation_null(sim, labels, 1, permutations, seed);
    auto five = eval::topk_permutation_null(sim, labels, std::min<int64_t>(5, sim.size(1)), permutations, seed);
    c.top1 = one.observed;
    c.top5 = five.observed;
    c.null_mean_top1 = mean(one.null);
    c.null_mean_top5 = mean(five.null);
    c.p_top1 = one.p_value;
    c.p_top5 = five.p_value;
    out.push_back(c);
  }
  return out;
}

std::optional<eval::IdentificationCeiling> test_identification_ceiling(const LoadedStudy& study, int64_t splits,
                                                                       uint64_t seed) {
  const auto& s = study.subject;
  if (!s.has_test_trials()) return std::nullopt;
  auto trials = eval::flatten_rois(s.test_trials_x, s.roi_sizes);  // [N_test_trials, V]
  return eval::split_half_identification(trials, s.test_trial_image, splits, seed);
}

json ScoreContext::to_json() const {
  json perm = json::array();
  for (const auto& p : permutation) perm.push_back(p.to_json());
  json j{{"permutation_null", perm}, {"test_classes", test_classes}};
  j["noise_ceiling"] = ceiling ? ceiling->to_json() : json(nullptr);
  if (!ceiling_missing.empty()) j["noise_ceiling_missing"] = ceiling_missing;
  return j;
}

std::string ScoreContext::text() const {
  std::string out;
  char line[320];
  for (const auto& p : permutation) {
    std::snprintf(line, sizeof line,
                  "%s (%s): label-permutation null (%lld shuffles): top-1 p = %.2g (null mean %.1f %%), "
                  "top-5 p = %.2g (null mean %.1f %%)\n",
                  p.method.c_str(), p.prototype.c_str(), static_cast<long long>(p.permutations), p.p_top1,
                  100 * p.null_mean_top1, p.p_top5, 100 * p.null_mean_top5);
    out += line;
  }
  if (ceiling) {
    const auto& c = *ceiling;
    const std::string repeats = c.min_repeats == c.max_repeats
                                    ? std::to_string(c.min_repeats)
                                    : std::to_string(c.min_repeats) + "-" + std::to_string(c.max_repeats);
    std::snprintf(line, sizeof line,
                  "noise ceiling (split-half, brain side: half the repeats of each test image identify it among the "
                  "%lld images from the other half; %lld splits, %s repeats): top-1 %.1f %% (sd %.1f), "
                  "top-5 %.1f %% (chance %.1f / %.1f %%); voxel reliability %.3f\n",
                  static_cast<long long>(c.images), static_cast<long long>(c.splits), repeats.c_str(), 100 * c.top1,
                  100 * c.top1_sd, 100 * c.top5, 100 * c.chance_top1, 100 * c.chance_top5, c.voxel_reliability);
    out += line;
  } else if (!ceiling_missing.empty()) {
    out += "noise ceiling: not available (" + ceiling_missing + ")\n";
  }
  return out;
}

ScoreContext score_context(const std::string& method, const torch::Tensor& predicted, const LoadedStudy& study,
                           uint64_t seed) {
  ScoreContext c;
  c.test_classes = static_cast<int64_t>(study.test_classes.size());
  c.permutation = permutation_checks(method, predicted, study, 10000, seed);
  c.ceiling = test_identification_ceiling(study, 100, seed);
  if (!c.ceiling)
    c.ceiling_missing =
        "the subject file holds averaged test samples only; the trial-level test rows of a BData file are needed";
  return c;
}

}  // namespace brainsem::experiment
