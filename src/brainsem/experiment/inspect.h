#pragma once
// `brainsem data inspect`: what is inside any file or directory the program reads, found by
// content, not by name: GOD BData (.h5), subject safetensors (data export/import, synth),
// feature stores, class-embedding tables, training checkpoints, run directories, and plain
// exports (data/plain_files.h). Every kind is read through its format's one validating reader, so
// inspecting a file also checks it.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace brainsem::experiment {

struct InspectOptions {
  std::vector<std::string> bdata_rois;  // BData only: ROI tokens to check (empty = GOD's seven)
  int64_t list_limit = 8;               // names/classes shown per list in the text form
};

struct Inspection {
  // {"kind": "bdata" | "subject" | "features" | "class_embeddings" | "checkpoint" | "run_directory" |
  //  "plain_export", "path": ..., kind-specific fields}
  nlohmann::json summary;
  std::string text;  // the same as readable text, one fact per line
};
// Throws naming the path for anything that is none of the kinds above, or that its reader refuses.
Inspection inspect_path(const std::filesystem::path& path, const InspectOptions& opts = {});

}  // namespace brainsem::experiment
