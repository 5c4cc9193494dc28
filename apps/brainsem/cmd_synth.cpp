// `brainsem synth`: writes the embedded GOD-shaped synthetic dataset (docs/synthetic_data.md).
#include <cstdio>
#include <nlohmann/json.hpp>

#include "brainsem/core/atomic_file.h"
#include "brainsem/core/error.h"
#include "brainsem/data/synth.h"
#include "brainsem/data/wordnet.h"
#include "command.h"

namespace brainsem::app {
namespace {

struct SynthOptions {
  CommonOptions common;
  std::string out, config_file, centre_table, wordnet_dir = "/usr/share/wordnet";
  int subjects = -1, library_per_class = -1;
  int64_t seed = -1;
  bool write_truth = false;
};

CommandRegistration reg(40, [](CLI::App& root) {
  auto opts = std::make_shared<SynthOptions>();
  auto* cmd = root.add_subcommand("synth",
                                  "Generate a GOD-shaped synthetic dataset: Subject*.h5 (BData), stimulus tables, "
                                  "CLIP-like feature stores and a manifest (docs/synthetic_data.md)");
  cmd->add_option("--out", opts->out, "Output directory (created; must not exist or be empty)");
  cmd->add_option("--subjects", opts->subjects, "Number of subjects (default 5)");
  cmd->add_option("--seed", opts->seed, "Random seed (default 1); same seed => same files")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--library-per-class", opts->library_per_class,
                  "Semantic-library images per class, 1..1000 (default 100)");
  cmd->add_flag("--write-truth", opts->write_truth, "Also write truth.safetensors (true generative parameters)");
  cmd->add_option("--config", opts->config_file, "JSON file of generator knobs (command-line options override it)");
  cmd->add_option("--write-centre-table", opts->centre_table,
                  "Instead of generating: derive the class-centre table from WordNet and write it to this file "
                  "(regenerates data/synth/god_class_centres.tsv)");
  cmd->add_option("--wordnet", opts->wordnet_dir, "WordNet directory for --write-centre-table");
  add_common_options(*cmd, opts->common);
  cmd->callback([opts] {
    apply_common_options(opts->common);
    if (!opts->centre_table.empty()) {
      auto wn = data::WordNet::load(opts->wordnet_dir);
      core::write_text_atomically(opts->centre_table, data::derive_class_table(wn));
      std::printf("wrote %s\n", opts->centre_table.c_str());
      return;
    }
    if (opts->out.empty()) throw CLI::RequiredError("--out");
    data::SynthConfig cfg;
    if (!opts->config_file.empty()) {
      try {
        cfg = data::SynthConfig::from_json(nlohmann::json::parse(core::read_text_file(opts->config_file)));
      } catch (const nlohmann::json::exception& e) {
        fail(opts->config_file, " is not valid JSON: ", e.what());
      }
    }
    if (opts->subjects != -1) cfg.subjects = opts->subjects;
    if (opts->library_per_class != -1) cfg.library_per_class = opts->library_per_class;
    if (opts->seed >= 0) cfg.seed = static_cast<uint64_t>(opts->seed);
    if (opts->write_truth) cfg.write_truth = true;
    data::write_synthetic_dataset(opts->out, cfg);
    std::printf("wrote %d subjects to %s\n", cfg.subjects, opts->out.c_str());
  });
});

}  // namespace
}  // namespace brainsem::app
