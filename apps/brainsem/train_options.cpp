#include "train_options.h"

#include <memory>
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

// Binds `flag` to the field `access` selects: the flag writes into o.flags (whose value, from
// TrainConfig{}, --help shows as the default), and o.apply_given copies it into the resolved
// config only when the flag was given. One line per setting; no second list to keep in step.
template <typename Access>
CLI::Option* bind_value(CLI::Option_group* g, TrainOptions& o, const std::string& flag, Access access,
                        const std::string& help) {
  CLI::Option* opt = g->add_option(flag, access(o.flags), help)->capture_default_str();
  o.apply_given.push_back([opt, access, &o](train::TrainConfig& c) {
    if (opt->count() > 0) access(c) = access(o.flags);
  });
  return opt;
}

template <typename Access>
CLI::Option* bind_flag(CLI::Option_group* g, TrainOptions& o, const std::string& flag, Access access,
                       const std::string& help) {
  CLI::Option* opt = g->add_flag(flag, access(o.flags), help);
  o.apply_given.push_back([opt, access, &o](train::TrainConfig& c) {
    if (opt->count() > 0) access(c) = access(o.flags);
  });
  return opt;
}

// An enum field given by name: `names` are the choices, parse/name convert (the enum's own).
template <typename Access, typename Parse, typename Name>
CLI::Option* bind_choice(CLI::Option_group* g, TrainOptions& o, const std::string& flag, Access access,
                         const std::vector<std::string>& names, Parse parse, Name name, const std::string& help) {
  auto value = std::make_shared<std::string>(name(access(o.flags)));
  CLI::Option* opt = g->add_option(flag, *value, help)->check(CLI::IsMember(names))->capture_default_str();
  o.apply_given.push_back([opt, access, parse, value](train::TrainConfig& c) {
    if (opt->count() > 0) access(c) = parse(*value);
  });
  return opt;
}

#define FIELD(member) \
  [](train::TrainConfig & c) -> auto& { return c.member; }
}  // namespace

void add_train_options(CLI::App& cmd, TrainOptions& o) {
  o.cmd = &cmd;
  o.apply_given.clear();
  const auto paper = train::paper_config();
  auto with_paper = [](const std::string& what, const std::string& paper_value) {
    return what + " (--paper: " + paper_value + ")";
  };
  auto* g = cmd.add_option_group(
      "training",
      "Training configuration (docs/method.md); =VALUE is the default, (--paper: VALUE) the paper-like recipe's");
  g->add_option("--config", o.config_file,
                "JSON file with any TrainConfig keys (see docs/method.md); flags override it");
  g->add_flag("--paper", o.paper,
              "Start from the paper-like recipe: ViT depth " + text(paper.encoder.depth) + ", heads " +
                  text(paper.encoder.heads) + ", width " + text(paper.encoder.width) +
                  " with the CLS output as the embedding, MLP " + text(paper.encoder.mlp) + ", batch " +
                  text(paper.batch) + ", Adam " + text(paper.lr) + ", temperature " + text(paper.temperature) +
                  ", raw fMRI, " + text(paper.epochs) +
                  " epochs over the library (the released code's length; the paper "
                  "trains until convergence)");
  bind_value(g, o, "--steps", FIELD(steps), with_paper("Optimisation steps", "from --epochs"));
  bind_value(
      g, o, "--epochs", FIELD(epochs),
      with_paper("Training length in passes over the training pool (library images, or real samples with "
                 "--no-library), converted to steps from its size and --batch; replaces --steps (0 = use --steps)",
                 text(paper.epochs)));
  bind_value(g, o, "--batch", FIELD(batch), with_paper("Batch size", text(paper.batch)));
  bind_value(g, o, "--lr", FIELD(lr), with_paper("Adam learning rate", text(paper.lr)));
  bind_value(g, o, "--weight-decay", FIELD(weight_decay),
             with_paper("Decoupled weight decay", text(paper.weight_decay)));
  bind_value(g, o, "--seed", FIELD(seed), "Random seed (weights, batches, virtual samples, dropout)");
  bind_value(g, o, "--encoder", FIELD(encoder.kind), with_paper("fMRI encoder: vit, linear or mlp", paper.encoder.kind))
      ->check(CLI::IsMember({"vit", "linear", "mlp"}));
  bind_value(g, o, "--depth", FIELD(encoder.depth),
             with_paper("ViT depth (ablation 6/12/24)", text(paper.encoder.depth)));
  bind_value(g, o, "--heads", FIELD(encoder.heads),
             with_paper("ViT heads (ablation 4/8/16)", text(paper.encoder.heads)));
  bind_value(g, o, "--width", FIELD(encoder.width), with_paper("ViT width", text(paper.encoder.width)));
  bind_value(g, o, "--mlp", FIELD(encoder.mlp),
             with_paper("ViT MLP size, or hidden size of --encoder mlp", text(paper.encoder.mlp)));
  bind_value(g, o, "--head", FIELD(encoder.head),
             with_paper("ViT output: none = the CLS output is the embedding (needs --width = the image feature size), "
                        "linear = a Linear(width->image features) head; linear and mlp encoders need linear",
                        paper.encoder.head))
      ->check(CLI::IsMember({"linear", "none"}));
  bind_value(g, o, "--pos-embed", FIELD(encoder.pos_embed),
             with_paper("learned, or none (the released code's all-zero position embeddings)", paper.encoder.pos_embed))
      ->check(CLI::IsMember({"learned", "none"}));
  bind_value(g, o, "--dropout", FIELD(encoder.dropout),
             with_paper("Dropout rate in the encoder", text(paper.encoder.dropout)));
  bind_flag(g, o, "--tanh-output,!--no-tanh-output", FIELD(encoder.tanh_output),
            "tanh after the final norm (released code)");
  g->add_flag("--no-library", o.no_library,
              "V off: pair each real sample with its own stimulus image instead of semantic-library images");
  g->add_flag("--no-virtual", o.no_virtual, "B off: real samples only, no virtual brain activity (Eq. 1)");
  bind_choice(
      g, o, "--virtual-mode", FIELD(virtual_mode), {"paper", "literal", "released"}, model::parse_virtual_mode,
      [](model::VirtualMode m) { return model::to_string(m); },
      "paper (masked softmax), literal (Eq. 1 unnormalised) or released (random subset)");
  bind_value(g, o, "--temperature", FIELD(temperature),
             with_paper("Logits = cosine / temperature", text(paper.temperature)));
  bind_flag(g, o, "--learn-temperature", FIELD(learn_temperature),
            "Learn the logit scale as CLIP does, starting from 1/temperature");
  bind_flag(g, o, "--symmetric", FIELD(symmetric), "Add the image->fMRI direction to the loss");
  bind_value(g, o, "--regression-weight", FIELD(regression_weight),
             "Combined objective: add this weight x (1 - cos(encoded sample, its image's L2-normalised feature "
             "minus the batch mean)) to the fuzzy loss; 0 = the fuzzy loss alone (docs/method.md)");
  bind_choice(g, o, "--normalize", FIELD(normalize), {"none", "zscore"}, data::parse_normalize, data::normalize_name,
              with_paper("fMRI voxel normalisation with training statistics: none or zscore",
                         data::normalize_name(paper.normalize)));
  bind_value(g, o, "--val-classes", FIELD(val_classes),
             with_paper("Hold out this many TRAINING classes (drawn by the seed) to choose the best step, every "
                        "--eval-every steps and at step 0 with --init ridge; 0 = no choice, train for --steps "
                        "(docs/method.md)",
                        text(paper.val_classes)));
  bind_flag(g, o, "--retrain-all,!--no-retrain-all", FIELD(retrain_all),
            "With --val-classes K > 0: after choosing the step, retrain from scratch on ALL training classes for "
            "that many steps (--no-retrain-all keeps the model trained on the others)");
  bind_value(g, o, "--init", FIELD(init),
             with_paper("Initial weights: ridge (linear encoder: start from the ridge map of the trained classes, "
                        "alpha by class-grouped CV, and fine-tune it with the fuzzy loss; --steps 0 keeps the ridge "
                        "itself) or random (needed by --encoder mlp/vit)",
                        paper.init))
      ->check(CLI::IsMember({"random", "ridge"}));
  bind_value(g, o, "--ridge-targets", FIELD(ridge_targets),
             "What the ridge regresses onto, in the ridge start and the --baselines ridge: stimulus (each "
             "sample's own image feature) or class-library (its class's mean semantic-library image; needs "
             "--library; docs/method.md)")
      ->check(CLI::IsMember({"stimulus", "class-library"}));
  bind_value(g, o, "--eval-every", FIELD(eval_every), "Steps between held-out-class checks");
  bind_value(g, o, "--checkpoint-every", FIELD(checkpoint_every), "Steps between checkpoints (0 = only at the end)");
  bind_value(g, o, "--log-every", FIELD(log_every), "Steps between lines of train_log.jsonl");
}
#undef FIELD

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
  auto given = [&](const char* name) { return o.cmd->count(name) > 0; };
  BRAINSEM_CHECK(!(given("--steps") && given("--epochs")), "give --steps or --epochs, not both");
  for (const auto& apply : o.apply_given) apply(c);
  if (given("--steps")) c.epochs = 0;  // an explicit step count replaces a length in epochs (e.g. --paper's)
  if (o.no_library) c.library = false;
  if (o.no_virtual) c.virtual_brain = false;
  train::validate(c);
  return c;
}

}  // namespace brainsem::app
