// `brainsem features import|export`: CLIP (or any) image features from plain files into a feature
// store, and a store back out as .npy + metadata.json (data/plain_files.h).
#include <cstdio>
#include <memory>
#include <string>

#include "brainsem/core/atomic_file.h"
#include "brainsem/data/plain_files.h"
#include "command.h"
#include "plain_export_command.h"

namespace brainsem::app {
namespace {

struct FeatureImportArgs {
  std::string x, names, classes, encoder, preprocessing = "unknown", out;
  bool force = false;
  CommonOptions common;
};

CommandRegistration reg(150, [](CLI::App& root) {
  auto* group = command_group(root, "features",
                              "Import image features from .npy/CSV into a feature store, or export a store to .npy");

  auto a = std::make_shared<FeatureImportArgs>();
  auto* imp = group->add_subcommand("import", "Build a feature store (the format `embed` writes) from plain files");
  imp->footer(
      "Example: brainsem features import --x feats.npy --names images.txt --classes classes.txt \\\n"
      "           --encoder my-resnet50 --out stimuli.safetensors");
  imp->add_option("--x", a->x, "Features [N, E]: .npy (float), .csv, .tsv or .txt (one row per image)")
      ->required()
      ->check(CLI::ExistingFile);
  imp->add_option("--names", a->names, "Text file: the image (stimulus) name of each row, unique, one per line")
      ->required()
      ->check(CLI::ExistingFile);
  imp->add_option("--classes", a->classes, "Text file: the class of each row, one per line")
      ->required()
      ->check(CLI::ExistingFile);
  imp->add_option("--encoder", a->encoder,
                  "What produced the features (stores are only combined when their ids are equal)")
      ->required();
  imp->add_option("--preprocessing", a->preprocessing, "Image preprocessing id, compared like --encoder")
      ->capture_default_str();
  imp->add_option("--out", a->out, "Output .safetensors (written atomically; refused if it exists, unless --force)")
      ->required();
  imp->add_flag("--force", a->force, "Overwrite an existing --out");
  add_common_options(*imp, a->common);
  imp->callback([a] {
    apply_common_options(a->common);
    core::check_output_file(a->out, {a->x, a->names, a->classes}, a->force);
    auto store = data::import_features({a->x, a->names, a->classes, a->encoder, a->preprocessing});
    store.save(a->out);
    std::printf("imported %lld features of dimension %lld (%zu classes); wrote %s\n", (long long)store.size(),
                (long long)store.dim(), store.class_list().size(), a->out.c_str());
  });

  add_plain_export_command(*group, "export", "Write a feature store as features.npy plus metadata.json",
                           "Feature store (.safetensors)", {data::kFeatureStoreFormat});
});

}  // namespace
}  // namespace brainsem::app
