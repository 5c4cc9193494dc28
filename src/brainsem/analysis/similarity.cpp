#include "brainsem/analysis/similarity.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <sstream>

#include "brainsem/core/atomic_file.h"
#include "brainsem/core/error.h"
#include "brainsem/viz/plot.h"
#include "brainsem/viz/points_csv.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace brainsem::analysis {

json SimilarityAnalysis::to_json() const {
  json items_j = json::array();
  for (const auto& it : items)
    items_j.push_back({{"name", it.name},
                       {"class", it.cls},
                       {"similarity", it.similarity},
                       {"nearest_train", it.nearest},
                       {"rank", it.rank},
                       {"correct", it.rank == 1}});
  auto nan_null = [](double v) { return std::isfinite(v) ? json(v) : json(nullptr); };
  return json{
      {"top", top},
      {"n", items.size()},
      {"correct", correct},
      {"point_biserial", {{"r", nan_null(point_biserial.r)}, {"p", point_biserial.p_value}, {"n", point_biserial.n}}},
      {"spearman_rank", {{"r", nan_null(spearman_rank.r)}, {"p", spearman_rank.p_value}, {"n", spearman_rank.n}}},
      {"mean_similarity_correct", nan_null(mean_correct)},
      {"mean_similarity_wrong", nan_null(mean_wrong)},
      {"items", items_j}};
}

SimilarityAnalysis analyse_similarity(const torch::Tensor& test_features, const torch::Tensor& train_features,
                                      const std::vector<std::string>& test_names,
                                      const std::vector<std::string>& test_classes,
                                      const std::vector<std::string>& train_names, const std::vector<int64_t>& ranks,
                                      int64_t top) {
  torch::NoGradGuard ng;
  const int64_t n = test_features.size(0);
  BRAINSEM_CHECK(n >= 3, "similarity analysis needs at least 3 test images (got ", n, ")");
  BRAINSEM_CHECK(static_cast<int64_t>(test_names.size()) == n && static_cast<int64_t>(ranks.size()) == n &&
                     static_cast<int64_t>(test_classes.size()) == n,
                 "similarity analysis: ", n, " test features but ", test_names.size(), " names and ", ranks.size(),
                 " ranks");
  BRAINSEM_CHECK(train_features.size(0) >= top && static_cast<int64_t>(train_names.size()) == train_features.size(0),
                 "similarity analysis: need at least ", top, " named training images (got ", train_features.size(0),
                 ")");
  auto unit = [](const torch::Tensor& x) {
    auto d = x.to(torch::kFloat64);
    return d / d.norm(2, 1, true).clamp_min(1e-12);
  };
  auto cos = torch::mm(unit(test_features), unit(train_features).t());  // [N, M]
  auto tk = cos.topk(top, 1, true, true);
  auto vals = std::get<0>(tk).mean(1).contiguous();  // [N]
  auto idx = std::get<1>(tk).contiguous();
  SimilarityAnalysis a;
  a.top = top;
  std::vector<double> sim(n), correct(n), rank(n);
  double sc = 0, sw = 0;
  for (int64_t i = 0; i < n; ++i) {
    SimilarityItem it{test_names[i], test_classes[i], vals[i].item<double>(), {}, ranks[i]};
    for (int64_t j = 0; j < top; ++j) it.nearest.push_back(train_names[idx[i][j].item<int64_t>()]);
    sim[i] = it.similarity;
    correct[i] = ranks[i] == 1;
    rank[i] = static_cast<double>(ranks[i]);
    if (ranks[i] == 1) {
      ++a.correct;
      sc += it.similarity;
    } else {
      sw += it.similarity;
    }
    a.items.push_back(std::move(it));
  }
  const double nan = std::numeric_limits<double>::quiet_NaN();
  a.mean_correct = a.correct ? sc / a.correct : nan;
  a.mean_wrong = a.correct < n ? sw / (n - a.correct) : nan;
  auto ts = torch::tensor(sim, torch::kFloat64);
  // With everything right or everything wrong the 0/1 variable is constant: no correlation.
  if (a.correct > 0 && a.correct < n) {
    a.point_biserial = eval::pearson(ts, torch::tensor(correct, torch::kFloat64));
  } else {
    a.point_biserial = {nan, 1.0, n};
  }
  if (*std::min_element(rank.begin(), rank.end()) < *std::max_element(rank.begin(), rank.end())) {
    a.spearman_rank = eval::spearman(ts, torch::tensor(rank, torch::kFloat64));
  } else {
    a.spearman_rank = {nan, 1.0, n};  // every item has the same rank
  }
  return a;
}

SimilarityAnalysis analyse_run_similarity(experiment::TrainedRun& run, int64_t top) {
  const auto& st = run.study;
  auto scores = experiment::score_prediction("brainsem", run.embed(st.subject.test_x), st, run.config.seed);
  const experiment::MethodScore* stim = nullptr;
  for (const auto& m : scores)
    if (m.prototype == "stimulus") stim = &m;
  BRAINSEM_CHECK(stim, "similarity analysis: the run has no 'stimulus' prototype scores");
  auto test_rows = st.stimuli.rows_of_names(st.subject.test_names, st.inputs.stimuli.string());
  // Distinct training stimuli (each image is shown several times in GOD's training runs).
  std::vector<std::string> train_names;
  std::set<std::string> seen;
  for (const auto& nm : st.subject.train_names)
    if (seen.insert(nm).second) train_names.push_back(nm);
  auto train_rows = st.stimuli.rows_of_names(train_names, st.inputs.stimuli.string());
  auto f = st.stimuli.features;
  return analyse_similarity(f.index_select(0, torch::tensor(test_rows, torch::kInt64)),
                            f.index_select(0, torch::tensor(train_rows, torch::kInt64)), st.subject.test_names,
                            st.subject.test_classes, train_names, stim->ranks, top);
}

void write_similarity(const fs::path& dir, const SimilarityAnalysis& a) {
  fs::create_directories(dir);
  std::ostringstream csv;
  csv << "name,class,similarity,rank,correct,nearest_train\n";
  for (const auto& it : a.items) {
    std::string near;
    for (const auto& nm : it.nearest) near += (near.empty() ? "" : " ") + nm;
    csv << viz::csv_field(it.name) << ',' << viz::csv_field(it.cls) << ',' << it.similarity << ',' << it.rank << ','
        << (it.rank == 1) << ',' << viz::csv_field(near) << '\n';
  }
  core::write_text_atomically(dir / "similarity.csv", csv.str());
  core::write_text_atomically(dir / "similarity.json", a.to_json().dump(2) + "\n");
  viz::ScatterPlot p;
  std::vector<float> xy;
  for (const auto& it : a.items) {
    xy.push_back(static_cast<float>(it.similarity));
    xy.push_back(static_cast<float>(it.rank));
    p.categories.push_back(it.rank == 1 ? "decoded correctly (top-1)" : "wrong");
  }
  p.xy = torch::tensor(xy).view({-1, 2});
  std::ostringstream title;
  title.precision(2);
  title << std::fixed << "Similarity to training images vs decoding (point-biserial r = " << a.point_biserial.r << ")";
  p.title = title.str();
  p.x_label = "mean cosine to the " + std::to_string(a.top) + " most similar training images (CLIP)";
  p.y_label = "rank of the true class (1 = correct)";
  p.axes = true;
  p.regression_line = true;
  p.radius = 4;
  viz::save_scatter(p, dir / "similarity.png");
  viz::save_scatter(p, dir / "similarity.svg");
}

}  // namespace brainsem::analysis
