#include "brainsem/train/train_config.h"

#include <algorithm>
#include <cmath>

#include "brainsem/core/error.h"

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
  c.normalize = "none";
  c.virtual_mode = "paper";
  return c;
}

void to_json(json& j, const TrainConfig& c) {
  const auto& e = c.encoder;
  j = json{{"encoder", {{"kind", e.kind}, {"width", e.width}, {"depth", e.depth}, {"heads", e.heads}, {"mlp", e.mlp},
                        {"out_dim", e.out_dim}, {"pos_embed", e.pos_embed}, {"dropout", e.dropout},
                        {"tanh_output", e.tanh_output}, {"head", e.head}}},
           {"steps", c.steps}, {"epochs", c.epochs}, {"batch", c.batch}, {"lr", c.lr}, {"weight_decay", c.weight_decay}, {"seed", c.seed},
           {"library", c.library}, {"virtual_brain", c.virtual_brain}, {"virtual_mode", c.virtual_mode},
           {"temperature", c.temperature}, {"learn_temperature", c.learn_temperature}, {"symmetric", c.symmetric},
           {"normalize", c.normalize}, {"val_classes", c.val_classes}, {"retrain_all", c.retrain_all}, {"eval_every", c.eval_every},
           {"checkpoint_every", c.checkpoint_every}, {"log_every", c.log_every}};
}

void apply_overrides(TrainConfig& c, const json& o, const std::string& where) {
  BRAINSEM_CHECK(o.is_object(), where, ": a training config must be a JSON object");
  json current;
  to_json(current, c);
  for (auto it = o.begin(); it != o.end(); ++it) {
    BRAINSEM_CHECK(current.contains(it.key()), where, ": unknown config key '", it.key(), "'");
    if (it.key() == "encoder") {
      BRAINSEM_CHECK(it.value().is_object(), where, ": 'encoder' must be an object");
      for (auto e = it.value().begin(); e != it.value().end(); ++e) {
        BRAINSEM_CHECK(current["encoder"].contains(e.key()), where, ": unknown encoder key '", e.key(), "'");
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
  }
}

void from_json(const json& j, TrainConfig& c) {
  const auto& e = j.at("encoder");
  e.at("kind").get_to(c.encoder.kind);
  e.at("width").get_to(c.encoder.width);
  e.at("depth").get_to(c.encoder.depth);
  e.at("heads").get_to(c.encoder.heads);
  e.at("mlp").get_to(c.encoder.mlp);
  e.at("out_dim").get_to(c.encoder.out_dim);
  e.at("pos_embed").get_to(c.encoder.pos_embed);
  e.at("dropout").get_to(c.encoder.dropout);
  e.at("tanh_output").get_to(c.encoder.tanh_output);
  // Keys added later default to what runs recorded without them meant.
  c.encoder.head = e.value("head", std::string("linear"));
  j.at("steps").get_to(c.steps);
  c.epochs = j.value("epochs", 0.0);
  j.at("batch").get_to(c.batch);
  j.at("lr").get_to(c.lr);
  j.at("weight_decay").get_to(c.weight_decay);
  j.at("seed").get_to(c.seed);
  j.at("library").get_to(c.library);
  j.at("virtual_brain").get_to(c.virtual_brain);
  j.at("virtual_mode").get_to(c.virtual_mode);
  j.at("temperature").get_to(c.temperature);
  j.at("learn_temperature").get_to(c.learn_temperature);
  j.at("symmetric").get_to(c.symmetric);
  j.at("normalize").get_to(c.normalize);
  j.at("val_classes").get_to(c.val_classes);
  c.retrain_all = j.value("retrain_all", false);
  j.at("eval_every").get_to(c.eval_every);
  j.at("checkpoint_every").get_to(c.checkpoint_every);
  j.at("log_every").get_to(c.log_every);
}

void validate(const TrainConfig& c, int64_t feature_dim) {
  BRAINSEM_CHECK(c.epochs >= 0, "epochs must be >= 0");
  BRAINSEM_CHECK(c.steps >= 1 || c.epochs > 0, "steps must be >= 1 (or give epochs > 0)");
  BRAINSEM_CHECK(c.batch >= 2, "batch must be >= 2 (the loss contrasts rows of a batch)");
  BRAINSEM_CHECK(c.lr > 0, "lr must be > 0");
  BRAINSEM_CHECK(c.weight_decay >= 0, "weight_decay must be >= 0");
  BRAINSEM_CHECK(c.temperature > 0, "temperature must be > 0");
  BRAINSEM_CHECK(c.normalize == "none" || c.normalize == "zscore", "normalize must be none or zscore");
  BRAINSEM_CHECK(c.virtual_mode == "paper" || c.virtual_mode == "literal" || c.virtual_mode == "released",
                 "virtual_mode must be paper, literal or released");
  BRAINSEM_CHECK(c.val_classes >= 0 && c.eval_every >= 1 && c.log_every >= 1 && c.checkpoint_every >= 0,
                 "val_classes, eval_every, log_every and checkpoint_every must be non-negative (eval/log >= 1)");
  BRAINSEM_CHECK(!c.retrain_all || c.val_classes > 0, "retrain_all retrains for the step chosen on held-out classes; "
                 "it needs val_classes > 0 (--val-classes K)");
  model::FmriEncoderConfig encoder = c.encoder;
  encoder.token_width = std::max<int64_t>(encoder.token_width, 1);  // set from the data later
  encoder.out_dim = feature_dim > 0 ? feature_dim : encoder.head == "none" ? encoder.width : encoder.out_dim;
  model::validate(encoder);
}

int64_t steps_for_epochs(double epochs, int64_t pool, int64_t batch) {
  BRAINSEM_CHECK(epochs > 0 && pool > 0 && batch > 0, "steps_for_epochs needs epochs, pool and batch > 0");
  return std::max<int64_t>(1, static_cast<int64_t>(std::ceil(epochs * static_cast<double>(pool) / static_cast<double>(batch))));
}

}  // namespace brainsem::train
