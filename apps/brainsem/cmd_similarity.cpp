// `brainsem similarity`: Fig. 4, similarity of each test image to the training images against
// whether it was decoded correctly.
#include <cstdio>
#include <filesystem>

#include "brainsem/analysis/similarity.h"
#include "brainsem/core/atomic_file.h"
#include "brainsem/core/error.h"
#include "brainsem/experiment/study.h"
#include "command.h"

namespace fs = std::filesystem;

namespace brainsem::app {
namespace {

struct Options {
  CommonOptions common;
  std::string run, out;
  int64_t top = 3;
};

void run(Options& o) {
  apply_common_options(o.common);
  BRAINSEM_CHECK(!fs::exists(o.out) || fs::is_empty(o.out), "output directory ", o.out,
                 " already exists and is not empty; choose another --out");
  auto run = experiment::open_run(o.run);
  auto a = analysis::analyse_run_similarity(run, o.top);
  core::build_directory_atomically(o.out, [&](const fs::path& tmp) { analysis::write_similarity(tmp, a); });
  std::printf("%lld of %zu test images decoded correctly (top-1)\n", static_cast<long long>(a.correct), a.items.size());
  std::printf("mean top-%lld similarity: correct %.4f, wrong %.4f\n", static_cast<long long>(a.top), a.mean_correct,
              a.mean_wrong);
  std::printf("point-biserial r = %.3f (p = %.3g), Spearman r(similarity, rank) = %.3f (p = %.3g)\n",
              a.point_biserial.r, a.point_biserial.p_value, a.spearman_rank.r, a.spearman_rank.p_value);
  std::printf("wrote %s/similarity.{json,csv,png,svg}\n", o.out.c_str());
}

CommandRegistration reg(61, [](CLI::App& root) {
  auto o = std::make_shared<Options>();
  auto* cmd =
      root.add_subcommand("similarity", "Fig. 4: test images' CLIP similarity to training images vs decoding success");
  cmd->footer("Writes OUT/similarity.json, similarity.csv and the plot as similarity.png and similarity.svg.");
  cmd->add_option("--run", o->run, "Run directory written by `brainsem train`")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--top", o->top, "Training images averaged per test image (the paper: 3)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--out", o->out, "New output directory")->required();
  add_common_options(*cmd, o->common);
  add_device_options(*cmd, o->common);
  cmd->callback([o] { run(*o); });
});

}  // namespace
}  // namespace brainsem::app
