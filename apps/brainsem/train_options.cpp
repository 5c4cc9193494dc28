#include "train_options.h"

#include <sstream>

#include "brainsem/core/atomic_file.h"
#include "brainsem/core/error.h"

namespace brainsem::app {

namespace {
template <typename T>
std::string text(const T& v) {
  std::ostringstream os;
  os << v;
  return os.str();
}
}  // namespace

void add_train_options(CLI::App& cmd, TrainOptions& o) {
  o.cmd = &cmd;
  auto& f = o.flags;  // TrainConfig{}: the defaults --help shows
  const auto paper = train::paper_config();
  auto with_paper = [](const std::string& what, const std::string& paper_value) { return what + " (--paper: " + paper_value + ")"; };
  auto* g = cmd.add_option_group("training", "Training configuration (docs/method.md); =VALUE is the default, (--paper: VALUE) the paper-like recipe's");
  g->add_option("--config", o.config_file, "JSON file with any TrainConfig keys (see docs/method.md); flags override it");
  g->add_flag("--paper", o.paper,
              "Start from the paper-like recipe: ViT depth " + text(paper.encoder.depth) + ", heads " + text(paper.encoder.heads) +
                  ", width " + text(paper.encoder.width) + " with the CLS output as the embedding, MLP " + text(paper.encoder.mlp) +
                  ", batch " + text(paper.batch) + ", Adam " + text(paper.lr) + ", temperature " + text(paper.temperature) +
                  ", raw fMRI, " + text(paper.epochs) + " epochs over the library (the released code's length; the paper "
                  "trains until convergence)");
  g->add_option("--steps", f.steps, with_paper("Optimisation steps", "from --epochs"))->capture_default_str();
  g->add_option("--epochs", f.epochs,
                with_paper("Training length in passes over the training pool (library images, or real samples with "
                           "--no-library), converted to steps from its size and --batch; replaces --steps (0 = use --steps)",
                           text(paper.epochs)))
      ->capture_default_str();
  g->add_option("--batch", f.batch, with_paper("Batch size", text(paper.batch)))->capture_default_str();
  g->add_option("--lr", f.lr, with_paper("Adam learning rate", text(paper.lr)))->capture_default_str();
  g->add_option("--weight-decay", f.weight_decay, with_paper("Decoupled weight decay", text(paper.weight_decay)))->capture_default_str();
  g->add_option("--seed", f.seed, "Random seed (weights, batches, virtual samples, dropout)")->capture_default_str();
  g->add_option("--encoder", f.encoder.kind, with_paper("fMRI encoder: vit, linear or mlp", paper.encoder.kind))
      ->check(CLI::IsMember({"vit", "linear", "mlp"}))
      ->capture_default_str();
  g->add_option("--depth", f.encoder.depth, with_paper("ViT depth (ablation 6/12/24)", text(paper.encoder.depth)))->capture_default_str();
  g->add_option("--heads", f.encoder.heads, with_paper("ViT heads (ablation 4/8/16)", text(paper.encoder.heads)))->capture_default_str();
  g->add_option("--width", f.encoder.width, with_paper("ViT width", text(paper.encoder.width)))->capture_default_str();
  g->add_option("--mlp", f.encoder.mlp, with_paper("ViT MLP size, or hidden size of --encoder mlp", text(paper.encoder.mlp)))
      ->capture_default_str();
  g->add_option("--head", f.encoder.head,
                with_paper("ViT output: none = the CLS output is the embedding (needs --width = the image feature size), "
                           "linear = a Linear(width->image features) head; linear and mlp encoders need linear",
                           paper.encoder.head))
      ->check(CLI::IsMember({"linear", "none"}))
      ->capture_default_str();
  g->add_option("--pos-embed", f.encoder.pos_embed,
                with_paper("learned, or none (the released code's all-zero position embeddings)", paper.encoder.pos_embed))
      ->check(CLI::IsMember({"learned", "none"}))
      ->capture_default_str();
  g->add_option("--dropout", f.encoder.dropout, with_paper("Dropout rate in the encoder", text(paper.encoder.dropout)))->capture_default_str();
  g->add_flag("--tanh-output,!--no-tanh-output", f.encoder.tanh_output, "tanh after the final norm (released code)");
  g->add_flag("--no-library", o.no_library, "V off: pair each real sample with its own stimulus image instead of semantic-library images");
  g->add_flag("--no-virtual", o.no_virtual, "B off: real samples only, no virtual brain activity (Eq. 1)");
  g->add_option("--virtual-mode", f.virtual_mode, "paper (masked softmax), literal (Eq. 1 unnormalised) or released (random subset)")
      ->check(CLI::IsMember({"paper", "literal", "released"}))
      ->capture_default_str();
  g->add_option("--temperature", f.temperature, with_paper("Logits = cosine / temperature", text(paper.temperature)))->capture_default_str();
  g->add_flag("--learn-temperature", f.learn_temperature, "Learn the logit scale as CLIP does, starting from 1/temperature");
  g->add_flag("--symmetric", f.symmetric, "Add the image->fMRI direction to the loss");
  g->add_option("--normalize", f.normalize,
                with_paper("fMRI voxel normalisation with training statistics: none or zscore", paper.normalize))
      ->check(CLI::IsMember({"none", "zscore"}))
      ->capture_default_str();
  g->add_option("--val-classes", f.val_classes,
                "Hold out this many TRAINING classes to choose the best step (0 = last step); the final model is then "
                "trained on the others unless --retrain-all")
      ->capture_default_str();
  g->add_flag("--retrain-all", f.retrain_all,
              "With --val-classes: after choosing the step, retrain from scratch on ALL training classes for that many steps");
  g->add_option("--eval-every", f.eval_every, "Steps between held-out-class checks")->capture_default_str();
  g->add_option("--checkpoint-every", f.checkpoint_every, "Steps between checkpoints (0 = only at the end)")->capture_default_str();
  g->add_option("--log-every", f.log_every, "Steps between lines of train_log.jsonl")->capture_default_str();
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
  BRAINSEM_CHECK(!(given("--steps") && given("--epochs")), "give --steps or --epochs, not both");
  if (given("--steps")) {
    c.steps = f.steps;
    c.epochs = 0;  // an explicit step count replaces a length in epochs (e.g. --paper's)
  }
  if (given("--epochs")) c.epochs = f.epochs;
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
  if (given("--head")) c.encoder.head = f.encoder.head;
  if (o.no_library) c.library = false;
  if (o.no_virtual) c.virtual_brain = false;
  if (given("--virtual-mode")) c.virtual_mode = f.virtual_mode;
  if (given("--temperature")) c.temperature = f.temperature;
  if (given("--learn-temperature")) c.learn_temperature = f.learn_temperature;
  if (given("--symmetric")) c.symmetric = f.symmetric;
  if (given("--normalize")) c.normalize = f.normalize;
  if (given("--val-classes")) c.val_classes = f.val_classes;
  if (given("--retrain-all")) c.retrain_all = f.retrain_all;
  if (given("--eval-every")) c.eval_every = f.eval_every;
  if (given("--checkpoint-every")) c.checkpoint_every = f.checkpoint_every;
  if (given("--log-every")) c.log_every = f.log_every;
  train::validate(c);
  return c;
}

}  // namespace brainsem::app
