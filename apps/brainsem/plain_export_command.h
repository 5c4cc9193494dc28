#pragma once
// The one `export` subcommand shape (features export, class-embeddings export, data unpack): a
// BrainSem safetensors file in, DIR/<tensor>.npy + DIR/metadata.json out (data/plain_files.h).
#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace brainsem::app {

// Adds subcommand `name` to `group`: positional FILE (described by `input_help`), --out DIR,
// --force, the common options; accepts files of `formats` only.
void add_plain_export_command(CLI::App& group, const std::string& name, const std::string& description,
                              const std::string& input_help, const std::vector<std::string>& formats);

}  // namespace brainsem::app
