#pragma once
// One subject's zero-shot study: load the inputs, produce test-set brain embeddings with
// BrainSem or a baseline, and score them against class prototypes.
//
// Prototypes: "stimulus" = the CLIP feature of each test class's stimulus image(s) (the protocol
// of BraVL, whose numbers the paper's Table 1 copies); "library" = the mean feature of the test
// class's library images (the released code's test loader draws test-class candidate images).
// Both are reported; docs/method.md says why "stimulus" is our reading of the paper.
#include <torch/torch.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "brainsem/data/feature_store.h"
#include "brainsem/data/subject.h"
#include "brainsem/eval/stats.h"
#include "brainsem/eval/zero_shot.h"
#include "brainsem/core/process_group.h"
#include "brainsem/train/train_config.h"
#include "brainsem/train/trainer.h"
#include "brainsem/train/training_data.h"

namespace brainsem::experiment {

struct StudyInputs {
  std::filesystem::path subject;       // Subject*.h5 or exported/imported .safetensors
  std::filesystem::path stimuli;       // feature store with every training and test stimulus
  std::filesystem::path library;       // training-class semantic library (optional)
  std::filesystem::path library_test;  // test-class library, for "library" prototypes (optional)
  std::filesystem::path truth;         // synthetic truth.safetensors, for the oracle (optional)
  // Class-embedding table (data/class_embeddings.h) instead of `stimuli`: every stimulus gets its
  // class's embedding (targets and "stimulus" prototypes), and without `library` the library is
  // one embedding per training class (docs/generic_data.md).
  std::filesystem::path class_embeddings;
  int subject_index = 0;                  // which subject of the truth (0-based)
  std::filesystem::path text_prototypes;  // class-embedding table (embed-text): adds "text" prototypes
  std::vector<std::string> rois;          // ROI tokens to use, in order (empty: all of the subject's)
  nlohmann::json to_json() const;
  static StudyInputs from_json(const nlohmann::json& j);
};

struct LoadedStudy {
  StudyInputs inputs;
  data::SubjectData subject;  // normalised as requested
  data::FeatureStore stimuli;
  std::optional<data::FeatureStore> library, library_test;
  std::vector<std::string> test_classes;  // distinct test classes, prototype order
  std::vector<int64_t> test_truth;        // [N_test] index into test_classes
};

// Loads and cross-checks everything (same encoder everywhere, every stimulus present,
// library free of test classes); the voxels normalised as `normalize` says.
LoadedStudy load_study(const StudyInputs& inputs, data::Normalize normalize);

// The test-class library's images of the test classes (study.library_test, refused when absent):
// features [L, E] and each row's index into test_classes; every test class must have images.
struct LabelledFeatures {
  torch::Tensor features;
  std::vector<int64_t> label;
};
LabelledFeatures test_library(const LoadedStudy& s);

struct PrototypeSet {
  std::string kind;        // "stimulus" | "library" | "text"
  torch::Tensor features;  // [C_test, E]
};
std::vector<PrototypeSet> test_prototypes(const LoadedStudy& study);

struct MethodScore {
  std::string method, prototype;
  int64_t n = 0, classes = 0;
  double top1 = 0, top5 = 0, mean_rank = 0;
  double chance_top1 = 0, chance_top5 = 0;
  double p_top1 = 1, p_top5 = 1;    // exact one-sided binomial against chance
  eval::Interval ci_top1, ci_top5;  // 95% bootstrap over test items
  std::vector<int64_t> ranks;       // [N_test] rank of the true class (eval/ranks.h)
  nlohmann::json details;           // method-specific record (ridge: alpha, grid, CV scores)
  std::string note;                 // one line printed under the scores table (ridge: alpha)
  nlohmann::json to_json() const;
  static MethodScore from_json(const nlohmann::json& j);  // throws nlohmann::json::exception
};

// Scores predicted test embeddings [N_test, E] against every prototype set.
std::vector<MethodScore> score_prediction(const std::string& method, const torch::Tensor& predicted,
                                          const LoadedStudy& study, uint64_t seed = 0);
// Scores an [N_test, C_test] similarity matrix directly (for the oracle, which ranks candidates
// by likelihood rather than by an embedding).
MethodScore score_similarity(const std::string& method, const std::string& prototype, const torch::Tensor& similarity,
                             const std::vector<int64_t>& truth, uint64_t seed = 0);

struct BrainSemRun {
  // How the final model's training length was chosen, and on how many classes it was trained.
  struct Selection {
    int64_t val_classes = 0;        // training classes held out to choose the step (0: none, last step)
    int64_t chosen_steps = -1;      // the step with the best held-out zero-shot top-1 (-1: none)
    bool retrained_on_all = false;  // the final model was retrained from scratch on every class for chosen_steps
    int64_t trained_classes = 0;    // classes the final model was trained on
    int64_t training_classes = 0;   // classes the subject has for training
    nlohmann::json to_json() const;
    std::string summary() const;  // one line for the console ("" without selection)
  };
  std::vector<MethodScore> scores;  // one per prototype set
  torch::Tensor test_embedding;     // [N_test, E]
  int64_t best_step = -1;           // chosen on held-out training classes (-1: last step)
  int64_t steps = 0;                // steps the final model was trained for
  int64_t parameters = 0;
  double seconds = 0;          // training time (selection and retraining together)
  std::vector<double> losses;  // of the final model's training
  train::TrainConfig config;   // as requested, with steps resolved from epochs (run_dir/config.json)
  Selection selection;
};
// Trains BrainSem on the study's training data and scores the test set once, at the end (test
// data never chooses a step). With `run_dir` (experiment/run_dir.h): writes run_dir/config.json (the config as run),
// logs, checkpoints and, with `resume`, continues from run_dir/checkpoint.safetensors.
// cfg.retrain_all with cfg.val_classes > 0 (the default): first a selection run holding out
// cfg.val_classes classes (run_dir/selection/),
// then the final model from scratch on every class for the chosen steps (run_dir/checkpoint.safetensors),
// identical to a plain run with steps = the chosen steps and the same seed.
// With a process group, training is data-parallel over its ranks (Trainer::distribute); every rank
// reads a resumed checkpoint from run_dir, and only rank 0 writes there.
BrainSemRun train_brainsem(const train::TrainConfig& cfg, const LoadedStudy& study,
                           const std::filesystem::path& run_dir = {}, bool resume = false,
                           const std::string& method = "brainsem", uint64_t seed = 0,
                           core::ProcessGroup* group = nullptr);

// A finished run directory of `brainsem train` (config.json, inputs.json, checkpoint.safetensors),
// reopened with its inputs and its trained weights.
struct TrainedRun {
  train::TrainConfig config;
  LoadedStudy study;
  std::unique_ptr<train::TrainingData> data;  // heap: the trainer keeps a reference
  std::unique_ptr<train::Trainer> trainer;
  // Brain embeddings [M, E] of fMRI tokens [M, R, P] with the selected weights.
  torch::Tensor embed(const torch::Tensor& x) { return trainer->embed(x); }
};
// `override_inputs`: non-empty paths replace those recorded in the run (e.g. moved data).

// `trust_legacy_checkpoint`: also read a checkpoint.pt of an earlier version (TorchScript; can
// run code), only when the user has said they trust it.
TrainedRun open_run(const std::filesystem::path& dir, const StudyInputs& override_inputs = {},
                    bool trust_legacy_checkpoint = false);

}  // namespace brainsem::experiment
