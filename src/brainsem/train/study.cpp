#include "brainsem/train/study.h"

#include <chrono>
#include <map>
#include <set>

#include "brainsem/core/atomic_file.h"
#include "brainsem/core/error.h"
#include "brainsem/data/class_embeddings.h"
#include "brainsem/data/synth.h"
#include "brainsem/eval/ranks.h"
#include "brainsem/eval/ridge.h"
#include "brainsem/train/checkpoint.h"

using nlohmann::json;
namespace fs = std::filesystem;

namespace brainsem::train {

json StudyInputs::to_json() const {
  return json{{"subject", subject.string()}, {"stimuli", stimuli.string()}, {"library", library.string()},
              {"library_test", library_test.string()}, {"truth", truth.string()}, {"subject_index", subject_index},
              {"class_embeddings", class_embeddings.string()},
              {"text_prototypes", text_prototypes.string()}};
}

StudyInputs StudyInputs::from_json(const json& j) {
  StudyInputs s;
  s.subject = j.value("subject", "");
  s.stimuli = j.value("stimuli", "");
  s.library = j.value("library", "");
  s.library_test = j.value("library_test", "");
  s.truth = j.value("truth", "");
  s.subject_index = j.value("subject_index", 0);
  s.text_prototypes = j.value("text_prototypes", "");
  s.class_embeddings = j.value("class_embeddings", "");
  return s;
}

LoadedStudy load_study(const StudyInputs& inputs, const std::string& normalize) {
  LoadedStudy s;
  s.inputs = inputs;
  BRAINSEM_CHECK(!inputs.subject.empty(), "no subject given (--subject FILE)");
  BRAINSEM_CHECK(inputs.stimuli.empty() != inputs.class_embeddings.empty(),
                 inputs.stimuli.empty() ? "no targets given: pass --stimuli FILE (image features) or --class-embeddings FILE"
                                        : "give either --stimuli or --class-embeddings, not both");
  s.subject = data::load_subject(inputs.subject, data::parse_normalize(normalize));
  if (!inputs.class_embeddings.empty()) {
    // Per-class targets: a store whose rows are the subject's stimuli, each with its class's vector.
    auto table = data::read_class_embeddings(inputs.class_embeddings);
    auto names = s.subject.train_names, classes = s.subject.train_classes;
    names.insert(names.end(), s.subject.test_names.begin(), s.subject.test_names.end());
    classes.insert(classes.end(), s.subject.test_classes.begin(), s.subject.test_classes.end());
    s.stimuli = data::class_embedding_stimuli(table, names, classes);
    if (inputs.library.empty()) {
      std::vector<std::string> train_classes;
      std::set<std::string> seen;
      for (const auto& c : s.subject.train_classes)
        if (seen.insert(c).second) train_classes.push_back(c);
      s.library = data::class_embedding_library(table, train_classes);
    }
  } else {
    s.stimuli = data::FeatureStore::open(inputs.stimuli);
  }
  if (!inputs.library.empty()) {
    s.library = data::FeatureStore::open(inputs.library);
    s.stimuli.check_compatible(*s.library, "stimulus store and library " + inputs.library.string());
  }
  if (!inputs.library_test.empty()) {
    s.library_test = data::FeatureStore::open(inputs.library_test);
    s.stimuli.check_compatible(*s.library_test, "stimulus store and test library " + inputs.library_test.string());
  }
  std::map<std::string, int64_t> index;
  for (const auto& c : s.subject.test_classes) {
    if (!index.count(c)) {
      index[c] = static_cast<int64_t>(s.test_classes.size());
      s.test_classes.push_back(c);
    }
    s.test_truth.push_back(index[c]);
  }
  BRAINSEM_CHECK(s.test_classes.size() >= 2, inputs.subject.string(), ": zero-shot needs at least 2 test classes, found ",
                 s.test_classes.size());
  std::set<std::string> train_classes(s.subject.train_classes.begin(), s.subject.train_classes.end());
  for (const auto& c : s.test_classes)
    BRAINSEM_CHECK(!train_classes.count(c), inputs.subject.string(), ": class ", c,
                   " is both a training and a test class; zero-shot needs disjoint classes");
  // Every stimulus must have a feature (fail now, not after training).
  s.stimuli.rows_of_names(s.subject.train_names, "stimulus store " + inputs.stimuli.string() + " (training images)");
  s.stimuli.rows_of_names(s.subject.test_names, "stimulus store " + inputs.stimuli.string() + " (test images)");
  return s;
}

std::vector<PrototypeSet> test_prototypes(const LoadedStudy& s) {
  std::vector<PrototypeSet> out;
  auto rows = s.stimuli.rows_of_names(s.subject.test_names, "stimulus store");
  auto feats = s.stimuli.features.index_select(0, torch::tensor(rows, torch::kInt64));
  out.push_back({"stimulus", eval::class_prototypes(feats, s.test_truth, static_cast<int64_t>(s.test_classes.size()))});
  if (s.library_test) {
    std::vector<int64_t> lib_rows, lib_class;
    std::map<std::string, int64_t> index;
    for (size_t c = 0; c < s.test_classes.size(); ++c) index[s.test_classes[c]] = static_cast<int64_t>(c);
    for (int64_t i = 0; i < s.library_test->size(); ++i) {
      auto it = index.find(s.library_test->classes[i]);
      if (it == index.end()) continue;
      lib_rows.push_back(i);
      lib_class.push_back(it->second);
    }
    std::set<int64_t> covered(lib_class.begin(), lib_class.end());
    BRAINSEM_CHECK(covered.size() == s.test_classes.size(), "test library ", s.inputs.library_test.string(), " covers ",
                   covered.size(), " of ", s.test_classes.size(), " test classes; every test class needs images");
    out.push_back({"library", eval::class_prototypes(s.library_test->features.index_select(0, torch::tensor(lib_rows, torch::kInt64)),
                                                     lib_class, static_cast<int64_t>(s.test_classes.size()))});
  }
  if (!s.inputs.text_prototypes.empty()) {
    // CLIP text prototypes of the test classes (`brainsem embed-text`), in the joint CLIP space.
    auto table = data::read_class_embeddings(s.inputs.text_prototypes);
    auto feats = table.rows_for(s.test_classes, "text prototypes " + s.inputs.text_prototypes.string());
    BRAINSEM_CHECK(feats.size(1) == out[0].features.size(1), "text prototypes ", s.inputs.text_prototypes.string(), " have ",
                   feats.size(1), " dimensions but the image features have ", out[0].features.size(1),
                   "; use the text tower of the same CLIP model");
    out.push_back({"text", torch::nn::functional::normalize(feats.to(torch::kFloat32),
                                                            torch::nn::functional::NormalizeFuncOptions().dim(1))});
  }
  return out;
}

json MethodScore::to_json() const {
  json j{{"method", method}, {"prototype", prototype}, {"n", n}, {"classes", classes}, {"top1", top1},
              {"top5", top5}, {"mean_rank", mean_rank}, {"chance_top1", chance_top1}, {"chance_top5", chance_top5},
              {"p_top1", p_top1}, {"p_top5", p_top5}, {"ci_top1", {ci_top1.lo, ci_top1.hi}},
              {"ci_top5", {ci_top5.lo, ci_top5.hi}}, {"ranks", ranks}};
  if (!details.is_null()) j["details"] = details;
  if (!note.empty()) j["note"] = note;
  return j;
}

MethodScore score_similarity(const std::string& method, const std::string& prototype, const torch::Tensor& similarity,
                             const std::vector<int64_t>& truth, uint64_t seed) {
  BRAINSEM_CHECK(similarity.dim() == 2 && static_cast<int64_t>(truth.size()) == similarity.size(0), method,
                 ": similarity ", similarity.sizes(), " needs one row per test item (", truth.size(), ")");
  MethodScore m;
  m.method = method;
  m.prototype = prototype;
  m.n = similarity.size(0);
  m.classes = similarity.size(1);
  m.ranks = eval::true_ranks(similarity, truth);
  std::vector<double> hit1, hit5;
  double rank_sum = 0;
  for (auto rank : m.ranks) {
    hit1.push_back(rank == 1);
    hit5.push_back(rank <= 5);
    rank_sum += static_cast<double>(rank);
  }
  auto t1 = torch::tensor(hit1, torch::kFloat64), t5 = torch::tensor(hit5, torch::kFloat64);
  m.top1 = t1.mean().item<double>();
  m.top5 = t5.mean().item<double>();
  m.mean_rank = rank_sum / m.n;
  m.chance_top1 = 1.0 / m.classes;
  m.chance_top5 = std::min(1.0, 5.0 / m.classes);
  m.p_top1 = eval::binomial_test(static_cast<int64_t>(t1.sum().item<double>() + 0.5), m.n, m.chance_top1).p_value;
  m.p_top5 = eval::binomial_test(static_cast<int64_t>(t5.sum().item<double>() + 0.5), m.n, m.chance_top5).p_value;
  m.ci_top1 = eval::bootstrap_mean_ci(t1, 10000, 0.95, seed);
  m.ci_top5 = eval::bootstrap_mean_ci(t5, 10000, 0.95, seed + 1);
  return m;
}

std::vector<MethodScore> score_prediction(const std::string& method, const torch::Tensor& predicted, const LoadedStudy& s,
                                          uint64_t seed) {
  std::vector<MethodScore> out;
  for (const auto& p : test_prototypes(s)) {
    auto z = eval::zero_shot(predicted, p.features, s.test_truth);
    out.push_back(score_similarity(method, p.kind, z.similarity, s.test_truth, seed));
  }
  return out;
}

RidgePrediction predict_ridge(const LoadedStudy& s, uint64_t seed, const eval::RidgeConfig& cfg) {
  auto x = eval::flatten_rois(s.subject.train_x, s.subject.roi_sizes);
  auto rows = s.stimuli.rows_of_names(s.subject.train_names, "stimulus store");
  auto y = s.stimuli.features.index_select(0, torch::tensor(rows, torch::kInt64)).to(torch::kFloat32);
  std::map<std::string, int64_t> index;
  std::vector<int64_t> cls;
  for (const auto& c : s.subject.train_classes) cls.push_back(index.emplace(c, static_cast<int64_t>(index.size())).first->second);
  auto cv = eval::fit_ridge_cv(x, y, cls, cfg, seed);
  RidgePrediction out;
  out.test_prediction = cv.model.predict(eval::flatten_rois(s.subject.test_x, s.subject.roi_sizes));
  out.alpha = cv.model.alpha;
  out.details = json{{"alpha", cv.model.alpha},
                     {"alpha_grid", cv.alphas},
                     {"alpha_cv_scores", cv.scores},
                     {"alpha_at_grid_edge", cv.at_grid_edge},
                     {"cv_folds", cv.folds},
                     {"cv_score", "mean rank accuracy of held-out training classes"},
                     {"normalized_targets", cfg.normalize_targets},
                     {"prediction", "centred (training target mean not added)"}};
  out.note = cv.describe();
  return out;
}

torch::Tensor predict_nearest_class_mean(const LoadedStudy& s) {
  auto x = eval::flatten_rois(s.subject.train_x, s.subject.roi_sizes).to(torch::kFloat64);
  auto mean = x.mean(0), sd = x.std(0).clamp_min(1e-8);
  auto z = (x - mean) / sd;
  auto rows = s.stimuli.rows_of_names(s.subject.train_names, "stimulus store");
  auto y = s.stimuli.features.index_select(0, torch::tensor(rows, torch::kInt64)).to(torch::kFloat32);
  std::map<std::string, int64_t> index;
  std::vector<int64_t> cls;
  for (const auto& c : s.subject.train_classes) cls.push_back(index.emplace(c, static_cast<int64_t>(index.size())).first->second);
  const int64_t c = static_cast<int64_t>(index.size());
  auto idx = torch::tensor(cls, torch::kInt64);
  auto counts = torch::zeros({c}, torch::kFloat64).index_add_(0, idx, torch::ones({x.size(0)}, torch::kFloat64));
  auto fmri_means = torch::zeros({c, z.size(1)}, torch::kFloat64).index_add_(0, idx, z) / counts.unsqueeze(1);
  auto feat_means = eval::class_prototypes(y, cls, c);
  auto t = (eval::flatten_rois(s.subject.test_x, s.subject.roi_sizes).to(torch::kFloat64) - mean) / sd;
  // Pearson correlation across voxels = cosine of row-centred patterns.
  auto centre = [](const torch::Tensor& m) {
    auto d = m - m.mean(1, true);
    return d / d.norm(2, 1, true).clamp_min(1e-12);
  };
  auto corr = centre(t).matmul(centre(fmri_means).t());  // [N_test, C]
  return feat_means.index_select(0, corr.argmax(1));
}

torch::Tensor oracle_similarity(const LoadedStudy& s) {
  BRAINSEM_CHECK(!s.inputs.truth.empty(), "the oracle needs the generator's truth.safetensors (synth --write-truth)");
  auto truth = data::read_synth_truth(s.inputs.truth);
  BRAINSEM_CHECK(s.inputs.subject_index >= 0 && s.inputs.subject_index < static_cast<int>(truth.subjects.size()),
                 "subject index ", s.inputs.subject_index, " is outside the truth's ", truth.subjects.size(), " subjects");
  const auto& st = truth.subjects[s.inputs.subject_index];
  // Raw averaged test responses, unnormalised: the truth describes raw voxels.
  auto raw = data::load_subject(s.inputs.subject, data::Normalize::none);
  auto observed = eval::flatten_rois(raw.test_x, raw.roi_sizes).to(torch::kFloat64);  // [N, V]
  BRAINSEM_CHECK(observed.size(1) == st.noise_sd.size(0), "truth and subject disagree on the voxel count (",
                 st.noise_sd.size(0), " vs ", observed.size(1), "); wrong --truth or subject index?");
  std::map<std::string, int64_t> stim_row;
  for (size_t i = 0; i < truth.stimuli.size(); ++i) stim_row[truth.stimuli[i].name] = static_cast<int64_t>(i);
  // Candidate c = the stimulus image of test class c (first test row of that class).
  std::vector<int64_t> cand_rows(s.test_classes.size(), -1), cand_class;
  for (size_t i = 0; i < s.test_truth.size(); ++i)
    if (cand_rows[s.test_truth[i]] < 0) {
      auto it = stim_row.find(raw.test_names[i]);
      BRAINSEM_CHECK(it != stim_row.end(), "test image ", raw.test_names[i], " is not in the truth");
      cand_rows[s.test_truth[i]] = it->second;
    }
  for (auto r : cand_rows) cand_class.push_back(truth.stimulus_class[r]);
  auto idx = torch::tensor(cand_rows, torch::kInt64);
  // A decoder can only know an image's semantics (its CLIP feature), never the image's own
  // low-level vector, so the oracle treats the low-level drive as noise: the mean response uses
  // the average low-level vector and its variance joins the noise. (Knowing the low-level
  // vectors too makes identification trivially perfect.)
  auto low = truth.lowlevel.to(torch::kFloat64);                                        // [S, L]
  auto low_mean = low.mean(0, true);                                                    // [1, L]
  auto low_cov = (low - low_mean).t().matmul(low - low_mean) / (low.size(0) - 1);       // [L, L]
  auto mu = truth.expected_response(s.inputs.subject_index, truth.stimulus_features.index_select(0, idx),
                                    low_mean.expand({idx.size(0), low.size(1)}).to(torch::kFloat32), cand_class)
                .to(torch::kFloat64);  // [C, V]
  auto w_low = st.w_low.to(torch::kFloat64);                                            // [V, L]
  auto low_var = st.low_gain.to(torch::kFloat64).pow(2) * (w_low.matmul(low_cov) * w_low).sum(1);  // [V]
  // Averaging R repeats shrinks the trial noise and the run shifts (one run per repeat), not the
  // image's low-level drive, which every repeat shares.
  const double repeats = truth.config.test_repeats;
  auto var = (st.noise_sd.to(torch::kFloat64).pow(2) + st.run_shift.to(torch::kFloat64).var(0)) / repeats + low_var;
  auto centred = observed;  // expected_response includes the voxel baselines
  // log N(x | mu_c, var) up to a constant: -sum_v (x_v - mu_cv)^2 / (2 var_v).
  auto w = 1.0 / var;
  auto xx = (centred.pow(2) * w).sum(1, true);             // [N, 1]
  auto mm = (mu.pow(2) * w).sum(1).unsqueeze(0);           // [1, C]
  auto xm = (centred * w).matmul(mu.t());                   // [N, C]
  return (-(xx - 2 * xm + mm) / 2).to(torch::kFloat32);
}

json BrainSemRun::Selection::to_json() const {
  return json{{"val_classes", val_classes}, {"chosen_steps", chosen_steps}, {"retrained_on_all", retrained_on_all},
              {"trained_classes", trained_classes}, {"training_classes", training_classes}};
}

std::string BrainSemRun::Selection::summary() const {
  if (val_classes == 0) return "";
  const std::string chosen = "step " + std::to_string(chosen_steps) + " chosen on " + std::to_string(val_classes) +
                             " held-out training classes; ";
  if (retrained_on_all)
    return chosen + "the final model was retrained from scratch on all " + std::to_string(trained_classes) +
           " training classes for " + std::to_string(chosen_steps) + " steps";
  return chosen + "the final model was trained on " + std::to_string(trained_classes) + " of " +
         std::to_string(training_classes) + " training classes (--retrain-all retrains on all of them)";
}

BrainSemRun train_brainsem(const TrainConfig& cfg, const LoadedStudy& study, const fs::path& run_dir, bool resume,
                           const std::string& method, uint64_t seed) {
  BRAINSEM_CHECK(!cfg.library || study.library, "the semantic library is on (V) but no library feature store was given; "
                 "pass --library FILE or train with --no-library");
  validate(cfg);
  auto data = make_training_data(study.subject, study.stimuli, cfg.library ? &*study.library : nullptr);
  BrainSemRun out;
  out.config = cfg;
  out.selection.val_classes = cfg.val_classes;
  out.selection.training_classes = data.num_classes();
  auto record_config = [&] {
    if (run_dir.empty()) return;
    fs::create_directories(run_dir);
    json j;
    to_json(j, out.config);
    core::write_text_atomically(run_dir / "config.json", j.dump(2) + "\n");
  };
  auto t0 = std::chrono::steady_clock::now();
  TrainConfig final_cfg = cfg;
  if (cfg.retrain_all) {
    // Selection run: the held-out classes choose the step; its weights are discarded.
    TrainConfig select_cfg = cfg;
    select_cfg.retrain_all = false;
    const fs::path select_dir = run_dir.empty() ? fs::path() : run_dir / "selection";
    Trainer selector(select_cfg, data);
    out.config.steps = selector.config().steps;
    record_config();
    if (resume) selector.load_checkpoint(checkpoint_in(select_dir));
    selector.run(select_dir);
    out.selection.chosen_steps = selector.best_step();
    // The final run: every class (retrain_all holds nothing out), for exactly the chosen steps.
    final_cfg.steps = selector.best_step();
    final_cfg.epochs = 0;
  }
  Trainer trainer(final_cfg, data);
  if (!cfg.retrain_all) {
    out.config.steps = trainer.config().steps;
    record_config();
  }
  if (!cfg.retrain_all) {
    if (resume) trainer.load_checkpoint(checkpoint_in(run_dir));
  } else if (resume && has_checkpoint(run_dir)) {
    // A longer selection run may choose fewer steps than the final model already has: then the
    // final model starts again from scratch (a resumed run equals an uninterrupted one only forward).
    if (Trainer::checkpoint_step(checkpoint_in(run_dir)) <= final_cfg.steps) trainer.load_checkpoint(checkpoint_in(run_dir));
  }
  trainer.run(run_dir);
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  out.test_embedding = trainer.embed(study.subject.test_x);
  out.scores = score_prediction(method, out.test_embedding, study, seed);
  out.steps = trainer.step();
  if (cfg.retrain_all) {
    out.best_step = out.selection.chosen_steps;
    out.selection.retrained_on_all = true;
    out.selection.trained_classes = data.num_classes();
  } else {
    out.best_step = trainer.best_step();
    out.selection.chosen_steps = trainer.best_step();
    out.selection.trained_classes = data.num_classes() - static_cast<int64_t>(trainer.val_classes().size());
  }
  out.parameters = model::count_parameters(*trainer.encoder());
  out.losses = trainer.losses();
  return out;
}

namespace {
bool is_unstarted_leftover(const fs::directory_entry& e) {
  const std::string name = e.path().filename().string();
  if (name == "config.json" || name == "inputs.json" || name == "train_log.jsonl") return true;
  return !name.empty() && name[0] == '.' && name.find(".tmp-") != std::string::npos;  // write_atomically's
}

// True when dir holds only unstarted leftovers (recursing into selection/).
bool only_leftovers(const fs::path& dir) {
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.is_directory() && e.path().filename() == "selection" && dir.filename() != "selection") {
      if (!only_leftovers(e.path())) return false;
    } else if (!e.is_regular_file() || !is_unstarted_leftover(e)) {
      return false;
    }
  }
  return true;
}
}  // namespace

RunDirState run_directory_state(const fs::path& dir) {
  if (!fs::exists(dir) || (fs::is_directory(dir) && fs::is_empty(dir))) return RunDirState::fresh;
  if (!fs::is_directory(dir)) return RunDirState::other;
  if (has_checkpoint(dir) || has_checkpoint(dir / "selection")) return RunDirState::started;
  return only_leftovers(dir) ? RunDirState::unstarted : RunDirState::other;
}

void clear_unstarted_run(const fs::path& dir) {
  BRAINSEM_CHECK(run_directory_state(dir) == RunDirState::unstarted, dir, " is not an unstarted run directory");
  for (const auto& sub : {dir / "selection", dir})
    if (fs::is_directory(sub))
      for (const auto& e : fs::directory_iterator(sub))
        if (e.is_regular_file() && is_unstarted_leftover(e)) fs::remove(e.path());
  std::error_code ec;
  fs::remove(dir / "selection", ec);  // only if now empty
}

TrainedRun open_run(const fs::path& dir, const StudyInputs& given, bool trust_legacy_checkpoint) {
  BRAINSEM_CHECK(fs::exists(dir / "config.json") && fs::exists(dir / "inputs.json") && has_checkpoint(dir), dir,
                 " is not a finished run directory (needs config.json, inputs.json and ", kCheckpointFile,
                 " from `brainsem train`)");
  TrainedRun run;
  try {
    from_json(json::parse(core::read_text_file(dir / "config.json")), run.config);
  } catch (const json::exception& e) {
    fail(dir / "config.json", " is not a valid training config: ", e.what());
  }
  auto inputs = StudyInputs::from_json(json::parse(core::read_text_file(dir / "inputs.json")));
  if (!given.subject.empty()) inputs.subject = given.subject;
  if (!given.stimuli.empty()) inputs.stimuli = given.stimuli;
  if (!given.library.empty()) inputs.library = given.library;
  if (!given.library_test.empty()) inputs.library_test = given.library_test;
  if (!given.truth.empty()) inputs.truth = given.truth;
  if (!given.text_prototypes.empty()) inputs.text_prototypes = given.text_prototypes;
  if (!given.class_embeddings.empty()) {
    inputs.class_embeddings = given.class_embeddings;
    inputs.stimuli.clear();
  } else if (!given.stimuli.empty()) {
    inputs.class_embeddings.clear();
  }
  run.study = load_study(inputs, run.config.normalize);
  // The library only shapes training batches; without it the weights still load.
  if (!run.study.library) run.config.library = false;
  run.data = std::make_unique<TrainingData>(
      make_training_data(run.study.subject, run.study.stimuli, run.config.library ? &*run.study.library : nullptr));
  run.trainer = std::make_unique<Trainer>(run.config, *run.data);
  run.trainer->load_checkpoint(checkpoint_in(dir), trust_legacy_checkpoint);
  return run;
}

std::vector<MethodScore> run_baselines(const LoadedStudy& study, uint64_t seed, const eval::RidgeConfig& ridge_config) {
  std::vector<MethodScore> out;
  auto ridge = predict_ridge(study, seed, ridge_config);
  for (auto& m : score_prediction("ridge", ridge.test_prediction, study, seed)) {
    m.details = ridge.details;
    m.note = ridge.note;
    out.push_back(m);
  }
  for (auto& m : score_prediction("nearest-class-mean", predict_nearest_class_mean(study), study, seed)) out.push_back(m);
  if (!study.inputs.truth.empty()) out.push_back(score_similarity("oracle", "stimulus", oracle_similarity(study), study.test_truth, seed));
  return out;
}

}  // namespace brainsem::train
