// `brainsem features import|export`: CLIP (or any) image features from plain files into a feature
// store, and a store back out as .npy + metadata.json (data/plain_files.h).
#include <cstdio>
#include <memory>
#include <string>

#include "brainsem/core/atomic_file.h"
#include "brainsem/data/plain_files.h"
#include "command.h"

namespace brainsem::app {
namespace {

struct FeatureImportArgs {
  std::string x, names, classes, encoder, preprocessing = "unknown", out;
  bool force = false;
  CommonOptions common;
};

struct FeatureExportArgs {
  std::string store, out;
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

  auto e = std::make_shared<FeatureExportArgs>();
  auto* exp = group->add_subcommand("export", "Write a feature store as features.npy plus metadata.json");
  exp->add_option("store", e->store, "Feature store (.safetensors)")->required()->check(CLI::ExistingFile);
  exp->add_option("--out", e->out, "Output directory (appears whole or not at all; refused if it exists)")->required();
  exp->add_flag("--force", e->force, "Replace --out if it is an earlier export");
  add_common_options(*exp, e->common);
  exp->callback([e] {
    apply_common_options(e->common);
    data::export_plain(e->store, e->out, {data::kFeatureStoreFormat}, e->force);
    std::printf("wrote %s/features.npy and %s/metadata.json\n", e->out.c_str(), e->out.c_str());
  });
});

}  // namespace
}  // namespace brainsem::app
