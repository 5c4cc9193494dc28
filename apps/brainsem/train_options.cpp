#include "train_options.h"

#include "brainsem/core/atomic_file.h"
#include "brainsem/core/error.h"

namespace brainsem::app {

void add_train_options(CLI::App& cmd, TrainOptions& o) {
  o.cmd = &cmd;
  auto& f = o.flags;
  auto* g = cmd.add_option_group("training", "Training configuration (defaults: docs/method.md)");
  g->add_option("--config", o.config_file, "JSON file with any TrainConfig keys (see docs/method.md); flags override it");
  g->add_flag("--paper", o.paper, "Start from the paper's exact recipe (ViT depth 24, heads 16, batch 200, temperature 1, raw fMRI)");
  g->add_option("--steps", f.steps, "Optimisation steps");
  g->add_option("--batch", f.batch, "Batch size (paper: 200)");
  g->add_option("--lr", f.lr, "Adam learning rate (paper: 1e-4)");
  g->add_option("--weight-decay", f.weight_decay, "Decoupled weight decay (paper: 0)");
  g->add_option("--seed", f.seed, "Random seed (weights, batches, virtual samples, dropout)");
  g->add_option("--encoder", f.encoder.kind, "fMRI encoder: vit (the paper), linear or mlp")->check(CLI::IsMember({"vit", "linear", "mlp"}));
  g->add_option("--depth", f.encoder.depth, "ViT depth (paper: 24; ablation 6/12/24)");
  g->add_option("--heads", f.encoder.heads, "ViT heads (paper: 16; ablation 4/8/16)");
  g->add_option("--width", f.encoder.width, "ViT width (paper: 512)");
  g->add_option("--mlp", f.encoder.mlp, "ViT MLP size (paper: 2048), or hidden size of --encoder mlp");
  g->add_option("--pos-embed", f.encoder.pos_embed, "learned, or none (the released code's all-zero position embeddings)")
      ->check(CLI::IsMember({"learned", "none"}));
  g->add_option("--dropout", f.encoder.dropout, "Dropout rate in the encoder (paper: 0)");
  g->add_flag("--tanh-output,!--no-tanh-output", f.encoder.tanh_output, "tanh after the final norm (released code)");
  g->add_flag("--no-library", o.no_library, "V off: pair each real sample with its own stimulus image instead of semantic-library images");
  g->add_flag("--no-virtual", o.no_virtual, "B off: real samples only, no virtual brain activity (Eq. 1)");
  g->add_option("--virtual-mode", f.virtual_mode, "paper (masked softmax), literal (Eq. 1 unnormalised) or released (random subset)")
      ->check(CLI::IsMember({"paper", "literal", "released"}));
  g->add_option("--temperature", f.temperature, "Logits = cosine / temperature (paper: 1)");
  g->add_flag("--learn-temperature", f.learn_temperature, "Learn the logit scale as CLIP does, starting from 1/temperature");
  g->add_flag("--symmetric", f.symmetric, "Add the image->fMRI direction to the loss");
  g->add_option("--normalize", f.normalize, "fMRI voxel normalisation with training statistics: none (paper) or zscore")
      ->check(CLI::IsMember({"none", "zscore"}));
  g->add_option("--val-classes", f.val_classes, "Hold out this many TRAINING classes to choose the best step (0 = last step)");
  g->add_option("--eval-every", f.eval_every, "Steps between held-out-class checks");
  g->add_option("--checkpoint-every", f.checkpoint_every, "Steps between checkpoints (0 = only at the end)");
  g->add_option("--log-every", f.log_every, "Steps between lines of train_log.jsonl");
}

train::TrainConfig resolve_train_config(const TrainOptions& o) {
  train::TrainConfig c = o.paper ? train::paper_config() : train::TrainConfig{};
  if (!o.config_file.empty()) {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(core::read_text_file(o.config_file));
    } catch (const nlohmann::json::exception& e) {
      fail(o.config_file, " is not valid JSON: ", e.what());
    }
    train::apply_overrides(c, j, o.config_file);
  }
  const auto& f = o.flags;
  auto given = [&](const char* name) { return o.cmd->count(name) > 0; };
  if (given("--steps")) c.steps = f.steps;
  if (given("--batch")) c.batch = f.batch;
  if (given("--lr")) c.lr = f.lr;
  if (given("--weight-decay")) c.weight_decay = f.weight_decay;
  if (given("--seed")) c.seed = f.seed;
  if (given("--encoder")) c.encoder.kind = f.encoder.kind;
  if (given("--depth")) c.encoder.depth = f.encoder.depth;
  if (given("--heads")) c.encoder.heads = f.encoder.heads;
  if (given("--width")) c.encoder.width = f.encoder.width;
  if (given("--mlp")) c.encoder.mlp = f.encoder.mlp;
  if (given("--pos-embed")) c.encoder.pos_embed = f.encoder.pos_embed;
  if (given("--dropout")) c.encoder.dropout = f.encoder.dropout;
  if (given("--tanh-output")) c.encoder.tanh_output = f.encoder.tanh_output;
  if (o.no_library) c.library = false;
  if (o.no_virtual) c.virtual_brain = false;
  if (given("--virtual-mode")) c.virtual_mode = f.virtual_mode;
  if (given("--temperature")) c.temperature = f.temperature;
  if (given("--learn-temperature")) c.learn_temperature = f.learn_temperature;
  if (given("--symmetric")) c.symmetric = f.symmetric;
  if (given("--normalize")) c.normalize = f.normalize;
  if (given("--val-classes")) c.val_classes = f.val_classes;
  if (given("--eval-every")) c.eval_every = f.eval_every;
  if (given("--checkpoint-every")) c.checkpoint_every = f.checkpoint_every;
  if (given("--log-every")) c.log_every = f.log_every;
  train::validate(c);
  return c;
}

}  // namespace brainsem::app
