#pragma once
// `brainsem demo`: the whole study in one command on generated GOD-shaped data: the top of the
// pipeline (experiment/ trains and scores, analysis/ and report/ present).
//   OUT/data/                  the synthetic dataset (brainsem synth --write-truth)
//   OUT/runs/SubjectN/         one `brainsem train` run per subject (with baselines in results.json)
//   OUT/ablation/              the V/B ablation on Subject1 (brainsem ablate: one run per cell, ablation.json)
//   OUT/results.json, .csv     every score (kDemoResultsFormat); OUT/manifest.json: config, seeds, versions, timings
//   OUT/report.html            the self-contained report (brainsem report OUT)
#include <filesystem>

#include "brainsem/train/train_config.h"

namespace brainsem::pipeline {

inline constexpr const char* kDemoResultsFormat = "brainsem.demo_results";
inline constexpr int kDemoResultsVersion = 1;

struct DemoConfig {
  int subjects = 5;
  uint64_t seed = 0;            // data seed = seed + 1; training seed = seed
  int library_per_class = 100;  // synthetic semantic-library images per class
  bool ablation = true;         // V/B ablation on Subject1
  bool report = true;           // write report.html at the end
  train::TrainConfig train;     // the BrainSem configuration
};

// Runs everything into `out` (a new or empty directory) and prints the tables.
void run_demo(const std::filesystem::path& out, const DemoConfig& cfg);

}  // namespace brainsem::pipeline
