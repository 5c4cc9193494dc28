#include "brainsem/report/embedding_map_study.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <random>

#include "brainsem/core/atomic_file.h"
#include "brainsem/core/error.h"
#include "brainsem/viz/isomap.h"
#include "brainsem/viz/plot.h"
#include "brainsem/viz/points_csv.h"
#include "brainsem/viz/tsne.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace brainsem::report {

std::vector<int> biotic_labels(const data::WordNet& wn, const std::vector<std::string>& classes) {
  std::vector<int> out;
  for (const auto& c : classes) {
    BRAINSEM_CHECK(wn.contains(c), "class '", c, "' is not a WordNet 3.0 noun synset; biotic/abiotic labels need ImageNet wnids");
    out.push_back(wn.is_a(c, data::kLivingThing) ? 1 : 0);
  }
  return out;
}

json MapStudy::to_json() const {
  json m = json::array();
  for (const auto& s : metrics)
    m.push_back({{"space", s.space},
                 {"dims", s.dims},
                 {"logistic_cv_accuracy", s.logistic.mean},
                 {"logistic_cv_sd", s.logistic.sd},
                 {"logistic_cv_pooled", s.logistic.pooled},
                 {"logistic_cv_folds", s.logistic.folds},
                 {"knn_purity_biotic", s.knn_purity_biotic},
                 {"knn_purity_class", s.knn_purity_class}});
  json maps_j = json::array();
  for (const auto& e : maps)
    maps_j.push_back({{"space", e.space}, {"method", e.method}, {"points", e.rows.size()}, {"kl_divergence", e.kl},
                      {"file", e.space + "_" + e.method}});
  int64_t nb = std::accumulate(biotic.begin(), biotic.end(), int64_t{0});
  int64_t ntest = std::count(split.begin(), split.end(), "test");
  return json{{"points", names.size()},
              {"test_points", ntest},
              {"biotic_points", nb},
              {"majority_rate", majority_rate},
              {"metrics_space", "original high-dimensional space of each representation (not the 2-D maps)"},
              {"options",
               {{"method", options.method}, {"seed", options.seed}, {"max_train", options.max_train},
                {"tsne_iterations", options.tsne_iterations}, {"perplexity", options.perplexity},
                {"isomap_neighbors", options.isomap_neighbors}, {"folds", options.folds}, {"c", options.c}, {"knn", options.knn}}},
              {"metrics", m},
              {"maps", maps_j}};
}

MapStudy map_study(const std::vector<std::pair<std::string, torch::Tensor>>& spaces, const std::vector<std::string>& names,
                   const std::vector<std::string>& classes, const std::vector<std::string>& split,
                   const std::vector<int>& biotic, const MapOptions& o) {
  BRAINSEM_CHECK(o.method == "tsne" || o.method == "isomap" || o.method == "both", "maps: unknown method '", o.method,
                 "' (use tsne, isomap or both)");
  const int64_t n = static_cast<int64_t>(names.size());
  BRAINSEM_CHECK(classes.size() == names.size() && split.size() == names.size() && biotic.size() == names.size(),
                 "maps: names, classes, split and labels differ in length");
  int64_t nb = std::accumulate(biotic.begin(), biotic.end(), int64_t{0});
  BRAINSEM_CHECK(nb > 0 && nb < n, "maps: all ", n, " points are ", nb ? "biotic" : "abiotic",
                 "; biotic-vs-abiotic separability needs both kinds");
  MapStudy m;
  m.names = names;
  m.classes = classes;
  m.split = split;
  m.biotic = biotic;
  m.options = o;
  m.majority_rate = static_cast<double>(std::max(nb, n - nb)) / n;
  auto y = torch::tensor(std::vector<int64_t>(biotic.begin(), biotic.end()), torch::kInt64);
  std::map<std::string, int64_t> cls_index;
  std::vector<int64_t> cls_ids;
  for (const auto& c : classes) cls_ids.push_back(cls_index.emplace(c, cls_index.size()).first->second);
  auto yc = torch::tensor(cls_ids, torch::kInt64);
  for (const auto& [space, x] : spaces) {
    BRAINSEM_CHECK(x.dim() == 2 && x.size(0) == n, "maps: space ", space, " has shape ", x.sizes(), ", expected [", n, ", D]");
    SpaceMetrics s;
    s.space = space;
    s.dims = x.size(1);
    s.logistic = viz::logistic_cv_accuracy(x, y.to(torch::kFloat64), o.folds, o.c, o.seed);
    s.knn_purity_biotic = viz::knn_purity(x, y, o.knn);
    s.knn_purity_class = viz::knn_purity(x, yc, o.knn);
    m.metrics.push_back(s);
    if (o.method != "isomap") {
      viz::TsneOptions t;
      t.seed = o.seed;
      t.iterations = o.tsne_iterations;
      t.perplexity = std::min(o.perplexity, (n - 1) / 3.0);
      auto r = viz::tsne(x, t);
      MapEntry e{space, "tsne", r.coords, {}, r.kl_divergence};
      e.rows.resize(n);
      std::iota(e.rows.begin(), e.rows.end(), 0);
      m.maps.push_back(std::move(e));
    }
    if (o.method != "tsne") {
      viz::IsomapOptions io;
      io.neighbors = std::min<int64_t>(o.isomap_neighbors, n - 1);
      io.largest_component = true;  // a disconnected part is dropped and the map says how many points remain
      auto r = viz::isomap(x, io);
      m.maps.push_back({space, "isomap", r.coords, r.kept, 0});
    }
  }
  return m;
}

MapStudy run_map_study(train::TrainedRun& run, const data::WordNet& wn, const MapOptions& o) {
  torch::NoGradGuard ng;
  const auto& s = run.study.subject;
  const int64_t ntr = s.train_x.size(0), nte = s.test_x.size(0);
  std::vector<int64_t> train_rows(ntr);
  std::iota(train_rows.begin(), train_rows.end(), 0);
  if (o.max_train >= 0 && o.max_train < ntr) {
    std::mt19937_64 rng(o.seed);
    std::shuffle(train_rows.begin(), train_rows.end(), rng);
    train_rows.resize(o.max_train);
    std::sort(train_rows.begin(), train_rows.end());
  }
  std::vector<std::string> names, classes, split;
  for (int64_t i = 0; i < nte; ++i) {
    names.push_back(s.test_names[i]);
    classes.push_back(s.test_classes[i]);
    split.push_back("test");
  }
  for (auto r : train_rows) {
    names.push_back(s.train_names[r]);
    classes.push_back(s.train_classes[r]);
    split.push_back("train");
  }
  auto biotic = biotic_labels(wn, classes);
  auto tr = s.train_x.index_select(0, torch::tensor(train_rows, torch::kInt64));
  auto x = torch::cat({s.test_x, tr}, 0);  // [N, R, P]
  // Raw fMRI: z-score each voxel with all training samples' statistics (padding columns stay 0).
  auto all_train = s.train_x.flatten(1).to(torch::kFloat64);
  auto mean = all_train.mean(0), sd = all_train.std(0);
  sd = torch::where(sd > 1e-12, sd, torch::ones_like(sd));
  auto raw = ((x.flatten(1).to(torch::kFloat64) - mean) / sd).to(torch::kFloat32);
  auto brain = run.embed(x);
  auto rows = run.study.stimuli.rows_of_names(names, run.study.inputs.stimuli.string());
  auto clip = run.study.stimuli.features.index_select(0, torch::tensor(rows, torch::kInt64));
  return map_study({{"raw_fmri", raw}, {"brainsem", brain}, {"clip", clip}}, names, classes, split, biotic, o);
}

void write_map_study(const fs::path& dir, const MapStudy& m) {
  fs::create_directories(dir);
  static const std::map<std::string, std::string> titles{
      {"raw_fmri", "raw fMRI"}, {"brainsem", "BrainSem brain embedding"}, {"clip", "CLIP image features"}};
  for (const auto& e : m.maps) {
    // Plot colours: biotic vs abiotic only (as the paper); the CSV also says which points are test items.
    std::vector<std::string> names, cats, colour;
    for (auto r : e.rows) {
      names.push_back(m.names[r]);
      colour.push_back(m.biotic[r] ? "biotic" : "abiotic");
      cats.push_back(colour.back() + (m.split[r] == "test" ? " (test)" : ""));
    }
    const std::string stem = e.space + "_" + e.method;
    viz::write_points_csv(dir / (stem + ".csv"), e.coords, names, cats);
    viz::ScatterPlot p;
    p.xy = e.coords;
    p.categories = colour;
    auto t = titles.find(e.space);
    p.title = (e.method == "tsne" ? "t-SNE of " : "ISOMAP of ") + (t == titles.end() ? e.space : t->second);
    p.radius = 2.5;
    viz::save_scatter(p, dir / (stem + ".png"));
    viz::save_scatter(p, dir / (stem + ".svg"));
  }
  core::write_text_atomically(dir / "maps.json", m.to_json().dump(2) + "\n");
}

}  // namespace brainsem::report
