#pragma once
// Every knob of a BrainSem training run, with defaults in one place, (de)serialised as JSON so a
// run directory records exactly what produced it (issue 3 §5).
#include <nlohmann/json.hpp>

#include <string>

#include "brainsem/model/fmri_encoder.h"

namespace brainsem::train {

inline model::FmriEncoderConfig default_encoder() {
  model::FmriEncoderConfig e;
  e.kind = "linear";
  return e;
}

// The defaults are the best honest configuration found on the demo data (docs/method.md,
// "Making it earn its place"); paper_config() is the paper's exact recipe (--paper).
struct TrainConfig {
  model::FmriEncoderConfig encoder = default_encoder();
  int64_t steps = 300;
  int64_t batch = 200;
  double lr = 1e-3;
  double weight_decay = 0.0;        // decoupled (AdamW-style) when > 0; the paper: 0
  uint64_t seed = 0;
  bool library = true;              // V: pair virtual samples with semantic-library images
  bool virtual_brain = true;        // B: virtual brain activity (Eq. 1); off = real samples only
  std::string virtual_mode = "paper";  // paper | literal | released (model/virtual_brain.h)
  double temperature = 0.07;        // the paper: 1 (plain cosine logits); CLIP's initial value 0.07
  bool learn_temperature = false;   // CLIP-style learnable logit scale, initialised at 1/temperature
  bool symmetric = false;
  std::string normalize = "zscore"; // fMRI voxel normalisation with training statistics: none | zscore
  int64_t val_classes = 0;          // training classes held out to choose the step (0 = off)
  int64_t eval_every = 50;          // steps between held-out-class checks
  int64_t checkpoint_every = 0;     // 0 = only at the end
  int64_t log_every = 10;
};

// The paper's exact recipe: ViT depth 24, heads 16, width 512, MLP 2048, batch 200, Adam 1e-4,
// plain cosine logits (temperature 1), raw fMRI (no z-scoring), no dropout or weight decay.
TrainConfig paper_config();

void to_json(nlohmann::json& j, const TrainConfig& c);
void from_json(const nlohmann::json& j, TrainConfig& c);
// Applies a JSON object of overrides onto `c`, refusing unknown keys (typos must not pass).
void apply_overrides(TrainConfig& c, const nlohmann::json& overrides, const std::string& where);
void validate(const TrainConfig& c);

}  // namespace brainsem::train
