// `brainsem maps`: Fig. 5, ISOMAP / t-SNE maps of raw fMRI, brain embeddings and CLIP features,
// with biotic-vs-abiotic separability numbers.
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>

#include "brainsem/analysis/embedding_maps.h"
#include "brainsem/core/atomic_file.h"
#include "brainsem/core/error.h"
#include "brainsem/data/wordnet.h"
#include "brainsem/experiment/study.h"
#include "command.h"

namespace fs = std::filesystem;

namespace brainsem::app {
namespace {

struct Options {
  CommonOptions common;
  std::string run, out, wordnet = "/usr/share/wordnet";
  analysis::MapOptions m;
};

void run(Options& o) {
  apply_common_options(o.common);
  BRAINSEM_CHECK(!fs::exists(o.out) || fs::is_empty(o.out), "output directory ", o.out,
                 " already exists and is not empty; choose another --out");
  auto wn = data::WordNet::load(o.wordnet);
  auto run = experiment::open_run(o.run);
  auto m = analysis::run_map_study(run, wn, o.m);
  core::build_directory_atomically(o.out, [&](const fs::path& tmp) { analysis::write_map_study(tmp, m); });
  std::printf(
      "%zu points; biotic vs abiotic in each original space, training-class samples and test-class (unseen)\n"
      "items apart; CV folds grouped by class, biotic k-NN purity over other-class neighbours:\n",
      m.names.size());
  std::printf("%-10s %6s %-13s %6s %8s  %-22s %11s %11s\n", "space", "dims", "points", "classes", "majority",
              "logistic CV acc (sd)", "kNN biotic", "kNN class");
  auto num = [](const std::optional<double>& v) {
    char b[32];
    std::snprintf(b, sizeof b, "%.3f", v ? *v : 0.0);
    return v ? std::string(b) : std::string("n/a");
  };
  for (const auto& s : m.metrics)
    for (const auto* sub : {&s.train_classes, &s.test_classes}) {
      char acc[48] = "n/a";
      if (sub->logistic) std::snprintf(acc, sizeof acc, "%.3f (%.3f)", sub->logistic->mean, sub->logistic->sd);
      std::printf("%-10s %6lld %-13s %6lld %8.3f  %-22s %11s %11s\n", s.space.c_str(), static_cast<long long>(s.dims),
                  ((sub == &s.train_classes ? "train " : "test ") + std::to_string(sub->points)).c_str(),
                  static_cast<long long>(sub->classes), sub->majority_rate, acc, num(sub->knn_purity_biotic).c_str(),
                  num(sub->knn_purity_class).c_str());
    }
  std::printf("wrote %s/maps.json and %zu maps (png, svg, csv)\n", o.out.c_str(), m.maps.size());
}

CommandRegistration reg(62, [](CLI::App& root) {
  auto o = std::make_shared<Options>();
  auto* cmd = root.add_subcommand(
      "maps", "Fig. 5: t-SNE/ISOMAP maps of raw fMRI, brain embeddings and CLIP; biotic vs abiotic");
  cmd->footer(
      "Points: every test item plus the training samples. Biotic = WordNet hyponym of living_thing.n.01.\n"
      "Logistic-regression CV accuracy and k-NN purity are computed in each original high-dimensional space,\n"
      "separately for training-class samples and test-class items, with CV folds grouped by class and the biotic\n"
      "k-NN purity over other-class neighbours (so recognising a class never passes for a biotic boundary).\n"
      "Writes OUT/maps.json and OUT/<space>_<method>.{png,svg,csv} for space raw_fmri, brainsem, clip.");
  cmd->add_option("--run", o->run, "Run directory written by `brainsem train`")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--method", o->m.method, "tsne, isomap or both")->check(CLI::IsMember({"tsne", "isomap", "both"}));
  cmd->add_option("--seed", o->m.seed, "Seed (t-SNE start, CV folds, training subset)");
  cmd->add_option("--max-train", o->m.max_train,
                  "Training samples mapped (-1 = all; exact t-SNE refuses > 5000 points)");
  cmd->add_option("--tsne-iterations", o->m.tsne_iterations, "t-SNE iterations")->check(CLI::PositiveNumber);
  cmd->add_option("--perplexity", o->m.perplexity, "t-SNE perplexity")->check(CLI::PositiveNumber);
  cmd->add_option("--neighbors", o->m.isomap_neighbors, "ISOMAP neighbours")->check(CLI::PositiveNumber);
  cmd->add_option("--knn", o->m.knn, "k of the k-NN purity")->check(CLI::PositiveNumber);
  cmd->add_option("--wordnet", o->wordnet, "WordNet 3.0 dict directory (Debian wordnet-base)");
  cmd->add_option("--out", o->out, "New output directory")->required();
  add_common_options(*cmd, o->common);
  add_device_options(*cmd, o->common);
  cmd->callback([o] { run(*o); });
});

}  // namespace
}  // namespace brainsem::app
