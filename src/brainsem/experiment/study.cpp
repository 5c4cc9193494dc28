#include "brainsem/experiment/study.h"

#include <chrono>
#include <map>
#include <set>

#include "brainsem/core/atomic_file.h"
#include "brainsem/core/error.h"
#include "brainsem/data/class_embeddings.h"
#include "brainsem/eval/ranks.h"
#include "brainsem/experiment/run_dir.h"
#include "brainsem/train/checkpoint.h"

using nlohmann::json;
namespace fs = std::filesystem;

namespace brainsem::experiment {

json StudyInputs::to_json() const {
  return json{{"subject", subject.string()},
              {"stimuli", stimuli.string()},
              {"library", library.string()},
              {"library_test", library_test.string()},
              {"truth", truth.string()},
              {"subject_index", subject_index},
              {"class_embeddings", class_embeddings.string()},
              {"text_prototypes", text_prototypes.string()},
              {"rois", rois}};
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
  s.rois = j.value("rois", std::vector<std::string>{});
  return s;
}

LoadedStudy load_study(const StudyInputs& inputs, data::Normalize normalize) {
  LoadedStudy s;
  s.inputs = inputs;
  BRAINSEM_CHECK(!inputs.subject.empty(), "no subject given (--subject FILE)");
  BRAINSEM_CHECK(inputs.stimuli.empty() != inputs.class_embeddings.empty(),
                 inputs.stimuli.empty()
                     ? "no targets given: pass --stimuli FILE (image features) or --class-embeddings FILE"
                     : "give either --stimuli or --class-embeddings, not both");
  data::LoadOptions load;
  load.normalize = normalize;
  load.rois = inputs.rois;
  s.subject = data::load_subject(inputs.subject, load);
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
  BRAINSEM_CHECK(s.test_classes.size() >= 2, inputs.subject.string(),
                 ": zero-shot needs at least 2 test classes, found ", s.test_classes.size(),
                 "; give `brainsem data import` a --split file (train or test per sample) with the test classes "
                 "held out, or cross-validate over all classes with `brainsem cv`");
  std::set<std::string> train_classes(s.subject.train_classes.begin(), s.subject.train_classes.end());
  for (const auto& c : s.test_classes)
    BRAINSEM_CHECK(!train_classes.count(c), inputs.subject.string(), ": class ", c,
                   " is both a training and a test class; zero-shot needs disjoint classes");
  // Every stimulus must have a feature (fail now, not after training).
  s.stimuli.rows_of_names(s.subject.train_names, "stimulus store " + inputs.stimuli.string() + " (training images)");
  s.stimuli.rows_of_names(s.subject.test_names, "stimulus store " + inputs.stimuli.string() + " (test images)");
  return s;
}

LabelledFeatures test_library(const LoadedStudy& s) {
  BRAINSEM_CHECK(s.library_test.has_value(), "the test-class library is needed here; pass --library-test FILE");
  std::vector<int64_t> rows;
  LabelledFeatures out;
  std::map<std::string, int64_t> index;
  for (size_t c = 0; c < s.test_classes.size(); ++c) index[s.test_classes[c]] = static_cast<int64_t>(c);
  for (int64_t i = 0; i < s.library_test->size(); ++i) {
    auto it = index.find(s.library_test->classes[i]);
    if (it == index.end()) continue;
    rows.push_back(i);
    out.label.push_back(it->second);
  }
  std::set<int64_t> covered(out.label.begin(), out.label.end());
  BRAINSEM_CHECK(covered.size() == s.test_classes.size(), "test library ", s.inputs.library_test.string(), " covers ",
                 covered.size(), " of ", s.test_classes.size(), " test classes; every test class needs images");
  out.features = s.library_test->features.index_select(0, torch::tensor(rows, torch::kInt64));
  return out;
}

std::vector<PrototypeSet> test_prototypes(const LoadedStudy& s) {
  std::vector<PrototypeSet> out;
  auto rows = s.stimuli.rows_of_names(s.subject.test_names, "stimulus store");
  auto feats = s.stimuli.features.index_select(0, torch::tensor(rows, torch::kInt64));
  out.push_back({"stimulus", eval::class_prototypes(feats, s.test_truth, static_cast<int64_t>(s.test_classes.size()))});
  if (s.library_test) {
    const auto lib = test_library(s);
    out.push_back(
        {"library", eval::class_prototypes(lib.features, lib.label, static_cast<int64_t>(s.test_classes.size()))});
  }
  if (!s.inputs.text_prototypes.empty()) {
    // CLIP text prototypes of the test classes (`brainsem embed-text`), in the joint CLIP space.
    auto table = data::read_class_embeddings(s.inputs.text_prototypes);
    auto feats = table.rows_for(s.test_classes, "text prototypes " + s.inputs.text_prototypes.string());
    BRAINSEM_CHECK(feats.size(1) == out[0].features.size(1), "text prototypes ", s.inputs.text_prototypes.string(),
                   " have ", feats.size(1), " dimensions but the image features have ", out[0].features.size(1),
                   "; use the text tower of the same CLIP model");
    out.push_back({"text", torch::nn::functional::normalize(feats.to(torch::kFloat32),
                                                            torch::nn::functional::NormalizeFuncOptions().dim(1))});
  }
  return out;
}

json MethodScore::to_json() const {
  json j{{"method", method},
         {"prototype", prototype},
         {"n", n},
         {"classes", classes},
         {"top1", top1},
         {"top5", top5},
         {"mean_rank", mean_rank},
         {"chance_top1", chance_top1},
         {"chance_top5", chance_top5},
         {"p_top1", p_top1},
         {"p_top5", p_top5},
         {"ci_top1", {ci_top1.lo, ci_top1.hi}},
         {"ci_top5", {ci_top5.lo, ci_top5.hi}},
         {"ranks", ranks}};
  if (!details.is_null()) j["details"] = details;
  if (!note.empty()) j["note"] = note;
  return j;
}

MethodScore MethodScore::from_json(const json& s) {
  MethodScore m;
  m.method = s.at("method");
  m.prototype = s.at("prototype");
  m.n = s.at("n");
  m.classes = s.at("classes");
  m.top1 = s.at("top1");
  m.top5 = s.at("top5");
  m.mean_rank = s.at("mean_rank");
  m.chance_top1 = s.at("chance_top1");
  m.chance_top5 = s.at("chance_top5");
  m.p_top1 = s.at("p_top1");
  m.p_top5 = s.at("p_top5");
  m.ci_top1 = {m.top1, s.at("ci_top1").at(0).get<double>(), s.at("ci_top1").at(1).get<double>(), 0.95};
  m.ci_top5 = {m.top5, s.at("ci_top5").at(0).get<double>(), s.at("ci_top5").at(1).get<double>(), 0.95};
  if (s.contains("ranks")) m.ranks = s.at("ranks").get<std::vector<int64_t>>();
  if (s.contains("details")) m.details = s.at("details");
  if (s.contains("note")) m.note = s.at("note");
  return m;
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

std::vector<MethodScore> score_prediction(const std::string& method, const torch::Tensor& predicted,
                                          const LoadedStudy& s, uint64_t seed) {
  std::vector<MethodScore> out;
  for (const auto& p : test_prototypes(s)) {
    auto z = eval::zero_shot(predicted, p.features, s.test_truth);
    out.push_back(score_similarity(method, p.kind, z.similarity, s.test_truth, seed));
  }
  return out;
}

json BrainSemRun::Selection::to_json() const {
  return json{{"val_classes", val_classes},
              {"chosen_steps", chosen_steps},
              {"retrained_on_all", retrained_on_all},
              {"trained_classes", trained_classes},
              {"training_classes", training_classes}};
}

std::string BrainSemRun::Selection::summary() const {
  if (val_classes == 0) return "";
  const std::string chosen = "step " + std::to_string(chosen_steps) + " chosen on " + std::to_string(val_classes) +
                             " held-out training classes; ";
  if (retrained_on_all && chosen_steps == 0)  // only a ridge start validates step 0
    return chosen + "the final model is the ridge start itself, refitted on all " + std::to_string(trained_classes) +
           " training classes (no fine-tuning)";
  if (retrained_on_all)
    return chosen + "the final model was retrained from scratch on all " + std::to_string(trained_classes) +
           " training classes for " + std::to_string(chosen_steps) + " steps";
  return chosen + "the final model was trained on " + std::to_string(trained_classes) + " of " +
         std::to_string(training_classes) + " training classes (--retrain-all retrains on all of them)";
}

BrainSemRun train_brainsem(const train::TrainConfig& cfg, const LoadedStudy& study, const fs::path& run_dir,
                           bool resume, const std::string& method, uint64_t seed, core::ProcessGroup* group) {
  BRAINSEM_CHECK(!cfg.library || study.library,
                 "the semantic library is on (V) but no library feature store was given; "
                 "pass --library FILE or train with --no-library");
  train::validate(cfg);
  auto data = train::make_training_data(study.subject, study.stimuli, cfg.library ? &*study.library : nullptr);
  BrainSemRun out;
  out.config = cfg;
  out.config.encoder.out_dim = data.sample_feature.size(1);  // E, set by the features (as the trainer does)
  out.selection.val_classes = cfg.val_classes;
  out.selection.training_classes = data.num_classes();
  const fs::path write_dir = group == nullptr || group->rank() == 0 ? run_dir : fs::path();  // one writer
  auto record_config = [&] {
    if (write_dir.empty()) return;
    write_run_config(write_dir, out.config);
  };
  auto t0 = std::chrono::steady_clock::now();
  train::TrainConfig final_cfg = cfg;
  // Choose the step on held-out classes, then retrain on all (with val_classes 0 there is no choice).
  const bool select_then_retrain = cfg.retrain_all && cfg.val_classes > 0;
  if (select_then_retrain) {
    // Selection run: the held-out classes choose the step; its weights are discarded.
    train::TrainConfig select_cfg = cfg;
    select_cfg.retrain_all = false;
    const fs::path select_dir = run_dir.empty() ? fs::path() : run_dir / "selection";
    train::Trainer selector(select_cfg, data);
    selector.distribute(group);
    out.config.steps = selector.config().steps;
    record_config();
    if (resume) selector.load_checkpoint(train::checkpoint_in(select_dir));
    selector.run(write_dir.empty() ? fs::path() : select_dir);
    out.selection.chosen_steps = selector.best_step();
    // The final run: every class (retrain_all holds nothing out), for exactly the chosen steps.
    final_cfg.steps = selector.best_step();
    final_cfg.epochs = 0;
  }
  train::Trainer trainer(final_cfg, data);
  trainer.distribute(group);
  if (!select_then_retrain) {
    out.config.steps = trainer.config().steps;
    record_config();
  }
  if (!select_then_retrain) {
    if (resume) trainer.load_checkpoint(train::checkpoint_in(run_dir));
  } else if (resume && train::has_checkpoint(run_dir)) {
    // A longer selection run may choose fewer steps than the final model already has: then the
    // final model starts again from scratch (a resumed run equals an uninterrupted one only forward).
    if (train::Trainer::checkpoint_step(train::checkpoint_in(run_dir)) <= final_cfg.steps)
      trainer.load_checkpoint(train::checkpoint_in(run_dir));
  }
  trainer.run(write_dir);
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  out.test_embedding = trainer.embed(study.subject.test_x);
  out.scores = score_prediction(method, out.test_embedding, study, seed);
  out.steps = trainer.step();
  if (select_then_retrain) {
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

TrainedRun open_run(const fs::path& dir, const StudyInputs& given, bool trust_legacy_checkpoint) {
  BRAINSEM_CHECK(fs::exists(dir / kRunConfigFile) && fs::exists(dir / kRunInputsFile) && train::has_checkpoint(dir),
                 dir, " is not a finished run directory (needs ", kRunConfigFile, ", ", kRunInputsFile, " and ",
                 train::kCheckpointFile, " from `brainsem train`)");
  TrainedRun run;
  run.config = read_run_config(dir);
  auto inputs = read_run_inputs(dir);
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
  run.data = std::make_unique<train::TrainingData>(train::make_training_data(
      run.study.subject, run.study.stimuli, run.config.library ? &*run.study.library : nullptr));
  run.trainer = std::make_unique<train::Trainer>(run.config, *run.data);
  run.trainer->load_checkpoint(train::checkpoint_in(dir), trust_legacy_checkpoint);
  return run;
}

}  // namespace brainsem::experiment
