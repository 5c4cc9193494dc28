#include "plain_export_command.h"

#include <cstdio>
#include <memory>

#include "brainsem/data/plain_files.h"
#include "command.h"

namespace brainsem::app {

void add_plain_export_command(CLI::App& group, const std::string& name, const std::string& description,
                              const std::string& input_help, const std::vector<std::string>& formats) {
  struct Args {
    std::string file, out;
    bool force = false;
    CommonOptions common;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = group.add_subcommand(name, description);
  cmd->add_option("file", a->file, input_help)->required()->check(CLI::ExistingFile);
  cmd->add_option("--out", a->out, "Output directory (appears whole or not at all; refused if it exists)")->required();
  cmd->add_flag("--force", a->force, "Replace --out if it is an earlier export");
  add_common_options(*cmd, a->common);
  cmd->callback([a, formats] {
    apply_common_options(a->common);
    auto tensors = data::export_plain(a->file, a->out, formats, a->force);
    std::string files;
    for (const auto& t : tensors) files += " " + t + ".npy";
    std::printf("wrote%s and metadata.json to %s\n", files.c_str(), a->out.c_str());
  });
}

}  // namespace brainsem::app
