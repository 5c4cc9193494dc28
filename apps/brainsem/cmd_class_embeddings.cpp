// `brainsem class-embeddings import|export`: one vector per class (word vectors, CLIP text
// prototypes, mean image features) from plain files into a class-embedding table, and a table back
// out as .npy + metadata.json (data/plain_files.h).
#include <cstdio>
#include <memory>
#include <string>

#include "brainsem/core/atomic_file.h"
#include "brainsem/data/plain_files.h"
#include "command.h"
#include "plain_export_command.h"

namespace brainsem::app {
namespace {

struct TableImportArgs {
  std::string x, classes, encoder = "unknown", out;
  bool force = false;
  CommonOptions common;
};

CommandRegistration reg(151, [](CLI::App& root) {
  auto* group = command_group(root, "class-embeddings",
                              "Import class-embedding tables (targets per class) from .npy/CSV, or export one to .npy");

  auto a = std::make_shared<TableImportArgs>();
  auto* imp = group->add_subcommand(
      "import", "Build a class-embedding table (the format `embed-text` writes and --class-embeddings reads)");
  imp->footer(
      "Example: brainsem class-embeddings import --x word2vec.csv --classes classes.txt --encoder word2vec \\\n"
      "           --out targets.safetensors");
  imp->add_option("--x", a->x, "Embeddings [C, E]: .npy (float), .csv, .tsv or .txt (one row per class)")
      ->required()
      ->check(CLI::ExistingFile);
  imp->add_option("--classes", a->classes, "Text file: the class name of each row, unique, one per line")
      ->required()
      ->check(CLI::ExistingFile);
  imp->add_option("--encoder", a->encoder, "What produced the vectors (recorded in the table)")->capture_default_str();
  imp->add_option("--out", a->out, "Output .safetensors (written atomically; refused if it exists, unless --force)")
      ->required();
  imp->add_flag("--force", a->force, "Overwrite an existing --out");
  add_common_options(*imp, a->common);
  imp->callback([a] {
    apply_common_options(a->common);
    core::check_output_file(a->out, {a->x, a->classes}, a->force);
    auto table = data::import_class_embeddings({a->x, a->classes, a->encoder});
    data::write_class_embeddings(a->out, table);
    std::printf("imported %lld class embeddings of dimension %lld; wrote %s\n", (long long)table.size(),
                (long long)table.dim(), a->out.c_str());
  });

  add_plain_export_command(*group, "export", "Write a class-embedding table as embeddings.npy plus metadata.json",
                           "Class-embedding table (.safetensors)", {data::kClassEmbeddingsFormat});
});

}  // namespace
}  // namespace brainsem::app
