#pragma once
// The input files of a one-subject study, shared by `train`, `eval` and `baseline`.
#include <CLI/CLI.hpp>

#include <filesystem>
#include <string>

#include "brainsem/experiment/study.h"

namespace brainsem::app {

struct StudyOptions {
  std::string subject, stimuli, library, library_test, truth, class_embeddings, text_prototypes;
  int subject_index = 0;
  bool ridge_raw_targets = false;  // ridge baseline: fit stored target rows as they are
  // `targets`: the run's TrainConfig::ridge_targets, so the baseline regresses onto what the ridge
  // start does.
  eval::RidgeConfig ridge_config(const std::string& targets) const {
    eval::RidgeConfig r;
    if (ridge_raw_targets) r.normalize_targets = false;
    r.targets = targets;
    return r;
  }
  experiment::StudyInputs inputs() const {
    experiment::StudyInputs s;
    // Absolute, so a run directory's inputs.json works from any working directory.
    auto abs = [](const std::string& p) { return p.empty() ? std::filesystem::path() : std::filesystem::absolute(p); };
    s.subject = abs(subject);
    s.stimuli = abs(stimuli);
    s.library = abs(library);
    s.library_test = abs(library_test);
    s.truth = abs(truth);
    s.class_embeddings = abs(class_embeddings);
    s.text_prototypes = abs(text_prototypes);
    s.subject_index = subject_index;
    return s;
  }
};

inline void add_study_options(CLI::App& cmd, StudyOptions& o, bool required = true) {
  auto* g = cmd.add_option_group("inputs", "Input files");
  auto* s =
      g->add_option("--subject", o.subject, "GOD Subject*.h5 (BData) or a `data export`/`data import` .safetensors")
          ->check(CLI::ExistingFile);
  auto* f = g->add_option("--stimuli", o.stimuli, "Feature store with every training and test stimulus image")
                ->check(CLI::ExistingFile);
  auto* e = g->add_option(
                 "--class-embeddings", o.class_embeddings,
                 "Class-embedding table instead of --stimuli: per-class targets and prototypes (docs/generic_data.md)")
                ->check(CLI::ExistingFile);
  f->excludes(e);
  if (required) {
    s->required();
  }
  g->add_option("--library", o.library, "Feature store of the semantic library (training classes only)")
      ->check(CLI::ExistingFile);
  g->add_option("--library-test", o.library_test,
                "Feature store of test-class library images (adds 'library' prototypes)")
      ->check(CLI::ExistingFile);
  g->add_option("--text-prototypes", o.text_prototypes,
                "Class-embedding table from `brainsem embed-text`: adds 'text' prototypes for the test classes")
      ->check(CLI::ExistingFile);
  g->add_option("--truth", o.truth, "Synthetic truth.safetensors (enables the oracle baseline)")
      ->check(CLI::ExistingFile);
  g->add_option("--subject-index", o.subject_index, "0-based subject number within --truth (Subject1 = 0)");
  cmd.add_flag("--ridge-raw-targets", o.ridge_raw_targets,
               "Ridge baseline: fit the stored target vectors as they are instead of L2-normalised rows "
               "(default: normalised; docs/method.md)");
}

}  // namespace brainsem::app
