#include "brainsem/train/train_config.h"

#include <algorithm>
#include <cmath>

#include "brainsem/core/error.h"
#include "brainsem/core/json_document.h"
#include "brainsem/eval/ridge.h"

using nlohmann::json;

namespace brainsem::train {

TrainConfig paper_config() {
  TrainConfig c;
  c.encoder.kind = "vit";
  c.encoder.depth = 24;
  c.encoder.heads = 16;
  c.encoder.width = 512;
  c.encoder.mlp = 2048;
  c.encoder.pos_embed = "learned";
  c.encoder.dropout = 0.0;
  c.encoder.head = "none";  // the CLS output (width 512) is the embedding
  c.steps = 0;              // from epochs, at run time
  c.epochs = 5;
  c.batch = 200;
  c.lr = 1e-4;
  c.weight_decay = 0.0;
  c.temperature = 1.0;
  c.normalize = data::Normalize::none;
  c.virtual_mode = model::VirtualMode::paper;
  c.init = "random";
  c.val_classes = 0;
  c.retrain_all = false;
  return c;
}

TrainConfig random_start_config() {
  TrainConfig c;
  c.init = "random";
  c.val_classes = 0;
  c.retrain_all = false;
  c.lr = 1e-3;
  c.eval_every = 50;
  return c;
}

json train_config_document(const TrainConfig& c) {
  json fields;
  to_json(fields, c);
  for (const auto& unused : model::unused_encoder_fields(c.encoder.kind)) fields["encoder"].erase(unused);
  return core::versioned_document(kTrainConfigFormat, kTrainConfigVersion, std::move(fields));
}

TrainConfig config_from_stored_fields(const json& fields) {
  TrainConfig c;
  from_json(fields, c);  // a missing key takes TrainConfig{}'s value
  // Every file this version writes has every key. One without some was written before the default
  // recipe became the ridge start with held-out step selection, and meant the defaults of then.
  const TrainConfig before = random_start_config();
  if (!fields.contains("lr")) c.lr = before.lr;
  if (!fields.contains("init")) c.init = before.init;
  if (!fields.contains("val_classes")) c.val_classes = before.val_classes;
  if (!fields.contains("retrain_all")) c.retrain_all = before.retrain_all;
  if (!fields.contains("eval_every")) c.eval_every = before.eval_every;
  return c;
}

TrainConfig train_config_from_document(json doc, const std::string& where) {
  core::take_document_format(doc, kTrainConfigFormat, kTrainConfigVersion, where);
  try {
    return config_from_stored_fields(doc);
  } catch (const json::exception& e) {
    fail(where, " is not a valid training config: ", e.what());
  } catch (const Error& e) {  // an unknown option name (virtual_mode, normalize)
    fail(where, ": ", e.what());
  }
}

namespace {
// Refuses a value whose JSON kind differs from the field's (`expected`, the field as to_json writes
// it): nlohmann would otherwise turn 0.5 into 0, true into 1, -2 into a huge seed and 1e308 into
// an undefined integer.
void check_kind(const json& expected, const json& given, const std::string& key, const std::string& where) {
  auto kind_of = [](const json& v) -> std::string {
    if (v.is_boolean()) return "true or false";
    if (v.is_number_unsigned()) return "a non-negative integer";
    if (v.is_number_integer()) return "an integer";
    if (v.is_number()) return "a number";
    if (v.is_string()) return "a string";
    if (v.is_object()) return "an object";
    return std::string("a ") + v.type_name();
  };
  bool ok = false;
  if (expected.is_boolean())
    ok = given.is_boolean();
  else if (expected.is_number_unsigned())
    ok = given.is_number_unsigned();
  else if (expected.is_number_integer())
    ok = given.is_number_integer();
  else if (expected.is_number_float())
    ok = given.is_number();
  else if (expected.is_string())
    ok = given.is_string();
  else if (expected.is_object())
    ok = given.is_object();
  BRAINSEM_CHECK(ok, where, ": config key '", key, "' must be ", kind_of(expected), ", got ", given.dump(),
                 "; write it as the default is written (", expected.dump(), ")");
}
}  // namespace

void apply_overrides(TrainConfig& c, const json& given, const std::string& where) {
  BRAINSEM_CHECK(given.is_object(), where, ": a training config must be a JSON object");
  json o = given;
  core::take_document_format(o, kTrainConfigFormat, kTrainConfigVersion, where);
  json current;
  to_json(current, c);
  for (auto it = o.begin(); it != o.end(); ++it) {
    BRAINSEM_CHECK(current.contains(it.key()), where, ": unknown config key '", it.key(), "'");
    check_kind(current[it.key()], it.value(), it.key(), where);
    if (it.key() == "encoder") {
      for (auto e = it.value().begin(); e != it.value().end(); ++e) {
        BRAINSEM_CHECK(current["encoder"].contains(e.key()), where, ": unknown encoder key '", e.key(), "'");
        check_kind(current["encoder"][e.key()], e.value(), "encoder." + e.key(), where);
        current["encoder"][e.key()] = e.value();
      }
    } else {
      current[it.key()] = it.value();
    }
  }
  try {
    from_json(current, c);
  } catch (const json::exception& e) {
    fail(where, ": a config value has the wrong type (", e.what(), ")");
  } catch (const Error& e) {  // an unknown option name (virtual_mode, normalize)
    fail(where, ": ", e.what());
  }
}

void validate(const TrainConfig& c, int64_t feature_dim) {
  BRAINSEM_CHECK(c.epochs >= 0, "epochs must be >= 0");
  BRAINSEM_CHECK(c.init == "random" || c.init == "ridge", "init must be random or ridge, got '", c.init, "'");
  BRAINSEM_CHECK(c.regression_weight >= 0 && std::isfinite(c.regression_weight),
                 "regression_weight must be a finite number >= 0, got ", c.regression_weight);
  BRAINSEM_CHECK(c.ridge_targets == "stimulus" || c.ridge_targets == "class-library",
                 "ridge_targets must be stimulus or class-library, got '", c.ridge_targets, "'");
  BRAINSEM_CHECK(c.init != "ridge" || c.encoder.kind == "linear", "init ridge (the default) sets a linear map; it ",
                 "needs the linear encoder, not ", c.encoder.kind, ": pass --init random with --encoder ",
                 c.encoder.kind);
  // A ridge-initialised model is already a decoder, so 0 steps (the ridge itself) is a valid length.
  BRAINSEM_CHECK(c.steps >= 1 || c.epochs > 0 || (c.init == "ridge" && c.steps == 0),
                 "steps must be >= 1 (or give epochs > 0)");
  BRAINSEM_CHECK(c.batch >= 2, "batch must be >= 2 (the loss contrasts rows of a batch)");
  BRAINSEM_CHECK(c.lr > 0, "lr must be > 0");
  BRAINSEM_CHECK(c.weight_decay >= 0, "weight_decay must be >= 0");
  BRAINSEM_CHECK(c.temperature > 0, "temperature must be > 0");
  BRAINSEM_CHECK(c.val_classes >= 0 && c.eval_every >= 1 && c.log_every >= 1 && c.checkpoint_every >= 0,
                 "val_classes, eval_every, log_every and checkpoint_every must be non-negative (eval/log >= 1)");
  model::FmriEncoderConfig encoder = c.encoder;
  encoder.token_width = std::max<int64_t>(encoder.token_width, 1);  // set from the data later
  encoder.out_dim = feature_dim > 0 ? feature_dim : encoder.head == "none" ? encoder.width : encoder.out_dim;
  model::validate(encoder);
}

void validate_for_classes(const TrainConfig& c, int64_t training_classes) {
  const int64_t most = training_classes - 5;
  BRAINSEM_CHECK(c.val_classes == 0 || (c.val_classes >= 5 && c.val_classes <= most), "val_classes = ", c.val_classes,
                 " (the training classes held out to choose the step) must be 0 or between 5 and ", most,
                 " for data with ", training_classes, " training classes: pass --val-classes K in that range, or ",
                 "--val-classes 0 to train for --steps without choosing");
  if (c.init != "ridge") return;
  const int64_t folds = eval::RidgeConfig{}.folds;
  const int64_t fitted = training_classes - c.val_classes;  // the selection run's ridge sees the fewest
  BRAINSEM_CHECK(fitted >= 2 * folds, "the ridge start (--init ridge, the default) chooses its alpha by ", folds,
                 "-fold class-grouped cross-validation, which needs at least ", 2 * folds,
                 " trained classes; this run trains on ", fitted, " (", training_classes, " training classes, ",
                 c.val_classes, " held out): pass --init random",
                 c.val_classes > 0 ? ", or hold out fewer with --val-classes" : "");
}

int64_t steps_for_epochs(double epochs, int64_t pool, int64_t batch) {
  BRAINSEM_CHECK(epochs > 0 && pool > 0 && batch > 0, "steps_for_epochs needs epochs, pool and batch > 0");
  return std::max<int64_t>(
      1, static_cast<int64_t>(std::ceil(epochs * static_cast<double>(pool) / static_cast<double>(batch))));
}

}  // namespace brainsem::train
