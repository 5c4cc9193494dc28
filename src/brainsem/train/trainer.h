#pragma once
// The BrainSem training loop: each step draws `batch` items, pairs a (virtual) fMRI
// sample of a class with an image feature of the same class, and takes an Adam step on the fuzzy
// matching loss. Every random choice of step s comes from a generator seeded by (seed, s), so a
// run resumed from a checkpoint at step s continues exactly as if it had never stopped.
//
// The model, the optimiser state, the training samples, their stimulus features and the library
// live on the compute target's device (core/device.h; on the CPU the library stays the store's
// memory mapping). Batch indices are drawn on the host; a step never waits for the device: the loss
// is read back every log_every steps (and by step_once).
#include <torch/torch.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "brainsem/core/device.h"
#include "brainsem/core/process_group.h"
#include "brainsem/model/fmri_encoder.h"
#include "brainsem/train/train_config.h"
#include "brainsem/train/training_data.h"

namespace brainsem::train {

class Trainer {
 public:
  Trainer(const TrainConfig& cfg, const TrainingData& data, const core::ComputeTarget& target = core::compute_target());

  // Trains until cfg.steps. With a run directory: appends to train_log.jsonl, writes
  // checkpoint.safetensors every cfg.checkpoint_every steps and at the end (atomically).
  void run(const std::filesystem::path& run_dir = {});
  // Runs exactly one step and returns its loss (exposed for tests and benchmarks).
  double step_once();
  // Data-parallel training over `group` (torch.distributed): every rank draws the same global batch,
  // encodes its own slice of it, gathers the others' embeddings for the loss, and the gradients are
  // summed over ranks, so a step is the single-process step up to float rounding. cfg.batch must be a
  // multiple of the group's size. Only the caller decides which rank writes (run(dir) on rank 0).
  void distribute(core::ProcessGroup* group);

  // Writes train/checkpoint.h's format (safetensors; reading it never runs code).
  void save_checkpoint(const std::filesystem::path& path);
  // Restores model, optimizer, step and best-so-far; refuses a checkpoint of another config and
  // non-finite values. A legacy TorchScript checkpoint (.pt) is read only with `trust_legacy`.
  void load_checkpoint(const std::filesystem::path& path, bool trust_legacy = false);
  // The step a checkpoint was written at.
  static int64_t checkpoint_step(const std::filesystem::path& path);

  // Brain embeddings of x [M, R, P] (any device) -> [M, E] float32 on the CPU, with the selected
  // weights (eval mode, no grad).
  torch::Tensor embed(const torch::Tensor& x);
  model::FmriEncoder& encoder() { return encoder_; }
  int64_t step() const { return step_; }
  int64_t best_step() const { return best_step_; }
  double best_val() const { return best_val_; }
  const std::vector<double>& losses() const { return losses_; }
  const std::vector<int64_t>& val_classes() const { return val_classes_; }
  // The ridge alpha of an init-ridge run (0 without init ridge, or before it was fitted).
  double ridge_alpha() const { return ridge_alpha_; }
  // As run: steps resolved from epochs, encoder sizes set from the data.
  const TrainConfig& config() const { return cfg_; }
  // Items one epoch passes over: library rows (V on) or real samples (V off) of the trained classes.
  int64_t pool_size() const { return static_cast<int64_t>(pool_.size()); }

 private:
  // One step; its loss stays on the device (no host synchronisation).
  torch::Tensor step_on_device();
  // Sums the gradients over the group's ranks (distribute()).
  void all_reduce_gradients();
  // Reads the losses of the steps since the last read, checks them finite, appends them to losses_.
  void read_pending_losses();
  double validate_heldout();
  // cfg.init == "ridge": the linear encoder becomes the ridge map of the trained classes.
  void initialise_from_ridge();
  // Fits the ridge start once, before the weights are first used, unless a checkpoint replaced the
  // initial weights (reopening a run never refits it).
  void start_from_ridge_if_needed();
  void load_legacy_checkpoint(const std::filesystem::path& path);
  // Refuses a checkpoint whose stored config differs from this run's in anything but its length.
  void check_same_config(const std::filesystem::path& path, const nlohmann::json& stored) const;
  void check_loaded_state_is_finite(const std::filesystem::path& path) const;
  void keep_best_if_improved(double score);

  TrainConfig cfg_;
  const TrainingData& data_;
  core::ComputeTarget target_;
  // data_'s tensors on the target's device (the same tensors on the CPU): x [N, R, P],
  // sample_feature [N, E], library [S, E].
  torch::Tensor x_, sample_feature_, library_;
  std::vector<torch::Tensor> pending_losses_;  // [1] device tensors of steps not yet read back
  model::FmriEncoder encoder_{nullptr};
  torch::Tensor log_scale_;  // learnable temperature (log of 1/T) when cfg.learn_temperature
  std::unique_ptr<torch::optim::AdamW> optimizer_;
  int64_t step_ = 0;
  std::vector<int64_t> val_classes_;  // held-out training classes (model selection)
  std::vector<int64_t> pool_;         // rows drawn from: library rows or sample rows
  std::vector<double> losses_;
  int64_t best_step_ = -1;
  double best_val_ = -1;
  std::vector<torch::Tensor> best_params_;  // copy of the parameters at best_step_
  double ridge_alpha_ = 0;
  bool initial_weights_set_ = false;     // the ridge start fitted, or weights loaded from a checkpoint
  core::ProcessGroup* group_ = nullptr;  // data-parallel ranks, or none
};

// Embeds x [M, R, P] with an encoder in eval mode, in chunks (no grad), on the encoder's device
// under `target`'s autocast: -> [M, E] float32 on the CPU.
torch::Tensor embed_all(model::FmriEncoder& encoder, const torch::Tensor& x, int64_t chunk = 256,
                        const core::ComputeTarget& target = core::compute_target());

}  // namespace brainsem::train
