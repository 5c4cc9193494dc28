#pragma once
// Each subcommand lives in its own cmd_*.cpp and registers itself here with a static
// CommandRegistration, so adding a command touches no other file. Commands only parse options,
// call the library and print; the algorithms live in src/brainsem.
#include <CLI/CLI.hpp>

#include <functional>
#include <string>

namespace brainsem::app {

struct Command {
  int order;                                  // position in --help
  std::function<void(CLI::App& root)> setup;  // adds the subcommand and its callback
};

struct CommandRegistration {
  CommandRegistration(int order, std::function<void(CLI::App& root)> setup);
};

// The group command `name` (e.g. "data", "features") under root, created with `description` by
// whichever of its subcommands' files registers first.
CLI::App* command_group(CLI::App& root, const std::string& name, const std::string& description);
// `brainsem data` (inspect, export, import, unpack).
CLI::App* data_group(CLI::App& root);

// Options every command shares: --threads, --quiet.
struct CommonOptions {
  int threads = 0;
  bool quiet = false;
};
void add_common_options(CLI::App& cmd, CommonOptions& opts);
// Applies CommonOptions (thread count, progress bars). Call at the start of a callback.
void apply_common_options(const CommonOptions& opts);

}  // namespace brainsem::app
