#pragma once
// `brainsem report`: one self-contained HTML page for a study: Table-1-style results
// with bootstrap intervals and binomial p-values, the ablation table when present, the Fig. 4
// and Fig. 5 analyses, retrieval examples (Fig. 3) and the run manifest.
//
// DIR is either
//   (a) a run directory of `brainsem train` (config.json, inputs.json, checkpoint.safetensors, results.json), or
//   (b) a demo directory: DIR/runs/Subject1..N/ (run directories), optional DIR/ablation/ablation.json,
//       optional DIR/roi/roi.json (`brainsem roi --data DIR/data --out DIR/roi`, with its bar charts),
//       optional DIR/manifest.json (and DIR/results.json, DIR/data/).
// The analyses of the first run (Subject1) live in DIR/analysis/{retrieval,similarity,maps}/; any
// that is missing is computed first, with small settings so it stays fast (maps: test items plus
// 300 training samples, 500 t-SNE iterations). Writes DIR/report.html atomically.
#include <filesystem>
#include <string>

namespace brainsem::report {

struct StudyReportOptions {
  std::filesystem::path output;  // default DIR/report.html
  std::filesystem::path wordnet = "/usr/share/wordnet";
  int64_t map_train_samples = 300;
  int64_t tsne_iterations = 500;
  int64_t retrieval_examples = 8;  // test items shown
  bool compute_missing = true;     // false: only show analyses that already exist
};

// Returns the path of the written report.
std::filesystem::path write_study_report(const std::filesystem::path& dir, const StudyReportOptions& options);
void write_study_report(const std::filesystem::path& dir);

}  // namespace brainsem::report
