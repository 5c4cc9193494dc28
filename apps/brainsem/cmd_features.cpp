// `brainsem features import|merge|export`: CLIP (or any) image features from plain files into a
// feature store, the parts of an embed run joined into one, and a store back out as .npy +
// metadata.json (data/plain_files.h).
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "brainsem/core/atomic_file.h"
#include "brainsem/data/feature_store.h"
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

struct FeatureMergeArgs {
  std::vector<std::string> parts;
  std::string out;
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

  auto m = std::make_shared<FeatureMergeArgs>();
  auto* merge = group->add_subcommand("merge", "Join the parts of an embed run (embed --shard K/N) into one store");
  merge->footer(
      "The parts may be given in any order; every part 0..N-1 must be there once. The result is the store\n"
      "one `brainsem embed` process writes over the whole list, byte for byte. The parts are kept.\n"
      "Example (after `sbatch --array=0-7` ran `embed --shard $SLURM_ARRAY_TASK_ID/8 --out lib.safetensors`):\n"
      "  brainsem features merge --out lib.safetensors lib.part-*-of-8.safetensors");
  merge->add_option("parts", m->parts, "The part stores (OUT.part-K-of-N.safetensors)")
      ->required()
      ->check(CLI::ExistingFile);
  merge->add_option("--out", m->out, "The joined store (written atomically; refused if it exists, unless --force)")
      ->required();
  merge->add_flag("--force", m->force, "Overwrite an existing --out");
  add_common_options(*merge, m->common);
  merge->callback([m] {
    apply_common_options(m->common);
    core::check_output_file(m->out, {m->parts.begin(), m->parts.end()}, m->force);
    std::vector<data::FeatureStore> parts;
    for (const auto& p : m->parts) parts.push_back(data::FeatureStore::open(p));
    const auto joined = data::join_parts(parts, m->parts);
    joined.save(m->out);
    std::printf("joined %zu parts: %lld rows of dimension %lld, %zu skipped inputs -> %s\n", parts.size(),
                static_cast<long long>(joined.size()), static_cast<long long>(joined.dim()), joined.skipped.size(),
                m->out.c_str());
  });

  add_plain_export_command(*group, "export", "Write a feature store as features.npy plus metadata.json",
                           "Feature store (.safetensors)", {data::kFeatureStoreFormat});
});

}  // namespace
}  // namespace brainsem::app
