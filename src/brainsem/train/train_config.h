#pragma once
// Every knob of a BrainSem training run, with defaults in one place, (de)serialised as JSON so a
// run directory records exactly what produced it.
#include <nlohmann/json.hpp>

#include <string>

#include "brainsem/data/subject.h"
#include "brainsem/model/fmri_encoder.h"
#include "brainsem/model/virtual_brain.h"

namespace brainsem::train {

// Every training default lives here (and in model::FmriEncoderConfig): the CLI, `ablate`, `cv`
// and the demo start from TrainConfig{} or paper_config(). The default recipe (a linear encoder
// started at the ridge solution, fine-tuned at lr 1e-4 for the step 30 held-out training classes
// choose, then retrained on every class) was chosen on development data that no table reports and
// confirmed on untouched data (docs/method.md, "Starting from the ridge").
struct TrainConfig {
  model::FmriEncoderConfig encoder;  // default: linear over the 7 zero-padded ROI tokens
  int64_t steps = 300;
  // > 0: the training length in passes over the training pool (library images of the trained
  // classes with V on, real samples with V off); steps = ceil(epochs x pool / batch), resolved from
  // the data when training starts (run_dir/config.json then records both).
  double epochs = 0;
  int64_t batch = 200;
  double lr = 1e-4;
  double weight_decay = 0.0;  // decoupled (AdamW-style) when > 0; the paper: 0
  uint64_t seed = 0;
  bool library = true;        // V: pair virtual samples with semantic-library images
  bool virtual_brain = true;  // B: virtual brain activity (Eq. 1); off = real samples only
  model::VirtualMode virtual_mode = model::VirtualMode::paper;  // paper | literal | released (model/virtual_brain.h)
  double temperature = 0.07;       // the paper: 1 (plain cosine logits); CLIP's initial value 0.07
  bool learn_temperature = false;  // CLIP-style learnable logit scale, initialised at 1/temperature
  bool symmetric = false;
  // > 0: the combined objective, fuzzy loss + regression_weight x the centred cosine regression
  // of each encoded sample onto its paired image (model::centred_cosine_regression_loss); 0 =
  // the paper's loss alone. docs/method.md measures it.
  double regression_weight = 0;
  data::Normalize normalize = data::Normalize::zscore;  // fMRI voxels, with training statistics: none | zscore
  int64_t val_classes = 30;  // training classes held out to choose the step (0 = off: train `steps`)
  // With val_classes: after choosing the step on the held-out classes, train again from scratch on
  // every training class for that many steps (train_brainsem). A Trainer given this flag is that
  // final run: it holds nothing out. With val_classes 0 nothing is held out anyway.
  bool retrain_all = true;
  // Initial weights: "random" (the encoder's own initialisation) or "ridge" (linear encoder only:
  // the ridge solution fitted on the trained classes' real samples, eval/ridge.h, which the fuzzy
  // loss then fine-tunes; with val_classes, step 0 = the ridge itself is a candidate step).
  std::string init = "ridge";
  // What the ridge regresses onto, in the ridge start and in the `--baselines` ridge: "stimulus"
  // (each sample's own image feature) or "class-library" (the mean of its class's L2-normalised
  // semantic-library images, the paper's one-to-many idea applied to the regression; needs the
  // library). docs/method.md measures both.
  std::string ridge_targets = "stimulus";
  int64_t eval_every = 25;       // steps between held-out-class checks
  int64_t checkpoint_every = 0;  // 0 = only at the end
  int64_t log_every = 10;
};

// A paper-like recipe: what the paper states (ViT depth 24, heads 16, embedding width 512, MLP
// 2048, batch 200, Adam 1e-4, zero-padded ROI tokens, CLIP ViT-B/16 targets), with the CLS output
// as the embedding (no head: width 512 = CLIP's 512) and what it leaves open inferred: plain cosine
// logits (temperature 1), raw fMRI (no z-scoring, as the released code), learned position
// embeddings (ViT's), no dropout or weight decay, and 5 epochs over the library (the released
// code; the paper trains "until the model converges"). It starts from random weights and holds no
// class out (it trains every training class for the whole length).
TrainConfig paper_config();

// The default encoder, loss and data settings started from random weights and trained for `steps`
// with nothing held out, at lr 1e-3: the default before the ridge start (the "random start" rows of
// docs/method.md; `--init random --val-classes 0 --lr 1e-3`). Unit tests of the loss and the
// optimiser start from it, where a ridge start would hide what they check.
TrainConfig random_start_config();

// The one field table: to_json / from_json (the fields alone, what two configs are compared by).
// A key missing from a file takes the default above; every run directory this version writes
// records all keys; the CLI's flags bind to the same fields (apps/brainsem/train_options.cpp).
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(TrainConfig, encoder, steps, epochs, batch, lr, weight_decay, seed,
                                                library, virtual_brain, virtual_mode, temperature, learn_temperature,
                                                symmetric, regression_weight, normalize, val_classes, retrain_all, init,
                                                ridge_targets, eval_every, checkpoint_every, log_every)
// The training-config document (a run's config.json, `--config` files): the fields plus format and
// version (core/json_document.h). Version 1: the fields of to_json.
inline constexpr const char* kTrainConfigFormat = "brainsem.train_config";
inline constexpr int kTrainConfigVersion = 1;
nlohmann::json train_config_document(const TrainConfig& c);
// Reads a whole document (an unknown format or a newer version is refused; `where` names the file).
TrainConfig train_config_from_document(nlohmann::json doc, const std::string& where);
// The fields of a stored config (a run's config.json, a checkpoint's metadata) as a TrainConfig. A
// key missing from them takes the value it had when files could lack it (keys added since, or whose
// default changed: the ridge start's keys read as random_start_config()'s). Throws nlohmann's
// exceptions on a value of the wrong type.
TrainConfig config_from_stored_fields(const nlohmann::json& fields);
// Applies a JSON object of overrides (a partial or whole training-config document) onto `c`, refusing unknown keys
// (typos must not pass).
void apply_overrides(TrainConfig& c, const nlohmann::json& overrides, const std::string& where);
// Checks every field, the encoder's too; with `feature_dim` (E, the image features' size) also that
// the encoder's output fits it (head none needs width == E), so a command can refuse before any output.
void validate(const TrainConfig& c, int64_t feature_dim = 0);
// Checks the config against the data's number of training classes, naming the flag that fixes it:
// held-out selection needs at least 5 classes held out and 5 trained on, and the ridge start's
// class-grouped CV at least 2 classes per fold among the classes it fits. The Trainer checks it
// too; a command calls it first so that it can refuse before any output.
void validate_for_classes(const TrainConfig& c, int64_t training_classes);
// ceil(epochs x pool / batch), at least 1.
int64_t steps_for_epochs(double epochs, int64_t pool, int64_t batch);

}  // namespace brainsem::train
