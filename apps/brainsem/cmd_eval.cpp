// `brainsem eval`: score a trained run, or an ensemble of runs of one study, (and optionally the
// baselines) on the test set.
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "brainsem/core/atomic_file.h"
#include "brainsem/core/error.h"
#include "brainsem/experiment/ensemble.h"
#include "brainsem/experiment/run_dir.h"
#include "brainsem/experiment/score_context.h"
#include "brainsem/experiment/baselines.h"
#include "brainsem/experiment/peer_protocols.h"
#include "brainsem/experiment/study.h"
#include "brainsem/report/results_table.h"
#include "brainsem/train/checkpoint.h"
#include "brainsem/train/trainer.h"
#include "command.h"
#include "study_options.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace brainsem::app {
namespace {

struct Options {
  CommonOptions common;
  StudyOptions study;
  std::vector<std::string> runs;
  std::string json_out;
  bool baselines = false, trust_checkpoint = false;
  experiment::ProtocolOptions protocols;
};

// Opens a run directory, storing a trusted legacy checkpoint.pt in the safe format on the way, so
// no later command needs to trust it again.
experiment::TrainedRun open_converted(const fs::path& dir, const Options& o) {
  auto run = experiment::open_run(dir, o.study.inputs(), o.trust_checkpoint);
  if (!fs::exists(dir / train::kCheckpointFile)) {
    run.trainer->save_checkpoint(dir / train::kCheckpointFile);
    std::printf("converted %s to %s\n", (dir / train::kLegacyCheckpointFile).c_str(),
                (dir / train::kCheckpointFile).c_str());
  }
  return run;
}

void run(Options& o) {
  apply_common_options(o.common);
  const std::vector<fs::path> dirs(o.runs.begin(), o.runs.end());
  const bool ensemble = dirs.size() > 1;
  BRAINSEM_CHECK(!ensemble || !o.json_out.empty(), "eval of ", dirs.size(),
                 " runs (an ensemble) needs --json FILE: no single run directory owns the ensemble's results");
  for (size_t i = 0; i < dirs.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      BRAINSEM_CHECK(!fs::equivalent(dirs[i], dirs[j]), "--run names ", dirs[i],
                     " twice; each member of an ensemble counts once, so name each run once");
  const fs::path& dir = dirs.front();
  fs::path dest = o.json_out.empty() ? dir / "eval.json" : fs::path(o.json_out);
  // A previous eval.json may be rewritten; the runs' own files and the study's inputs never.
  std::vector<fs::path> protected_files;
  for (const auto& d : dirs)
    for (const auto& f : {d / train::kCheckpointFile, d / train::kLegacyCheckpointFile, d / experiment::kRunConfigFile,
                          d / experiment::kRunInputsFile, d / experiment::kRunResultsFile, d / "train_log.jsonl"})
      protected_files.push_back(f);
  auto run = open_converted(dir, o);
  const auto& study = run.study;
  const auto& cfg = run.config;
  auto& trainer = *run.trainer;
  const auto& in = study.inputs;
  for (const auto& f :
       {in.subject, in.stimuli, in.library, in.library_test, in.truth, in.class_embeddings, in.text_prototypes})
    protected_files.push_back(f);
  core::check_output_file(dest, protected_files, /*force=*/true, "--json");
  std::vector<torch::Tensor> predictions{trainer.embed(study.subject.test_x)};  // each [N_test, E]
  auto member_record = [](const fs::path& d, const train::Trainer& t) {
    return json{{"run", d.string()}, {"step", t.step()}, {"best_step", t.best_step()}};
  };
  json members = json::array();
  members.push_back(member_record(dir, trainer));
  for (size_t i = 1; i < dirs.size(); ++i) {
    // One member at a time: its study and weights are freed before the next is opened.
    auto member = open_converted(dirs[i], o);
    experiment::check_same_test_set(study, member.study, dir.string(), dirs[i].string());
    predictions.push_back(member.trainer->embed(member.study.subject.test_x));
    members.push_back(member_record(dirs[i], *member.trainer));
  }
  const std::string method = ensemble ? "brainsem-ensemble" : "brainsem";
  auto embedding = ensemble ? experiment::ensemble_embedding(predictions) : predictions.front();  // [N_test, E]
  auto scores = experiment::score_prediction(method, embedding, study, cfg.seed);
  auto context = experiment::score_context(method, embedding, study, cfg.seed);
  if (o.baselines)
    for (auto& m : experiment::run_baselines(study, cfg.seed, o.study.ridge_config(cfg.ridge_targets)))
      scores.push_back(m);
  // An ensemble's record names every member; a single run's keeps its flat form.
  json out = ensemble ? json{{"runs", members}, {"combination", "mean of the runs' unit-length test predictions"}}
                      : members.front();
  out["scores"] = json::array();
  for (const auto& m : scores) out["scores"].push_back(m.to_json());
  out["score_context"] = context.to_json();
  std::vector<eval::ProtocolScore> protocol_scores;
  if (!o.protocols.protocols.empty()) {
    auto po = o.protocols;
    po.seed = cfg.seed;
    protocol_scores = experiment::run_protocols(embedding, study, po);
    out["protocols"] = json::array();
    for (const auto& p : protocol_scores) out["protocols"].push_back(p.to_json());
  }
  core::write_text_atomically(dest, out.dump(2) + "\n");
  if (ensemble)
    std::printf("brainsem-ensemble: the mean of %zu runs' unit-length test predictions (--run)\n", dirs.size());
  std::printf("%s", report::format_subject_scores(scores).c_str());
  std::printf("%s", context.text().c_str());
  if (!protocol_scores.empty())
    std::printf("\nPeer protocols (BrainSem; docs/protocols.md):\n%s",
                experiment::format_protocol_table(protocol_scores).c_str());
  std::printf("wrote %s\n", dest.c_str());
}

CommandRegistration reg(40, [](CLI::App& root) {
  auto o = std::make_shared<Options>();
  auto* cmd = root.add_subcommand(
      "eval",
      "Zero-shot top-1/top-5 of a trained run, or of an ensemble of runs, with p-values and bootstrap intervals");
  cmd->footer(
      "Input files default to those recorded in RUN/inputs.json.\n"
      "Also reported: a label-permutation null of BrainSem's top-1/top-5 (10000 shuffles of the test labels) and,\n"
      "when the subject file holds the test trials (GOD BData), the split-half noise ceiling: how often half of\n"
      "each test image's repeats identifies it among the test images from the other half (a brain-side\n"
      "reliability on the same 1-of-N scale, not a bound on every decoder; docs/statistics.md).");
  cmd->add_option(
         "--run", o->runs,
         "Run directory written by `brainsem train`; several (comma-separated or repeated) score their "
         "ensemble, method brainsem-ensemble: the mean of each run's unit-length test predictions (runs of "
         "one subject and setup, e.g. other --seed values; needs --json). Baselines and seeds follow the first")
      ->required()
      ->delimiter(',')
      ->check(CLI::ExistingDirectory);
  add_study_options(*cmd, o->study, /*required=*/false);
  cmd->add_flag("--baselines", o->baselines, "Also score ridge, nearest class mean and (with a truth file) the oracle");
  cmd->add_option("--json", o->json_out,
                  "Where to write the JSON results (default RUN/eval.json; required with several runs)");
  cmd->add_flag("--trust-checkpoint", o->trust_checkpoint,
                "Read a legacy RUN/checkpoint.pt (TorchScript, written by earlier versions; loading it can run code "
                "inside the file) and convert it to checkpoint.safetensors. Only for files you trust");
  auto* pg = cmd->add_option_group("protocols", "Peers' evaluation protocols (docs/protocols.md)");
  pg->add_option("--protocol", o->protocols.protocols,
                 "Also score in these protocols: nway (NICE/ATM k-way with random distractors), retrieval (MindEye "
                 "forward/backward among random subsets), pairwise (Kamitani-lab pairwise identification), bravl "
                 "(BraVL: an RBF SVC with Platt probabilities trained on the test-class library images; needs "
                 "--library-test)")
      ->delimiter(',')
      ->check(CLI::IsMember(experiment::protocol_names()));
  pg->add_option("--ways", o->protocols.ways, "nway: the k values (those above the number of test classes are skipped)")
      ->delimiter(',')
      ->capture_default_str();
  pg->add_option("--repeats", o->protocols.repeats, "nway: distractor draws per test item")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  pg->add_option("--subset", o->protocols.subset, "retrieval: test items per subset (MindEye: 300)")
      ->check(CLI::Range(int64_t{2}, int64_t{1} << 40))
      ->capture_default_str();
  pg->add_option("--loops", o->protocols.loops, "retrieval: number of random subsets (MindEye: 30)")
      ->check(CLI::Range(int64_t{2}, int64_t{1} << 40))
      ->capture_default_str();
  pg->add_option("--svc-gamma", o->protocols.svc.gamma,
                 "bravl: RBF kernel gamma; 0 = scikit-learn's 'scale', 1 / (E x variance of the training rows) "
                 "(BraVL's 1e-5 belongs to its own latent scale, not to unit-length features)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  pg->add_option("--svc-c", o->protocols.svc.c, "bravl: the SVC's C (scikit-learn's and BraVL's: 1)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  add_common_options(*cmd, o->common);
  add_device_options(*cmd, o->common);
  cmd->callback([o] { run(*o); });
});

}  // namespace
}  // namespace brainsem::app
