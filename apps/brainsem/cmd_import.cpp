// `brainsem data import --x X.npy --rois rois.txt --classes classes.txt [--stimuli names.txt]
// [--split split.txt] --out dataset.safetensors`: a generic dataset from plain files, in the
// subject safetensors format every training/evaluation command reads (docs/generic_data.md).
#include <cstdio>
#include <memory>
#include <string>

#include "brainsem/core/atomic_file.h"
#include "brainsem/data/dataset_import.h"
#include "command.h"

namespace brainsem::app {
namespace {

struct ImportArgs {
  std::string x, rois, classes, stimuli, split, out;
  bool force = false;
  CommonOptions common;
};

CommandRegistration reg(205, [](CLI::App& root) {
  auto a = std::make_shared<ImportArgs>();
  auto* cmd = data_group(root)->add_subcommand(
      "import", "Build a dataset (subject safetensors) from a samples x voxels .npy, ROI and class label files");
  cmd->footer(
      "Every training/evaluation command accepts the result wherever it accepts a GOD subject.\n"
      "Without --split every sample is a training sample (use it with `brainsem cv`).\n"
      "Example: brainsem data import --x betas.npy --rois rois.txt --classes classes.txt --out mydata.safetensors");
  cmd->add_option("--x", a->x, "Samples x voxels matrix (.npy, float32/float64, C order)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--rois", a->rois, "Text file: the ROI name of each voxel column, one per line")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--classes", a->classes, "Text file: the class name of each sample row, one per line")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--stimuli", a->stimuli, "Text file: the stimulus name of each sample row (default sample<row>)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--split", a->split, "Text file: 'train' or 'test' for each sample row (default: all train)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--out", a->out, "Output .safetensors (written atomically; refused if it exists, unless --force)")
      ->required();
  cmd->add_flag("--force", a->force, "Overwrite an existing --out");
  add_common_options(*cmd, a->common);
  cmd->callback([a] {
    apply_common_options(a->common);
    core::check_output_file(a->out, {a->x, a->rois, a->classes, a->stimuli, a->split}, a->force);
    data::ImportInputs in{a->x, a->rois, a->classes, a->stimuli, a->split};
    auto s = data::import_dataset_file(in, a->out);
    std::printf("imported %lld training + %lld test samples, %zu ROI tokens (P = %lld):", (long long)s.train_x.size(0),
                (long long)s.test_x.size(0), s.roi_names.size(), (long long)s.width());
    for (size_t r = 0; r < s.roi_names.size(); ++r)
      std::printf(" %s=%lld", s.roi_names[r].c_str(), (long long)s.roi_sizes[r]);
    std::printf("\nwrote %s\n", a->out.c_str());
  });
});

}  // namespace
}  // namespace brainsem::app
