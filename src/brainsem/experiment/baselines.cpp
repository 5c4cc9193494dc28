#include "brainsem/experiment/baselines.h"

#include <map>
#include <string>

#include "brainsem/core/error.h"
#include "brainsem/eval/ranks.h"
#include "brainsem/experiment/oracle.h"
#include "brainsem/train/training_data.h"

using nlohmann::json;

namespace brainsem::experiment {

namespace {
// What both decoders learn from: each training sample's stimulus feature [N, E] and its class as an
// index in order of first appearance.
struct TrainingTargets {
  torch::Tensor features;
  std::vector<int64_t> cls;
  int64_t classes = 0;
};
TrainingTargets training_targets(const LoadedStudy& s, const std::string& kind = "stimulus") {
  TrainingTargets t;
  auto rows = s.stimuli.rows_of_names(s.subject.train_names, "stimulus store");
  t.features = s.stimuli.features.index_select(0, torch::tensor(rows, torch::kInt64)).to(torch::kFloat32);
  std::map<std::string, int64_t> index;
  for (const auto& c : s.subject.train_classes)
    t.cls.push_back(index.emplace(c, static_cast<int64_t>(index.size())).first->second);
  t.classes = static_cast<int64_t>(index.size());
  if (kind == "class-library") {
    BRAINSEM_CHECK(s.library.has_value(),
                   "the ridge's class-library targets need the semantic library; pass "
                   "--library or use --ridge-targets stimulus");
    const auto data = train::make_training_data(s.subject, s.stimuli, &*s.library);  // same rows, same order
    t.features = train::class_library_targets(data);
  } else {
    BRAINSEM_CHECK(kind == "stimulus", "ridge targets must be stimulus or class-library, got '", kind, "'");
  }
  return t;
}
}  // namespace

RidgePrediction predict_ridge(const LoadedStudy& s, uint64_t seed, const eval::RidgeConfig& cfg) {
  auto x = eval::flatten_rois(s.subject.train_x, s.subject.roi_sizes);
  const auto targets = training_targets(s, cfg.targets);
  auto cv = eval::fit_ridge_cv(x, targets.features, targets.cls, cfg, seed);
  RidgePrediction out;
  out.test_prediction = cv.model.predict(eval::flatten_rois(s.subject.test_x, s.subject.roi_sizes));
  out.alpha = cv.model.alpha;
  out.details = json{{"alpha", cv.model.alpha},
                     {"alpha_grid", cv.alphas},
                     {"alpha_cv_scores", cv.scores},
                     {"alpha_at_grid_edge", cv.at_grid_edge},
                     {"cv_folds", cv.folds},
                     {"cv_score", "mean rank accuracy of held-out training classes"},
                     {"normalized_targets", cfg.normalize_targets},
                     {"targets", cfg.targets},
                     {"prediction", "centred (training target mean not added)"}};
  out.note = cv.describe();
  return out;
}

torch::Tensor predict_nearest_class_mean(const LoadedStudy& s) {
  auto x = eval::flatten_rois(s.subject.train_x, s.subject.roi_sizes).to(torch::kFloat64);
  auto mean = x.mean(0), sd = x.std(0).clamp_min(1e-8);
  auto z = (x - mean) / sd;
  const auto targets = training_targets(s);
  const auto& cls = targets.cls;
  const int64_t c = targets.classes;
  auto idx = torch::tensor(cls, torch::kInt64);
  auto counts = torch::zeros({c}, torch::kFloat64).index_add_(0, idx, torch::ones({x.size(0)}, torch::kFloat64));
  auto fmri_means = torch::zeros({c, z.size(1)}, torch::kFloat64).index_add_(0, idx, z) / counts.unsqueeze(1);
  auto feat_means = eval::class_prototypes(targets.features, cls, c);
  auto t = (eval::flatten_rois(s.subject.test_x, s.subject.roi_sizes).to(torch::kFloat64) - mean) / sd;
  // Pearson correlation across voxels = cosine of row-centred patterns.
  auto centre = [](const torch::Tensor& m) {
    auto d = m - m.mean(1, true);
    return d / d.norm(2, 1, true).clamp_min(1e-12);
  };
  auto corr = centre(t).matmul(centre(fmri_means).t());  // [N_test, C]
  return feat_means.index_select(0, corr.argmax(1));
}

std::vector<MethodScore> run_baselines(const LoadedStudy& study, uint64_t seed, const eval::RidgeConfig& ridge_config) {
  std::vector<MethodScore> out;
  auto ridge = predict_ridge(study, seed, ridge_config);
  for (auto& m : score_prediction("ridge", ridge.test_prediction, study, seed)) {
    m.details = ridge.details;
    m.note = ridge.note;
    out.push_back(m);
  }
  for (auto& m : score_prediction("nearest-class-mean", predict_nearest_class_mean(study), study, seed))
    out.push_back(m);
  if (!study.inputs.truth.empty())
    out.push_back(score_similarity("oracle", "stimulus", oracle_similarity(study), study.test_truth, seed));
  return out;
}

}  // namespace brainsem::experiment
