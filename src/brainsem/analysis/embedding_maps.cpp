#include "brainsem/analysis/embedding_maps.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <random>
#include <set>

#include "brainsem/core/atomic_file.h"
#include "brainsem/core/error.h"
#include "brainsem/viz/isomap.h"
#include "brainsem/viz/plot.h"
#include "brainsem/viz/points_csv.h"
#include "brainsem/viz/tsne.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace brainsem::analysis {

std::vector<int> biotic_labels(const data::WordNet& wn, const std::vector<std::string>& classes) {
  std::vector<int> out;
  for (const auto& c : classes) {
    BRAINSEM_CHECK(wn.contains(c), "class '", c,
                   "' is not a WordNet 3.0 noun synset; biotic/abiotic labels need ImageNet wnids");
    out.push_back(wn.is_a(c, data::kLivingThing) ? 1 : 0);
  }
  return out;
}

json SubsetMetrics::to_json() const {
  auto opt = [](const std::optional<double>& v) { return v ? json(*v) : json(nullptr); };
  json j{{"points", points},
         {"classes", classes},
         {"biotic_points", biotic_points},
         {"majority_rate", majority_rate},
         {"folds", folds},
         {"knn", knn},
         {"logistic_cv_accuracy", logistic ? json(logistic->mean) : json(nullptr)},
         {"logistic_cv_sd", logistic ? json(logistic->sd) : json(nullptr)},
         {"logistic_cv_pooled", logistic ? json(logistic->pooled) : json(nullptr)},
         {"logistic_cv_folds", logistic ? json(logistic->folds) : json(nullptr)},
         {"knn_purity_biotic", opt(knn_purity_biotic)},
         {"knn_purity_class", opt(knn_purity_class)}};
  if (!note.empty()) j["note"] = note;
  return j;
}

SubsetMetrics subset_metrics(const torch::Tensor& x, const std::vector<int>& biotic,
                             const std::vector<std::string>& classes, const MapOptions& o) {
  SubsetMetrics m;
  m.points = x.size(0);
  BRAINSEM_CHECK(static_cast<int64_t>(biotic.size()) == m.points && static_cast<int64_t>(classes.size()) == m.points,
                 "maps: ", m.points, " points with ", biotic.size(), " labels and ", classes.size(), " classes");
  if (m.points == 0) {
    m.note = "no points";
    return m;
  }
  std::map<std::string, int64_t> index, size_of;
  std::map<int, std::set<std::string>> classes_of_label;
  std::vector<int64_t> class_id;
  for (int64_t i = 0; i < m.points; ++i) {
    class_id.push_back(index.emplace(classes[i], static_cast<int64_t>(index.size())).first->second);
    ++size_of[classes[i]];
    classes_of_label[biotic[i]].insert(classes[i]);
  }
  m.classes = static_cast<int64_t>(index.size());
  m.biotic_points = std::accumulate(biotic.begin(), biotic.end(), int64_t{0});
  m.majority_rate =
      static_cast<double>(std::max(m.biotic_points, m.points - m.biotic_points)) / static_cast<double>(m.points);
  auto y = torch::tensor(std::vector<int64_t>(biotic.begin(), biotic.end()), torch::kInt64);
  auto groups = torch::tensor(class_id, torch::kInt64);
  std::vector<std::string> missing;
  if (classes_of_label[0].size() >= 2 && classes_of_label[1].size() >= 2) {
    m.folds = std::min<int64_t>(o.folds, m.classes);
    m.logistic = viz::logistic_cv_accuracy_grouped(x, y.to(torch::kFloat64), groups, m.folds, o.c, o.seed);
  } else {
    missing.push_back("class-grouped CV needs at least 2 biotic and 2 abiotic classes");
  }
  int64_t largest_class = 0;
  for (const auto& [c, n] : size_of) largest_class = std::max(largest_class, n);
  m.knn = std::min(o.knn, m.points - largest_class);
  if (m.knn >= 1)
    m.knn_purity_biotic = viz::knn_purity_other_groups(x, y, groups, m.knn);
  else
    missing.push_back("no other-class neighbours for the biotic k-NN purity");
  if (largest_class >= 2 && m.knn >= 1)
    m.knn_purity_class = viz::knn_purity(x, groups, std::min(m.knn, m.points - 1));
  else if (largest_class < 2)
    missing.push_back("every class has one point, so the class k-NN purity is undefined");
  for (size_t i = 0; i < missing.size(); ++i) m.note += (i ? "; " : "") + missing[i];
  return m;
}

json MapStudy::to_json() const {
  json m = json::array();
  for (const auto& s : metrics)
    m.push_back({{"space", s.space},
                 {"dims", s.dims},
                 {"train_classes", s.train_classes.to_json()},
                 {"test_classes", s.test_classes.to_json()}});
  json maps_j = json::array();
  for (const auto& e : maps)
    maps_j.push_back({{"space", e.space},
                      {"method", e.method},
                      {"points", e.rows.size()},
                      {"kl_divergence", e.kl},
                      {"file", e.space + "_" + e.method}});
  int64_t nb = std::accumulate(biotic.begin(), biotic.end(), int64_t{0});
  int64_t ntest = std::count(split.begin(), split.end(), "test");
  return json{{"points", names.size()},
              {"test_points", ntest},
              {"biotic_points", nb},
              {"majority_rate", majority_rate},
              {"metrics_space", "original high-dimensional space of each representation (not the 2-D maps)"},
              {"metrics_protocol",
               "separately for training-class samples and test-class (unseen) items; logistic-regression CV with folds "
               "grouped by class (no class in both training and held-out folds); biotic k-NN purity over other-class "
               "neighbours only; class k-NN purity over all neighbours"},
              {"options",
               {{"method", options.method},
                {"seed", options.seed},
                {"max_train", options.max_train},
                {"tsne_iterations", options.tsne_iterations},
                {"perplexity", options.perplexity},
                {"isomap_neighbors", options.isomap_neighbors},
                {"folds", options.folds},
                {"c", options.c},
                {"knn", options.knn}}},
              {"metrics", m},
              {"maps", maps_j}};
}

MapStudy map_study(const std::vector<std::pair<std::string, torch::Tensor>>& spaces,
                   const std::vector<std::string>& names, const std::vector<std::string>& classes,
                   const std::vector<std::string>& split, const std::vector<int>& biotic, const MapOptions& o) {
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
  // The two subsets: training-class samples and test-class items.
  struct Subset {
    std::vector<int64_t> rows;
    std::vector<int> biotic;
    std::vector<std::string> classes;
  };
  Subset part[2];  // 0: split "train", 1: split "test"
  for (int64_t i = 0; i < n; ++i) {
    BRAINSEM_CHECK(split[i] == "train" || split[i] == "test", "maps: point ", i, " has split '", split[i],
                   "'; expected train or test");
    auto& p = part[split[i] == "test" ? 1 : 0];
    p.rows.push_back(i);
    p.biotic.push_back(biotic[i]);
    p.classes.push_back(classes[i]);
  }
  for (const auto& named_space : spaces) {
    // Named references, not a structured binding: lambdas capture them (clang 14 cannot capture
    // bindings, and clang-tidy parses this file with it).
    const auto& space = named_space.first;
    const auto& x = named_space.second;
    BRAINSEM_CHECK(x.dim() == 2 && x.size(0) == n, "maps: space ", space, " has shape ", x.sizes(), ", expected [", n,
                   ", D]");
    SpaceMetrics s;
    s.space = space;
    s.dims = x.size(1);
    auto of = [&](const Subset& p) {
      return subset_metrics(x.index_select(0, torch::tensor(p.rows, torch::kInt64)), p.biotic, p.classes, o);
    };
    s.train_classes = of(part[0]);
    s.test_classes = of(part[1]);
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

MapStudy run_map_study(experiment::TrainedRun& run, const data::WordNet& wn, const MapOptions& o) {
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

}  // namespace brainsem::analysis
