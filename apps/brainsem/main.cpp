// brainsem: the command-line program. Subcommands register themselves (command.h); this file
// only builds the CLI, runs it and turns errors into exit codes (1 = error, 2 = bad usage).
#include <algorithm>
#include <cstdio>
#include <vector>

#include "brainsem/core/error.h"
#include "brainsem/core/progress.h"
#include "brainsem/core/runtime.h"
#include "command.h"

namespace brainsem::app {

static std::vector<Command>& registry() {
  static std::vector<Command> commands;
  return commands;
}

CommandRegistration::CommandRegistration(int order, std::function<void(CLI::App&)> setup) {
  registry().push_back({order, std::move(setup)});
}

void add_common_options(CLI::App& cmd, CommonOptions& opts) {
  cmd.add_option("--threads", opts.threads, "CPU threads for tensor maths (0 = one per core)")
      ->check(CLI::NonNegativeNumber);
  cmd.add_flag("--quiet,-q", opts.quiet, "No progress bars");
}

void apply_common_options(const CommonOptions& opts) {
  core::set_threads(opts.threads);
  core::Progress::set_quiet(opts.quiet);
}

}  // namespace brainsem::app

int main(int argc, char** argv) {
  brainsem::core::ensure_runtime_env(argc, argv);
  CLI::App app{
      "BrainSem: learn a shared semantic space between fMRI and a frozen CLIP image encoder, and decode\n"
      "what a person saw, including unseen categories (zero-shot). Implements Chen et al., AAAI 2024.\n"
      "Run `brainsem demo` for the whole study on generated GOD-shaped data."};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("brainsem ") + BRAINSEM_VERSION);
  auto& commands = brainsem::app::registry();
  std::stable_sort(commands.begin(), commands.end(), [](const auto& a, const auto& b) { return a.order < b.order; });
  for (auto& c : commands) c.setup(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;  // CLI11 uses 100+ codes; 2 is the usual "bad usage"
  } catch (const brainsem::Error& e) {
    std::fprintf(stderr, "brainsem: error: %s\n", e.what());
    if (!e.origin().empty()) std::fprintf(stderr, "brainsem: (raised at %s)\n", e.origin().c_str());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "brainsem: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
