// docs/generic_data.md §0, run as written: the shell block under the "worked example" marker runs
// in a fresh directory (with the repository's examples/ linked in and the built program first on
// the PATH), every line of the quoted output must appear in what it prints, and its results must
// hold what the docs say: the cross-validation recovers the generator's ROI mix, the report skips
// the WordNet maps with a note, and the exports equal the imported files.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <array>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "brainsem/io/matrix_file.h"
#include "brainsem/io/npy.h"
#include "testing/paths.h"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace brainsem;

namespace {

std::string read_file(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// The body of the first fenced block after `marker` in `markdown`.
std::string block_after(const std::string& markdown, const std::string& marker) {
  auto at = markdown.find(marker);
  if (at == std::string::npos) return {};
  auto open = markdown.find("```", at);
  auto body = markdown.find('\n', open) + 1;
  auto close = markdown.find("\n```", body);
  return markdown.substr(body, close - body + 1);
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) out.push_back(l);
  return out;
}

const json* cv_result(const json& cv, const std::string& rois) {
  for (const auto& r : cv.at("results"))
    if (r.at("rois") == rois && r.at("method") == "ridge") return &r;
  return nullptr;
}

}  // namespace

TEST(WorkedExample, GenericDataDocRunsAsWritten) {
  const std::string doc = read_file(brainsem::testing::source_dir() / "docs" / "generic_data.md");
  const std::string script = block_after(doc, "<!-- worked example:");
  const std::string expected = block_after(doc, "<!-- worked example output -->");
  ASSERT_FALSE(script.empty()) << "no worked-example block in docs/generic_data.md";
  ASSERT_FALSE(expected.empty()) << "no worked-example output block in docs/generic_data.md";

  brainsem::testing::TempDir dir;
  fs::create_directory_symlink(brainsem::testing::source_dir() / "examples", dir / "examples");
  {
    std::ofstream f(dir / "example.sh");
    f << "set -euo pipefail\n" << script;
  }
  const std::string cmd = "cd '" + dir.path().string() + "' && PATH='" +
                          brainsem::testing::cli_binary().parent_path().string() + "':\"$PATH\" bash example.sh 2>&1";
  std::string output;
  FILE* pipe = popen(cmd.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::array<char, 4096> buf;
  for (size_t n; (n = fread(buf.data(), 1, buf.size(), pipe)) > 0;) output.append(buf.data(), n);
  const int status = pclose(pipe);
  ASSERT_EQ(status, 0) << output;

  for (const auto& line : lines_of(expected)) EXPECT_NE(output.find(line), std::string::npos) << "missing: " << line;

  // The generator's ROI mix: EVC carries little class information, VTC the most.
  const json cv = json::parse(read_file(dir / "work" / "cv.json"));
  const json* all = cv_result(cv, "all");
  const json* evc = cv_result(cv, "EVC");
  const json* vtc = cv_result(cv, "VTC");
  ASSERT_TRUE(all && evc && vtc) << cv.dump().substr(0, 400);
  EXPECT_GT(all->at("observed").at("two_afc").get<double>(), 0.85);
  EXPECT_LT(all->at("p_two_afc").get<double>(), 0.05);
  EXPECT_GT(vtc->at("observed").at("two_afc").get<double>(), evc->at("observed").at("two_afc").get<double>() + 0.3);

  const std::string report = read_file(dir / "work" / "report.html");
  EXPECT_NE(report.find("is not a WordNet 3.0 noun synset"), std::string::npos);
  EXPECT_NE(report.find("Zero-shot"), std::string::npos);

  // The export holds the imported numbers (float32 of the CSV) and the class names.
  auto exported = io::read_npy(dir / "work" / "targets_npy" / "embeddings.npy");
  auto csv = io::read_matrix_file(brainsem::testing::source_dir() / "examples" / "objects" / "embeddings.csv");
  EXPECT_TRUE(torch::equal(exported, csv.to(torch::kFloat32)));
  const json meta = json::parse(read_file(dir / "work" / "targets_npy" / "metadata.json"));
  EXPECT_EQ(meta.at("metadata").at("classes").size(), 24u);
  EXPECT_EQ(meta.at("metadata").at("classes")[0], "apple");
  auto train_x = io::read_npy(dir / "work" / "objects_npy" / "train_x.npy");
  EXPECT_EQ(train_x.sizes(), (std::vector<int64_t>{64, 3, 60}));

  // inspect saw the run directory; its checkpoint inspects on its own too. The final model was
  // retrained for the step the held-out classes chose (the doc's output block shows 125).
  EXPECT_NE(output.find("checkpoint: checkpoint.safetensors at step 125"), std::string::npos);
  std::string ckpt;
  ASSERT_EQ(brainsem::testing::run_cli(
                "data inspect '" + (dir / "work" / "run" / "checkpoint.safetensors").string() + "'", &ckpt),
            0)
      << ckpt;
  EXPECT_NE(ckpt.find("training checkpoint (brainsem.checkpoint.v1)"), std::string::npos) << ckpt;
  EXPECT_NE(ckpt.find("step: 125"), std::string::npos) << ckpt;
  // 150 voxels x 3 tokens zero-padded to 60 = 180 inputs -> 16 outputs: 180 x 16 + 16 parameters.
  EXPECT_NE(ckpt.find("parameters: 2896 in 2 tensors"), std::string::npos) << ckpt;
}
