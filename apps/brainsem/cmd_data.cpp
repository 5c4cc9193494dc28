// `brainsem data inspect PATH [--json]`: what is inside any file or directory BrainSem reads.
// `brainsem data export FILE.h5 --out X.safetensors`: pack a GOD BData file into the safetensors
// the model reads. `brainsem data unpack FILE.safetensors --out DIR`: the reverse for numpy users
// (one .npy per tensor and metadata.json). Other `data` subcommands (import) attach to the same
// group (data_group).
#include <cstdio>
#include <string>
#include <vector>

#include "brainsem/core/atomic_file.h"
#include "brainsem/core/error.h"
#include "brainsem/data/plain_files.h"
#include "brainsem/data/subject.h"
#include "brainsem/data/subject_export.h"
#include "brainsem/experiment/inspect.h"
#include "brainsem/io/bdata.h"
#include "command.h"
#include "plain_export_command.h"

namespace brainsem::app {
namespace {

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
  auto* data = data_group(root);

  static InspectArgs ia;
  auto* inspect = data->add_subcommand(
      "inspect",
      "Show what a file or directory holds, validating it with its reader: GOD BData .h5 (metadata keys, samples "
      "per DataType, voxels per ROI), subject/feature/class-embedding safetensors, checkpoints, run directories "
      "and `unpack` exports");
  inspect->add_option("path", ia.file, "File or directory")->required();
  inspect->add_flag("--json", ia.json, "Print JSON instead of text");
  inspect->add_option("--rois", ia.rois, "BData only: ROI tokens to check (default V1,V2,V3,V4,LOC,FFA,PPA)")
      ->delimiter(',');
  add_common_options(*inspect, ia.common);
  inspect->callback([] {
    apply_common_options(ia.common);
    experiment::InspectOptions o;
    o.bdata_rois = ia.rois;
    auto result = experiment::inspect_path(ia.file, o);
    if (ia.json)
      std::printf("%s\n", result.summary.dump(2).c_str());
    else
      std::printf("%s", result.text.c_str());
  });

  add_plain_export_command(
      *data, "unpack",
      "Write a subject, feature-store or class-embedding safetensors as one .npy per tensor plus metadata.json "
      "(names, classes, ROIs), for numpy and other tools",
      "A .safetensors file BrainSem wrote (data export/import, embed, embed-text)",
      {data::kSubjectFormat, data::kFeatureStoreFormat, data::kClassEmbeddingsFormat});

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
