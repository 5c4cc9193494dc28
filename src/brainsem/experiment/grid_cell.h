#pragma once
// One training cell of a grid of runs (`brainsem ablate`, `brainsem roi`): a run directory
// (experiment/run_dir.h) that is trained, resumed from its checkpoint, or, once its results.json
// exists, reused without training. A grid can therefore be stopped and restarted at any point.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "brainsem/experiment/study.h"
#include "brainsem/train/train_config.h"

namespace brainsem::experiment {

// The inputs of subject `subject` (1-based) in a data directory as `brainsem synth` writes it:
// Subject<s>.h5 (or .safetensors), stimuli.safetensors, and library_train / library_test /
// truth .safetensors where present. `command` prefixes the error messages.
StudyInputs data_directory_inputs(const std::filesystem::path& data, int subject, const std::string& command);

// True once the cell in `dir` has its results (it is then reused, never trained again).
bool grid_cell_finished(const std::filesystem::path& dir);

struct CellScores {
  std::vector<int64_t> ranks;  // [N_test] rank of the true class
  double top1 = 0, top5 = 0;
  bool reused = false;  // read from an earlier results.json
};

// Trains (or resumes, or reuses) the cell in `dir` with `cfg` on `inputs`, and returns its BrainSem
// score with `prototype` prototypes. `study` loads the inputs on first use, so reused cells load
// nothing. A cell that was run with a different training config is refused. `position` (e.g.
// "[3/15]") starts the status line printed for the cell (silenced by --quiet).
CellScores run_grid_cell(const std::filesystem::path& dir, const train::TrainConfig& cfg, const StudyInputs& inputs,
                         const std::function<const LoadedStudy&()>& study, const std::string& prototype,
                         const std::string& command, const std::string& position);

}  // namespace brainsem::experiment
