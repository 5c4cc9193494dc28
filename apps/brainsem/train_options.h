#pragma once
// Command-line options that build a TrainConfig, shared by `train`, `demo`, `ablate` and `cv`.
// Precedence: TrainConfig{} (or paper_config() with --paper) < --config FILE < individual flags.
#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

#include "brainsem/train/train_config.h"

namespace brainsem::app {

struct TrainOptions {
  std::string config_file;
  bool paper = false;
  bool no_library = false, no_virtual = false;
  train::TrainConfig flags;  // values of the individual flags (applied only when given)
  // One per bound flag: copies its value from `flags` into a config when it was given.
  std::vector<std::function<void(train::TrainConfig&)>> apply_given;
  CLI::App* cmd = nullptr;
};

void add_train_options(CLI::App& cmd, TrainOptions& o);
// Resolves the precedence above into the config to run.
train::TrainConfig resolve_train_config(const TrainOptions& o);

}  // namespace brainsem::app
