// `brainsem data inspect FILE.h5 [--json]` and `brainsem data export FILE.h5 --out X.safetensors`:
// look at a GOD BData file and pack it into the safetensors the model (and numpy users) read.
// Other `data` subcommands (e.g. import) attach to the same `data` command: get it with
// root.get_subcommand("data") and create it only if that throws.
#include <cstdio>
#include <string>
#include <vector>

#include "brainsem/core/atomic_file.h"
#include "brainsem/core/error.h"
#include "brainsem/data/subject.h"
#include "brainsem/data/subject_export.h"
#include "brainsem/io/bdata.h"
#include "command.h"

namespace brainsem::app {
namespace {

CLI::App* data_command(CLI::App& root) {
  try {
    return root.get_subcommand("data");
  } catch (const CLI::OptionNotFound&) {
    auto* d = root.add_subcommand("data", "Inspect and convert fMRI data (GOD BData .h5, subject safetensors)");
    d->require_subcommand(1);
    return d;
  }
}

struct InspectArgs {
  std::string file;
  bool json = false;
  std::vector<std::string> rois;
  CommonOptions common;
};

struct ExportArgs {
  std::string file, out, normalize = "none";
  bool force = false;
  std::vector<std::string> rois;
  CommonOptions common;
};

CommandRegistration reg(200, [](CLI::App& root) {
  auto* data = data_command(root);

  static InspectArgs ia;
  auto* inspect = data->add_subcommand(
      "inspect",
      "Show a GOD BData file's metadata keys, samples per DataType, voxels per ROI and unique stimuli "
      "per split (validates it like export does)");
  inspect->add_option("file", ia.file, "Subject*.h5 (BData HDF5)")->required();
  inspect->add_flag("--json", ia.json, "Print JSON instead of text");
  inspect->add_option("--rois", ia.rois, "ROI tokens to check (default V1,V2,V3,V4,LOC,FFA,PPA)")->delimiter(',');
  add_common_options(*inspect, ia.common);
  inspect->callback([] {
    apply_common_options(ia.common);
    data::LoadOptions o;
    o.rois = ia.rois;
    auto summary = data::summarize_bdata(io::read_bdata(ia.file), o);
    if (ia.json)
      std::printf("%s\n", data::to_json(summary).dump(2).c_str());
    else
      std::printf("%s", data::to_text(summary).c_str());
  });

  static ExportArgs ea;
  auto* exp =
      data->add_subcommand("export",
                           "Pack a GOD BData file into safetensors: train_x [N,R,P] f32, train_stimulus_id f64, test_x "
                           "(mean over repeats, ascending stimulus_id), test_stimulus_id (docs/god_format.md)");
  exp->add_option("file", ea.file, "Subject*.h5 (BData HDF5)")->required();
  exp->add_option("--out", ea.out, "Output .safetensors file (refused if it exists, unless --force)")->required();
  exp->add_flag("--force", ea.force, "Overwrite an existing --out");
  exp->add_option("--normalize", ea.normalize, "none (default, raw values as BrainSem) or zscore (training mean/sd)")
      ->check(CLI::IsMember({"none", "zscore"}));
  exp->add_option("--rois", ea.rois, "ROI tokens in order (default V1,V2,V3,V4,LOC,FFA,PPA)")->delimiter(',');
  add_common_options(*exp, ea.common);
  exp->callback([] {
    apply_common_options(ea.common);
    core::check_output_file(ea.out, {ea.file}, ea.force);
    data::LoadOptions o;
    o.normalize = data::parse_normalize(ea.normalize);
    o.rois = ea.rois;
    auto s = data::pack_subject(io::read_bdata(ea.file), o);
    data::write_subject_safetensors(ea.out, s, o.normalize);
    std::printf("%s: train_x [%lld, %lld, %lld], test_x [%lld, %lld, %lld], normalize %s\n", ea.out.c_str(),
                (long long)s.train_x.size(0), (long long)s.train_x.size(1), (long long)s.train_x.size(2),
                (long long)s.test_x.size(0), (long long)s.test_x.size(1), (long long)s.test_x.size(2),
                ea.normalize.c_str());
  });
});

}  // namespace
}  // namespace brainsem::app
