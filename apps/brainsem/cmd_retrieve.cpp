// `brainsem retrieve`: Fig. 3, the top-k images of a feature store for each test fMRI.
#include <cstdio>
#include <filesystem>

#include "brainsem/analysis/retrieval.h"
#include "brainsem/core/atomic_file.h"
#include "brainsem/core/error.h"
#include "brainsem/experiment/study.h"
#include "command.h"

namespace fs = std::filesystem;

namespace brainsem::app {
namespace {

struct Options {
  CommonOptions common;
  std::string run, store, out;
  analysis::RetrievalOptions r;
  int64_t show = 5;
};

void run(Options& o) {
  apply_common_options(o.common);
  BRAINSEM_CHECK(!fs::exists(o.out) || fs::is_empty(o.out), "output directory ", o.out,
                 " already exists and is not empty; choose another --out");
  auto run = experiment::open_run(o.run);
  std::string desc;
  data::FeatureStore store;
  if (o.store.empty()) {
    store = analysis::default_retrieval_store(run.study, &desc);
  } else {
    store = data::FeatureStore::open(o.store);
    store.check_compatible(run.study.stimuli, o.store);
    desc = fs::absolute(o.store).string();
  }
  auto r = analysis::retrieve_run(run, store, desc, o.r);
  core::build_directory_atomically(o.out, [&](const fs::path& tmp) { analysis::write_retrieval(tmp, r); });
  std::printf("pool %lld images (of %lld; %lld test stimuli and %lld near-duplicates excluded)\n",
              static_cast<long long>(r.pool), static_cast<long long>(r.store_rows),
              static_cast<long long>(r.excluded_names), static_cast<long long>(r.excluded_duplicates));
  std::printf("recall@%lld %.3f (chance %.3f)  precision@%lld %.3f  mean rank of the true class %.1f\n",
              static_cast<long long>(r.k), r.recall_at_k, r.chance_recall_at_k, static_cast<long long>(r.k),
              r.precision_at_k, r.mean_class_rank);
  for (int64_t i = 0; i < std::min<int64_t>(o.show, r.items.size()); ++i) {
    const auto& it = r.items[i];
    std::printf("%s (%s):", it.name.c_str(), it.cls.c_str());
    for (const auto& h : it.hits) std::printf(" %s%s", h.name.c_str(), h.cls == it.cls ? "*" : "");
    std::printf("\n");
  }
  std::printf("wrote %s/retrieval.json and retrieval.csv\n", o.out.c_str());
}

CommandRegistration reg(60, [](CLI::App& root) {
  auto o = std::make_shared<Options>();
  auto* cmd = root.add_subcommand("retrieve", "Fig. 3: top-k images of a feature store for each test fMRI, recall@k");
  cmd->footer(
      "The pool excludes the test stimuli (by name) and near-duplicates of them, then keeps a seeded random --subset.\n"
      "Default store: the run's training + test-class libraries. A hit is correct when its class is the test image's.\n"
      "Writes OUT/retrieval.json (summary and every item) and OUT/retrieval.csv (one row per hit).");
  cmd->add_option("--run", o->run, "Run directory written by `brainsem train`")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--store", o->store, "Feature store to search (same encoder as the run)")->check(CLI::ExistingFile);
  cmd->add_option("--k", o->r.k, "Images retrieved per test fMRI")->check(CLI::PositiveNumber);
  cmd->add_option("--subset", o->r.subset, "Random pool size (the paper: 10000)")->check(CLI::PositiveNumber);
  cmd->add_option("--seed", o->r.seed, "Seed of the random subset");
  cmd->add_option("--show", o->show, "Test items to print");
  cmd->add_option("--out", o->out, "New output directory")->required();
  add_common_options(*cmd, o->common);
  add_device_options(*cmd, o->common);
  cmd->callback([o] { run(*o); });
});

}  // namespace
}  // namespace brainsem::app
