// `brainsem ablate`: Tables 2-3, the V x B x batch x encoder grid over subjects and seeds.
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "brainsem/core/error.h"
#include "brainsem/core/output_lock.h"
#include "brainsem/experiment/ablation.h"
#include "command.h"
#include "train_options.h"

namespace fs = std::filesystem;

namespace brainsem::app {
namespace {

template <typename T>
std::string join(const std::vector<T>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ",") + std::to_string(x);
  return s;
}

struct Options {
  CommonOptions common;
  TrainOptions train;
  experiment::AblationOptions defaults;
  std::string data, out, subjects = join(defaults.subjects), seeds = join(defaults.seeds),
                         prototype = defaults.prototype;
  bool full = defaults.full;
};

template <typename T>
std::vector<T> parse_list(const std::string& s, const char* what) {
  std::vector<T> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      size_t used = 0;
      long long v = std::stoll(item, &used);
      BRAINSEM_CHECK(used == item.size() && v >= 0, "");
      out.push_back(static_cast<T>(v));
    } catch (...) {
      fail(what, ": '", item, "' is not a non-negative integer (give a comma-separated list, e.g. 1,2,3)");
    }
  }
  BRAINSEM_CHECK(!out.empty(), what, ": empty list");
  return out;
}

void run(Options& o) {
  apply_common_options(o.common);
  const core::OutputLock lock(o.out);  // one writer per ablation directory
  // The paper's grid is run on the paper-like recipe; training flags still override it.
  if (o.full) o.train.paper = true;
  auto base = resolve_train_config(o.train);
  experiment::AblationOptions a = o.defaults;
  a.data = o.data;
  a.out = o.out;
  a.subjects = parse_list<int>(o.subjects, "--subjects");
  for (int s : a.subjects) BRAINSEM_CHECK(s >= 1, "--subjects: subject numbers start at 1 (got ", s, ")");
  a.seeds = parse_list<uint64_t>(o.seeds, "--seeds");
  a.full = o.full;
  a.base = base;
  a.prototype = o.prototype;
  auto t = experiment::run_ablation(a);
  std::printf("%s", t.text().c_str());
  std::printf("cells: %lld trained, %lld reused; wrote %s/ablation.json and ablation.csv\n",
              static_cast<long long>(t.cells_run), static_cast<long long>(t.cells_reused), o.out.c_str());
}

CommandRegistration reg(63, [](CLI::App& root) {
  auto o = std::make_shared<Options>();
  auto* cmd = root.add_subcommand("ablate",
                                  "Tables 2-3: V x B (x batch x encoder with --full) ablation grid with paired tests");
  cmd->footer(
      "Default (CPU) grid: V on/off x B on/off = 4 configurations of the training configuration (the defaults\n"
      "below, as `brainsem train`; any training flag, --config or --paper changes it), on --subjects and --seeds.\n"
      "--full: the paper's grid on the paper-like recipe (--paper implied), V x B x batch 200/100 x ViT\n"
      "(depth, heads) (24,16), (12,8), (6,4) = 24 configurations.\n"
      "Each cell is a run directory OUT/cells/<config>/Subject<s>-seed<k>/; finished cells are reused (resumable).\n"
      "Writes OUT/ablation.json and OUT/ablation.csv. p-values compare each row with the first (paired on test "
      "items).");
  cmd->add_option("--data", o->data,
                  "Directory with Subject<s>.h5, stimuli.safetensors, library_*.safetensors (`brainsem synth`)")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--out", o->out, "Output directory (created; reused to resume)")->required();
  cmd->add_option("--subjects", o->subjects, "Comma-separated subject numbers")->capture_default_str();
  cmd->add_option("--seeds", o->seeds, "Comma-separated seeds")->capture_default_str();
  cmd->add_option("--prototype", o->prototype, "Prototypes scored: stimulus or library")
      ->check(CLI::IsMember({"stimulus", "library"}))
      ->capture_default_str();
  cmd->add_flag("--full", o->full,
                "The paper's full grid on the paper-like recipe (24 configurations; hours on a CPU)");
  add_train_options(*cmd, o->train);
  add_common_options(*cmd, o->common);
  cmd->callback([o] { run(*o); });
});

}  // namespace
}  // namespace brainsem::app
