#include "brainsem/train/trainer.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <numeric>
#include <random>
#include <set>

#include "brainsem/core/atomic_file.h"
#include "brainsem/core/error.h"
#include "brainsem/core/progress.h"
#include "brainsem/core/rng.h"
#include "brainsem/eval/ridge.h"
#include "brainsem/eval/zero_shot.h"
#include "brainsem/model/fuzzy_matching_loss.h"
#include "brainsem/model/virtual_brain.h"
#include "brainsem/train/checkpoint.h"
#include "brainsem/train/multi_tensor_adamw.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace brainsem::train {

namespace {
std::mt19937_64 step_rng(uint64_t seed, int64_t step) {
  std::seed_seq seq{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32), static_cast<uint32_t>(step),
                    0x9e3779b9u};
  return std::mt19937_64(seq);
}
}  // namespace

torch::Tensor embed_all(model::FmriEncoder& encoder, const torch::Tensor& x, int64_t chunk,
                        const core::ComputeTarget& target) {
  torch::NoGradGuard no_grad;
  core::AutocastScope autocast(target);
  const auto device = encoder->parameters().front().device();
  bool was_training = encoder->is_training();
  encoder->eval();
  std::vector<torch::Tensor> parts;
  for (int64_t i = 0; i < x.size(0); i += chunk)
    parts.push_back(
        encoder->forward(x.slice(0, i, std::min(i + chunk, x.size(0))).to(device)).to(torch::kCPU, torch::kFloat32));
  encoder->train(was_training);
  return torch::cat(parts, 0);
}

namespace {
void keep_log_until(const fs::path& path, int64_t step) {
  if (!fs::exists(path)) return;
  std::ifstream in(path);
  std::string line, kept;
  bool changed = false;
  while (std::getline(in, line)) {
    const json entry = json::parse(line, nullptr, false);
    if (!entry.is_discarded() && entry.contains("step") && entry["step"].is_number_integer() &&
        entry["step"].get<int64_t>() <= step) {
      kept += line + "\n";
    } else {
      changed = true;
    }
  }
  if (changed) core::write_text_atomically(path, kept);
}
}  // namespace

Trainer::Trainer(const TrainConfig& cfg, const TrainingData& data, const core::ComputeTarget& target)
    : cfg_(cfg), data_(data), target_(target) {
  validate(cfg_);
  BRAINSEM_CHECK(cfg_.ridge_targets != "class-library" || data_.library.defined(),
                 "--ridge-targets class-library needs a library feature store; pass --library");
  BRAINSEM_CHECK(!cfg_.library || data_.library.defined(),
                 "training with the semantic library (V on) needs a library "
                 "feature store; pass --library or train with --no-library");
  if (data_.library.defined()) {
    BRAINSEM_CHECK(data_.library_rows.size() == data_.library_class.size(),
                   "training data: ", data_.library_rows.size(), " library rows for ", data_.library_class.size(),
                   " library classes");
    for (auto row : data_.library_rows)
      BRAINSEM_CHECK(row >= 0 && row < data_.library.size(0), "training data: library row ", row, " is outside [0, ",
                     data_.library.size(0), ")");
  }
  cfg_.encoder.tokens = data_.x.size(1);
  cfg_.encoder.token_width = data_.x.size(2);
  cfg_.encoder.out_dim = data_.sample_feature.size(1);
  {
    core::SeededTorchScope seeded(cfg_.seed);  // initial weights
    encoder_ = model::FmriEncoder(cfg_.encoder);
  }
  // Initialised on the CPU (the same weights on every device), then moved.
  encoder_->to(target_.device);
  x_ = data_.x.to(target_.device);
  sample_feature_ = data_.sample_feature.to(target_.device);
  if (data_.library.defined()) library_ = data_.library.to(target_.device);
  std::vector<torch::Tensor> params = encoder_->parameters();
  if (cfg_.learn_temperature) {
    log_scale_ = torch::full({1}, std::log(1.0 / cfg_.temperature),
                             torch::TensorOptions().device(target_.device).requires_grad(true));
    params.push_back(log_scale_);
  }
  optimizer_ = std::make_unique<torch::optim::AdamW>(
      params, torch::optim::AdamWOptions(cfg_.lr).weight_decay(cfg_.weight_decay));

  // Held-out training classes for model selection, chosen by the seed (never by test data).
  const int64_t c = data_.num_classes();
  // A retrain-all run holds nothing out, so any val_classes suits it (its selection run checked).
  TrainConfig as_run = cfg_;
  if (as_run.retrain_all) as_run.val_classes = 0;
  validate_for_classes(as_run, c);
  std::vector<int64_t> order(c);
  std::iota(order.begin(), order.end(), 0);
  auto rng = step_rng(cfg_.seed, -1);
  std::shuffle(order.begin(), order.end(), rng);
  // A retrain-all run is the final model after selection: it trains on every class.
  if (!cfg_.retrain_all) val_classes_.assign(order.begin(), order.begin() + cfg_.val_classes);
  std::sort(val_classes_.begin(), val_classes_.end());
  std::set<int64_t> val(val_classes_.begin(), val_classes_.end());
  if (cfg_.library) {
    for (size_t i = 0; i < data_.library_class.size(); ++i)
      if (!val.count(data_.library_class[i])) pool_.push_back(static_cast<int64_t>(i));
  } else {
    for (size_t i = 0; i < data_.sample_class.size(); ++i)
      if (!val.count(data_.sample_class[i])) pool_.push_back(static_cast<int64_t>(i));
  }
  BRAINSEM_CHECK(!pool_.empty(), "nothing to train on");
  if (cfg_.epochs > 0) cfg_.steps = steps_for_epochs(cfg_.epochs, static_cast<int64_t>(pool_.size()), cfg_.batch);
}

void Trainer::start_from_ridge_if_needed() {
  if (initial_weights_set_) return;
  initial_weights_set_ = true;
  if (cfg_.init == "ridge") initialise_from_ridge();
}

double Trainer::step_once() {
  start_from_ridge_if_needed();
  pending_losses_.push_back(step_on_device());
  read_pending_losses();
  return losses_.back();
}

void Trainer::read_pending_losses() {
  if (pending_losses_.empty()) return;
  const auto values = torch::cat(pending_losses_).to(torch::kCPU, torch::kFloat64);  // one transfer
  const int64_t first = step_ - static_cast<int64_t>(pending_losses_.size()) + 1;
  pending_losses_.clear();
  const auto* v = values.data_ptr<double>();
  for (int64_t i = 0; i < values.numel(); ++i) {
    BRAINSEM_CHECK(std::isfinite(v[i]), "training diverged at step ", first + i, " (loss ", v[i], "); lower --lr");
    losses_.push_back(v[i]);
  }
}

torch::Tensor Trainer::step_on_device() {
  auto rng = step_rng(cfg_.seed, step_);
  core::SeededTorchScope seeded(cfg_.seed * 1000003ull + static_cast<uint64_t>(step_));  // dropout masks
  std::uniform_int_distribution<size_t> pick(0, pool_.size() - 1);
  const int64_t b = cfg_.batch;
  std::vector<int64_t> classes(b), image_rows(b), sample_rows(b);
  for (int64_t i = 0; i < b; ++i) {
    int64_t row = pool_[pick(rng)];
    image_rows[i] = row;
    classes[i] = cfg_.library ? data_.library_class[row] : data_.sample_class[row];
    if (!cfg_.library) {
      sample_rows[i] = row;  // V off: each sample with its own stimulus image
    } else {
      const auto& rows = data_.rows_of_class[classes[i]];
      sample_rows[i] = rows[std::uniform_int_distribution<size_t>(0, rows.size() - 1)(rng)];
    }
  }
  auto on_device = [&](const std::vector<int64_t>& rows) { return torch::tensor(rows).to(target_.device); };
  torch::Tensor x = cfg_.virtual_brain  // [B, R, P]
                        ? model::virtual_batch(x_, data_.rows_of_class, classes, cfg_.virtual_mode, rng)
                        : x_.index_select(0, on_device(sample_rows));
  torch::Tensor y;  // [B, E]
  if (cfg_.library) {
    std::vector<int64_t> store_rows(b);
    for (int64_t i = 0; i < b; ++i) store_rows[i] = data_.library_rows[image_rows[i]];
    y = library_.index_select(0, on_device(store_rows));
  } else {
    y = sample_feature_.index_select(0, on_device(image_rows));
  }

  encoder_->train();
  torch::Tensor brain;  // [B, E]
  if (group_ == nullptr) {
    core::AutocastScope autocast(target_);  // bf16: the encoder's matrix products; the loss stays float32
    brain = encoder_->forward(x).to(torch::kFloat32);
  } else {
    // This rank encodes rows [r*b/n, (r+1)*b/n); the loss sees every rank's rows, and the gradient
    // flows back through this rank's own (all_reduce_gradients adds the others').
    const int64_t per = b / group_->size(), first = per * group_->rank();
    torch::Tensor local;  // [b/n, E]
    {
      core::AutocastScope autocast(target_);
      local = encoder_->forward(x.narrow(0, first, per)).to(torch::kFloat32);
    }
    const auto all = group_->all_gather(local.detach());  // [b, E]
    brain = torch::cat({all.narrow(0, 0, first), local, all.narrow(0, first + per, b - first - per)});
  }
  model::FuzzyLossOptions opts;
  opts.symmetric = cfg_.symmetric;
  if (cfg_.learn_temperature)
    opts.scale = log_scale_.exp().clamp_max(100.0);  // CLIP's learnable logit scale, clamped at 100 as CLIP does
  else
    opts.temperature = cfg_.temperature;
  torch::Tensor loss = model::fuzzy_matching_loss(brain, y, on_device(classes), opts);
  if (cfg_.regression_weight > 0)
    loss = loss + cfg_.regression_weight * model::centred_cosine_regression_loss(brain, y);
  optimizer_->zero_grad();
  loss.backward();
  if (group_ != nullptr) all_reduce_gradients();
  multi_tensor_adamw_step(*optimizer_);
  ++step_;
  return loss.detach().reshape({1});
}

void Trainer::distribute(core::ProcessGroup* group) {
  BRAINSEM_CHECK(group == nullptr || cfg_.batch % group->size() == 0, "--batch ", cfg_.batch,
                 " must be a multiple of the number of processes (", group ? group->size() : 1,
                 ") to split it evenly over them");
  group_ = group;
}

void Trainer::all_reduce_gradients() {
  // The encoder's gradient on each rank comes from its own rows only: their sum is the whole batch's.
  // The temperature sees the whole loss on every rank: its gradients are averaged instead.
  std::vector<torch::Tensor> grads;
  for (const auto& p : encoder_->parameters())
    if (p.grad().defined()) grads.push_back(p.grad().flatten());
  if (log_scale_.defined() && log_scale_.grad().defined())
    grads.push_back(log_scale_.grad().flatten() / static_cast<double>(group_->size()));
  std::vector<torch::Tensor> flat{torch::cat(grads)};  // one collective per step, on the model's device
  group_->all_reduce_sum(flat);
  const auto& summed = flat[0];
  int64_t offset = 0;
  auto take = [&](const torch::Tensor& grad) {
    grad.copy_(summed.narrow(0, offset, grad.numel()).view_as(grad));
    offset += grad.numel();
  };
  torch::NoGradGuard no_grad;
  for (const auto& p : encoder_->parameters())
    if (p.grad().defined()) take(p.grad());
  if (log_scale_.defined() && log_scale_.grad().defined()) take(log_scale_.grad());
}

double Trainer::validate_heldout() {
  // Zero-shot among the held-out training classes: real samples vs. class-mean stimulus features.
  std::vector<int64_t> rows, truth, feat_class;
  std::vector<int64_t> feat_rows;
  for (size_t k = 0; k < val_classes_.size(); ++k)
    for (int64_t r : data_.rows_of_class[val_classes_[k]]) {
      rows.push_back(r);
      truth.push_back(static_cast<int64_t>(k));
    }
  auto idx = torch::tensor(rows, torch::kInt64);
  auto protos = eval::class_prototypes(data_.sample_feature.index_select(0, idx), truth,
                                       static_cast<int64_t>(val_classes_.size()));
  return eval::zero_shot(embed_all(encoder_, x_.index_select(0, idx.to(target_.device)), 256, target_), protos, truth)
      .top1;
}

void Trainer::keep_best_if_improved(double score) {
  if (score <= best_val_) return;
  best_val_ = score;
  best_step_ = step_;
  best_params_.clear();
  for (const auto& p : encoder_->parameters()) best_params_.push_back(p.detach().clone());
}

void Trainer::initialise_from_ridge() {
  // The real samples of the trained classes (held-out classes stay unseen, as in the loss).
  std::set<int64_t> val(val_classes_.begin(), val_classes_.end());
  std::vector<int64_t> rows, row_class;
  for (size_t i = 0; i < data_.sample_class.size(); ++i)
    if (!val.count(data_.sample_class[i])) {
      rows.push_back(static_cast<int64_t>(i));
      row_class.push_back(data_.sample_class[i]);
    }
  const auto index = torch::tensor(rows, torch::kInt64);
  // Zero padding is a constant column: the ridge's standardisation gives it weight 0.
  const auto x = data_.x.index_select(0, index).flatten(1);  // [N, R*P]
  const auto y = (cfg_.ridge_targets == "class-library" ? class_library_targets(data_) : data_.sample_feature)
                     .index_select(0, index);  // [N, E]
  const auto cv = eval::fit_ridge_cv(x, y, row_class, eval::RidgeConfig{}, cfg_.seed);
  ridge_alpha_ = cv.model.alpha;
  // Fold the standardisation into the map: (x - mean) / scale W = x W' + b.
  const auto w = cv.model.weight / cv.model.x_scale.unsqueeze(1);     // [R*P, E] float64
  const auto b = -cv.model.x_mean.unsqueeze(0).matmul(w).squeeze(0);  // [E]
  auto params = encoder_->named_parameters();
  auto weight = params["head.weight"], bias = params["head.bias"];  // [E, R*P], [E]
  // Cosine logits ignore the map's scale, but Adam's steps do not: rescale it to the random
  // initialisation's RMS so that lr means the same relative step as in a randomly started run.
  const double scale =
      weight.pow(2).mean().sqrt().item<double>() / w.pow(2).mean().sqrt().clamp_min(1e-30).item<double>();
  torch::NoGradGuard no_grad;
  weight.copy_((w * scale).t().to(weight.dtype()));
  bias.copy_((b * scale).to(bias.dtype()));
}

void Trainer::run(const fs::path& run_dir) {
  std::ofstream log;
  if (!run_dir.empty()) {
    fs::create_directories(run_dir);
    core::remove_stale_temporaries(run_dir);  // checkpoints half-written by a killed run
    // The log continues from this step: entries a stopped run wrote after its last checkpoint
    // (and a torn last line) are dropped, so a resumed log has each step once, in order.
    // A run at step 0 starts its log afresh (it writes its own step-0 entry).
    keep_log_until(run_dir / "train_log.jsonl", step_ == 0 ? -1 : step_);
    log.open(run_dir / "train_log.jsonl", std::ios::app);
  }
  start_from_ridge_if_needed();
  if (step_ == 0 && cfg_.init == "ridge") {
    // A checkpoint at step 0 holds the ridge start itself; refitting gives the same weights and the
    // alpha for the log.
    if (ridge_alpha_ == 0) initialise_from_ridge();
    json entry{{"step", 0}, {"init", "ridge"}, {"ridge_alpha", ridge_alpha_}};
    if (!val_classes_.empty()) {  // the ridge itself competes with every fine-tuned step
      const double v = validate_heldout();
      keep_best_if_improved(v);
      entry["val_top1"] = v;
    }
    if (log.is_open()) log << entry.dump() << "\n" << std::flush;
  }
  core::Progress bar("train", cfg_.steps, "step");
  auto t0 = std::chrono::steady_clock::now();
  int64_t start = step_;
  double recent = 0;
  while (step_ < cfg_.steps) {
    pending_losses_.push_back(step_on_device());
    const bool validate_now = !val_classes_.empty() && (step_ % cfg_.eval_every == 0 || step_ == cfg_.steps);
    const bool checkpoint_now =
        !run_dir.empty() && cfg_.checkpoint_every > 0 && step_ % cfg_.checkpoint_every == 0 && step_ < cfg_.steps;
    const bool log_now = step_ % cfg_.log_every == 0 || step_ == cfg_.steps || validate_now;
    if (log_now || checkpoint_now) {  // the only points where the host waits for the device
      const size_t first = losses_.size();
      read_pending_losses();  // a diverged run stops here, before anything records its state
      for (size_t i = first; i < losses_.size(); ++i)
        recent = recent == 0 ? losses_[i] : 0.9 * recent + 0.1 * losses_[i];
    }
    json entry;
    if (validate_now) {
      double v = validate_heldout();
      keep_best_if_improved(v);
      entry["val_top1"] = v;
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (log_now && log.is_open()) {
      entry["step"] = step_;
      entry["loss"] = losses_.back();
      entry["samples_per_s"] = (step_ - start) * cfg_.batch / std::max(secs, 1e-9);
      entry["elapsed_s"] = secs;
      if (cfg_.learn_temperature) entry["temperature"] = std::exp(-log_scale_.item<double>());
      log << entry.dump() << "\n" << std::flush;
    }
    if (checkpoint_now) save_checkpoint(run_dir / kCheckpointFile);
    char status[64];
    std::snprintf(status, sizeof status, "loss %.4f", recent);
    bar.update(step_, status);
  }
  char status[96];
  std::snprintf(status, sizeof status, "loss %.4f%s", recent,
                !val_classes_.empty() ? (" best held-out step " + std::to_string(best_step_)).c_str() : "");
  bar.finish(status);
  if (!run_dir.empty()) save_checkpoint(run_dir / kCheckpointFile);
}

torch::Tensor Trainer::embed(const torch::Tensor& x) {
  start_from_ridge_if_needed();
  if (best_params_.empty()) return embed_all(encoder_, x, 256, target_);
  // Use the weights chosen on held-out training classes, leaving the training state untouched.
  std::vector<torch::Tensor> current;
  auto params = encoder_->parameters();
  {
    torch::NoGradGuard g;
    for (size_t i = 0; i < params.size(); ++i) {
      current.push_back(params[i].detach().clone());
      params[i].copy_(best_params_[i]);
    }
  }
  auto out = embed_all(encoder_, x, 256, target_);
  torch::NoGradGuard g;
  for (size_t i = 0; i < params.size(); ++i) params[i].copy_(current[i]);
  return out;
}

namespace {
// The config a checkpoint must match to be resumed: everything but the training length (a resumed
// run may train longer). Read through from_json so keys added since default as they did then.
json resumable_config(json cfg) {
  cfg["steps"] = 0;
  const TrainConfig c = config_from_stored_fields(cfg);  // a missing key means what it meant then
  to_json(cfg, c);
  cfg.erase("steps");
  cfg.erase("epochs");
  return cfg;
}
}  // namespace

namespace {
std::vector<torch::Tensor> optimizer_params(torch::optim::Optimizer& opt) {
  std::vector<torch::Tensor> all;
  for (auto& g : opt.param_groups())
    for (auto& p : g.params()) all.push_back(p);
  return all;
}
}  // namespace

void Trainer::save_checkpoint(const fs::path& path) {
  CheckpointState s;
  to_json(s.config, cfg_);
  s.config = resumable_config(s.config);
  s.step = step_;
  s.best_step = best_step_;
  s.best_val = best_val_;
  for (const auto& item : encoder_->named_parameters()) s.model.emplace_back(item.key(), item.value());
  for (const auto& item : encoder_->named_buffers()) s.model.emplace_back(item.key(), item.value());
  s.best = best_params_;
  if (log_scale_.defined()) s.log_scale = log_scale_;
  auto& state = optimizer_->state();
  for (const auto& p : optimizer_params(*optimizer_)) {
    auto it = state.find(adamw_state_key(state, p));
    if (it == state.end()) {
      s.adam.emplace_back(std::nullopt);
      continue;
    }
    const auto& st = static_cast<const torch::optim::AdamWParamState&>(*it->second);
    BRAINSEM_CHECK(!st.max_exp_avg_sq().defined(), "checkpoints do not store AMSGrad state");
    s.adam.push_back(CheckpointState::AdamMoments{st.step(), st.exp_avg(), st.exp_avg_sq()});
  }
  write_checkpoint(path, s);
}

int64_t Trainer::checkpoint_step(const fs::path& path) {
  if (is_legacy_checkpoint(path)) refuse_legacy_checkpoint(path);
  return read_checkpoint_step(path);
}

void Trainer::load_checkpoint(const fs::path& path, bool trust_legacy) {
  BRAINSEM_CHECK(fs::exists(path), "checkpoint ", path, " does not exist");
  if (is_legacy_checkpoint(path)) {
    if (!trust_legacy) refuse_legacy_checkpoint(path);
    BRAINSEM_CHECK(target_.device.is_cpu(), "legacy checkpoint ", path, " loads on --device cpu only");
    load_legacy_checkpoint(path);
    initial_weights_set_ = true;
    check_loaded_state_is_finite(path);
    return;
  }
  CheckpointState s = read_checkpoint(path);
  check_same_config(path, s.config);
  initial_weights_set_ = true;  // the checkpoint's weights replace the initial ones
  BRAINSEM_CHECK(s.step <= cfg_.steps, "checkpoint ", path, " is at step ", s.step, ", beyond --steps ", cfg_.steps);

  std::map<std::string, torch::Tensor> stored(s.model.begin(), s.model.end());
  size_t expected = 0;
  torch::NoGradGuard no_grad;
  auto restore = [&](const std::string& name, torch::Tensor& target) {
    ++expected;
    auto it = stored.find(name);
    BRAINSEM_CHECK(it != stored.end(), "checkpoint ", path, " has no weights for '", name, "' of this model");
    BRAINSEM_CHECK(it->second.sizes() == target.sizes(), "checkpoint ", path, ": '", name, "' has shape ",
                   it->second.sizes(), " but the model's is ", target.sizes());
    target.copy_(it->second);
  };
  for (auto& item : encoder_->named_parameters()) restore(item.key(), item.value());
  for (auto& item : encoder_->named_buffers()) restore(item.key(), item.value());
  BRAINSEM_CHECK(expected == stored.size(), "checkpoint ", path, " holds ", stored.size(),
                 " model tensors; this model has ", expected);

  const auto params = encoder_->parameters();
  BRAINSEM_CHECK(s.best.empty() || s.best.size() == params.size(), "checkpoint ", path, " holds ", s.best.size(),
                 " best-step tensors for ", params.size(), " parameters");
  for (size_t i = 0; i < s.best.size(); ++i)
    BRAINSEM_CHECK(s.best[i].sizes() == params[i].sizes(), "checkpoint ", path, ": best-step tensor ", i, " has shape ",
                   s.best[i].sizes(), ", expected ", params[i].sizes());
  best_params_.clear();
  for (const auto& p : s.best) best_params_.push_back(p.to(target_.device));

  BRAINSEM_CHECK(s.log_scale.defined() == log_scale_.defined(), "checkpoint ", path,
                 s.log_scale.defined() ? " has" : " lacks", " a learnable temperature, unlike this configuration");
  if (log_scale_.defined()) log_scale_.copy_(s.log_scale);

  const auto opt_params = optimizer_params(*optimizer_);
  BRAINSEM_CHECK(s.adam.size() == opt_params.size(), "checkpoint ", path, " holds optimiser state for ", s.adam.size(),
                 " parameters; this model has ", opt_params.size());
  auto& state = optimizer_->state();
  state.clear();
  for (size_t i = 0; i < opt_params.size(); ++i) {
    if (!s.adam[i]) continue;
    BRAINSEM_CHECK(s.adam[i]->exp_avg.sizes() == opt_params[i].sizes(), "checkpoint ", path, ": optimiser state ", i,
                   " has shape ", s.adam[i]->exp_avg.sizes(), ", expected ", opt_params[i].sizes());
    auto st = std::make_unique<torch::optim::AdamWParamState>();
    st->step(s.adam[i]->step);
    st->exp_avg(s.adam[i]->exp_avg.to(target_.device));
    st->exp_avg_sq(s.adam[i]->exp_avg_sq.to(target_.device));
    state[adamw_state_key(state, opt_params[i])] = std::move(st);
  }
  step_ = s.step;
  best_step_ = s.best_step;
  best_val_ = s.best_val;  // read_checkpoint checked every value finite
}

void Trainer::check_same_config(const fs::path& path, const json& stored) const {
  json mine;
  to_json(mine, cfg_);
  mine = resumable_config(mine);
  json theirs;
  try {
    theirs = resumable_config(stored);
  } catch (const json::exception& e) {
    fail("checkpoint ", path, " holds an unreadable configuration (", e.what(), ")");
  }
  BRAINSEM_CHECK(mine == theirs, "checkpoint ", path,
                 " was written with a different configuration; resume with the "
                 "same options (differences: ",
                 json::diff(theirs, mine).dump(), ")");
}

void Trainer::load_legacy_checkpoint(const fs::path& path) {
  torch::serialize::InputArchive root, model_ar, opt_ar, best_ar;
  try {
    root.load_from(path.string());
  } catch (const c10::Error& e) {
    fail("cannot read checkpoint ", path, ": not a BrainSem checkpoint or corrupt");
  }
  c10::IValue cfg_value;
  root.read("config", cfg_value);
  json stored;
  try {
    stored = json::parse(cfg_value.toStringRef());
  } catch (const json::exception& e) {
    fail("checkpoint ", path, " holds an unreadable configuration (", e.what(), ")");
  }
  check_same_config(path, stored);
  root.read("model", model_ar);
  root.read("optimizer", opt_ar);
  encoder_->load(model_ar);
  optimizer_->load(opt_ar);
  // A fresh tensor per key: reading into a defined tensor keeps that tensor's dtype, so reusing
  // one made the float64 best_val come back as the int64 bit pattern of step.
  auto read = [&](const char* key) {
    torch::Tensor t;
    root.read(key, t);
    return t;
  };
  step_ = read("step").item<int64_t>();
  best_step_ = read("best_step").item<int64_t>();
  best_val_ = read("best_val").item<double>();
  if (log_scale_.defined()) {
    torch::NoGradGuard g;
    log_scale_.copy_(read("log_scale"));
  }
  root.read("best", best_ar);
  best_params_.clear();
  for (size_t i = 0;; ++i) {
    torch::Tensor p;
    if (!best_ar.try_read(std::to_string(i), p)) break;
    best_params_.push_back(p);
  }
  BRAINSEM_CHECK(step_ <= cfg_.steps, "checkpoint ", path, " is at step ", step_, ", beyond --steps ", cfg_.steps);
}

void Trainer::check_loaded_state_is_finite(const fs::path& path) const {
  // Non-finite weights would make every similarity NaN and every score meaningless.
  auto finite = [](const torch::Tensor& p) { return torch::isfinite(p).all().item<bool>(); };
  for (const auto& item : encoder_->named_parameters())
    BRAINSEM_CHECK(finite(item.value()), "checkpoint ", path, " holds non-finite values in parameter ", item.key(),
                   "; the run diverged or the file is corrupt");
  for (const auto& p : best_params_)
    BRAINSEM_CHECK(finite(p), "checkpoint ", path,
                   " holds non-finite values in its best-step weights; the file is corrupt");
  BRAINSEM_CHECK(std::isfinite(best_val_), "checkpoint ", path,
                 " holds a non-finite best validation score; the file is corrupt");
  if (log_scale_.defined())
    BRAINSEM_CHECK(finite(log_scale_), "checkpoint ", path, " holds a non-finite temperature; the file is corrupt");
}

}  // namespace brainsem::train
