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

// Options every command shares: --threads, --quiet.
struct CommonOptions {
  int threads = 0;
  bool quiet = false;
};
void add_common_options(CLI::App& cmd, CommonOptions& opts);
// Applies CommonOptions (thread count, progress bars). Call at the start of a callback.
void apply_common_options(const CommonOptions& opts);

}  // namespace brainsem::app
