#include "brainsem/analysis/retrieval.h"

#include <algorithm>
#include <limits>
#include <numeric>
#include <random>
#include <set>
#include <sstream>

#include "brainsem/core/atomic_file.h"
#include "brainsem/core/error.h"
#include "brainsem/eval/ranks.h"
#include "brainsem/viz/points_csv.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace brainsem::analysis {
namespace {

torch::Tensor unit_rows(const torch::Tensor& x) {
  auto d = x.to(torch::kFloat32).contiguous();
  return d / d.norm(2, 1, true).clamp_min(1e-12);
}

// P(at least one of the m true-class images among k drawn without replacement from n).
double hypergeometric_any(int64_t n, int64_t m, int64_t k) {
  if (m <= 0) return 0;
  if (k >= n) return 1;
  double none = 1;
  for (int64_t i = 0; i < k; ++i) none *= static_cast<double>(n - m - i) / static_cast<double>(n - i);
  return 1 - std::max(0.0, none);
}

}  // namespace

json RetrievalResult::to_json() const {
  json j{{"k", k},
         {"pool", pool},
         {"store", store},
         {"store_rows", store_rows},
         {"excluded_test_stimuli", excluded_names},
         {"excluded_near_duplicates", excluded_duplicates},
         {"recall_at_k", recall_at_k},
         {"precision_at_k", precision_at_k},
         {"mean_class_rank", mean_class_rank},
         {"chance_recall_at_k", chance_recall_at_k},
         {"items", json::array()}};
  for (const auto& it : items) {
    json hits = json::array();
    for (const auto& h : it.hits) hits.push_back({{"name", h.name}, {"class", h.cls}, {"similarity", h.similarity}});
    j["items"].push_back({{"name", it.name},
                          {"class", it.cls},
                          {"class_rank", it.class_rank},
                          {"class_in_pool", it.class_in_pool},
                          {"precision", it.precision},
                          {"hit", it.hit},
                          {"hits", hits}});
  }
  return j;
}

RetrievalResult retrieve(const torch::Tensor& queries, const std::vector<std::string>& names,
                         const std::vector<std::string>& classes, const data::FeatureStore& store,
                         const torch::Tensor& test_features, const RetrievalOptions& o) {
  torch::NoGradGuard ng;
  BRAINSEM_CHECK(o.k >= 1, "retrieval: k must be >= 1 (got ", o.k, ")");
  BRAINSEM_CHECK(o.subset >= 1, "retrieval: subset must be >= 1 (got ", o.subset, ")");
  BRAINSEM_CHECK(
      queries.dim() == 2 && queries.size(0) == static_cast<int64_t>(names.size()) && names.size() == classes.size(),
      "retrieval: queries ", queries.sizes(), " do not match ", names.size(), " test names");
  BRAINSEM_CHECK(queries.size(1) == store.dim(), "retrieval: brain embeddings have ", queries.size(1),
                 " dimensions but the feature store has ", store.dim(),
                 "; use a store built with the encoder the run was trained on");
  RetrievalResult r;
  r.k = o.k;
  r.store_rows = store.size();
  // Exclusions: test stimuli by name, then near-duplicates of their features.
  std::set<std::string> test_names(names.begin(), names.end());
  std::vector<int64_t> candidates;
  auto feats = unit_rows(store.features);  // [S, E]
  torch::Tensor dup_max;
  if (test_features.defined() && test_features.numel() > 0)
    dup_max = std::get<0>(torch::mm(feats, unit_rows(test_features).t()).max(1));  // [S]
  for (int64_t i = 0; i < store.size(); ++i) {
    if (test_names.count(store.names[i])) {
      ++r.excluded_names;
      continue;
    }
    if (dup_max.defined() && dup_max[i].item<float>() >= o.duplicate_cosine) {
      ++r.excluded_duplicates;
      continue;
    }
    candidates.push_back(i);
  }
  BRAINSEM_CHECK(!candidates.empty(), "retrieval: no image of ", store.size(),
                 " is left in the pool after excluding the test stimuli");
  if (static_cast<int64_t>(candidates.size()) > o.subset) {
    std::mt19937_64 rng(o.seed);
    std::shuffle(candidates.begin(), candidates.end(), rng);
    candidates.resize(o.subset);
    std::sort(candidates.begin(), candidates.end());
  }
  r.pool = static_cast<int64_t>(candidates.size());
  const int64_t k = std::min(o.k, r.pool);
  auto idx = torch::tensor(candidates, torch::kInt64);
  // [N, pool] float64, non-finite entries as -Inf (eval/ranks.h): a NaN feature is never a top hit.
  auto sim = eval::rankable_similarity(torch::mm(unit_rows(queries), feats.index_select(0, idx).t())).contiguous();
  // Rank of each query's first true-class image (eval/ranks.h): the best image of the class is
  // the truth, the other images of the class step aside, ties with other classes count against.
  auto same_class = torch::zeros({static_cast<int64_t>(names.size()), r.pool}, torch::kBool);
  for (size_t q = 0; q < names.size(); ++q)
    for (int64_t j = 0; j < r.pool; ++j)
      if (store.classes[candidates[j]] == classes[q]) same_class[q][j] = true;
  const double minus_inf = -std::numeric_limits<double>::infinity();
  auto best_of_class = torch::where(same_class, sim, torch::full({}, minus_inf, sim.options())).argmax(1);  // [N]
  auto is_best = torch::zeros_like(same_class).scatter_(1, best_of_class.unsqueeze(1), true);
  auto class_ranks = eval::true_ranks(torch::where(same_class.logical_and(is_best.logical_not()),
                                                   torch::full({}, minus_inf, sim.options()), sim),
                                      best_of_class)
                         .contiguous();
  auto top = sim.topk(k, 1, true, true);
  auto topv = std::get<0>(top).contiguous(), topi = std::get<1>(top).contiguous();
  double rank_sum = 0, chance_sum = 0;
  int64_t ranked = 0, hits = 0;
  double prec_sum = 0;
  for (size_t q = 0; q < names.size(); ++q) {
    RetrievalItem it;
    it.name = names[q];
    it.cls = classes[q];
    int64_t correct = 0;
    for (int64_t j = 0; j < k; ++j) {
      int64_t row = candidates[topi[q][j].item<int64_t>()];
      it.hits.push_back({store.names[row], store.classes[row], topv[q][j].item<double>()});
      if (store.classes[row] == it.cls) ++correct;
    }
    for (int64_t j = 0; j < r.pool; ++j) it.class_in_pool += store.classes[candidates[j]] == it.cls;
    if (it.class_in_pool > 0) {
      it.class_rank = class_ranks[static_cast<int64_t>(q)].item<int64_t>();
      rank_sum += it.class_rank;
      ++ranked;
    }
    it.precision = static_cast<double>(correct) / k;
    it.hit = correct > 0;
    hits += it.hit;
    prec_sum += it.precision;
    chance_sum += hypergeometric_any(r.pool, it.class_in_pool, k);
    r.items.push_back(std::move(it));
  }
  const double n = static_cast<double>(names.size());
  r.recall_at_k = hits / n;
  r.precision_at_k = prec_sum / n;
  r.mean_class_rank = ranked ? rank_sum / ranked : 0;
  r.chance_recall_at_k = chance_sum / n;
  return r;
}

data::FeatureStore default_retrieval_store(const experiment::LoadedStudy& study, std::string* description) {
  std::vector<data::FeatureStore> parts;
  std::string d;
  if (study.library) {
    parts.push_back(*study.library);
    d = study.inputs.library.string();
  }
  if (study.library_test) {
    parts.push_back(*study.library_test);
    d += (d.empty() ? "" : " + ") + study.inputs.library_test.string();
  }
  if (parts.empty()) {
    if (description) *description = study.inputs.stimuli.string() + " (no library recorded in the run)";
    return study.stimuli;
  }
  if (description) *description = d;
  return parts.size() == 1 ? parts[0] : data::concat_stores(parts);
}

RetrievalResult retrieve_run(experiment::TrainedRun& run, const data::FeatureStore& store,
                             const std::string& description, const RetrievalOptions& options) {
  const auto& s = run.study.subject;
  auto emb = run.embed(s.test_x);  // [N_test, E]
  auto test_rows = run.study.stimuli.rows_of_names(s.test_names, run.study.inputs.stimuli.string());
  auto test_feats = run.study.stimuli.features.index_select(0, torch::tensor(test_rows, torch::kInt64));
  auto r = retrieve(emb, s.test_names, s.test_classes, store, test_feats, options);
  r.store = description;
  return r;
}

void write_retrieval(const fs::path& dir, const RetrievalResult& r) {
  fs::create_directories(dir);
  std::ostringstream csv;
  csv << "test_name,test_class,rank,name,class,similarity,correct\n";
  for (const auto& it : r.items)
    for (size_t j = 0; j < it.hits.size(); ++j)
      csv << viz::csv_field(it.name) << ',' << viz::csv_field(it.cls) << ',' << j + 1 << ','
          << viz::csv_field(it.hits[j].name) << ',' << viz::csv_field(it.hits[j].cls) << ',' << it.hits[j].similarity
          << ',' << (it.hits[j].cls == it.cls ? 1 : 0) << '\n';
  core::write_text_atomically(dir / "retrieval.csv", csv.str());
  core::write_text_atomically(dir / "retrieval.json", r.to_json().dump(2) + "\n");
}

}  // namespace brainsem::analysis
