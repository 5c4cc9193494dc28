#pragma once
// The baselines BrainSem is compared with, in the study's protocol (the same prototypes, scores
// and statistics): ridge regression, nearest class mean and, on synthetic data, the oracle.
#include <torch/torch.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "brainsem/eval/ridge.h"
#include "brainsem/experiment/study.h"

namespace brainsem::experiment {

// Ridge fMRI -> CLIP (eval/ridge.h): z-scored voxels, centred targets, alpha by class-grouped CV
// on training classes; the test prediction is the centred one.
struct RidgePrediction {
  torch::Tensor test_prediction;  // [N_test, E]
  double alpha = 0;
  nlohmann::json details;
  std::string note;
};
RidgePrediction predict_ridge(const LoadedStudy& study, uint64_t seed, const eval::RidgeConfig& cfg = {});
// Nearest class mean: the test sample's most correlated training-class mean fMRI pattern
// stands in for it; its prediction is that class's mean stimulus feature.
torch::Tensor predict_nearest_class_mean(const LoadedStudy& study);
// Ridge, nearest class mean and (when the study has a truth file) the oracle, all scored.
std::vector<MethodScore> run_baselines(const LoadedStudy& study, uint64_t seed, const eval::RidgeConfig& ridge = {});

}  // namespace brainsem::experiment
