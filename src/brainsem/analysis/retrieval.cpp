#include "brainsem/analysis/retrieval.h"

#include <algorithm>
#include <limits>
#include <map>
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

namespace {

// Top-k of one query by (similarity desc, pool index asc), kept as a heap whose front is the
// worst entry kept.
struct TopK {
  using Entry = std::pair<double, int64_t>;  // (similarity, pool index)
  static bool better(const Entry& a, const Entry& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  }
  size_t k = 0;
  std::vector<Entry> heap;
  void offer(double v, int64_t j) {
    if (heap.size() < k) {
      heap.emplace_back(v, j);
      std::push_heap(heap.begin(), heap.end(), better);
    } else if (better({v, j}, heap.front())) {
      std::pop_heap(heap.begin(), heap.end(), better);
      heap.back() = {v, j};
      std::push_heap(heap.begin(), heap.end(), better);
    }
  }
  std::vector<Entry> sorted() const {
    auto out = heap;
    std::sort(out.begin(), out.end(), better);
    return out;
  }
};

}  // namespace

RetrievalResult retrieve(const torch::Tensor& queries, const std::vector<std::string>& names,
                         const std::vector<std::string>& classes, const data::FeatureStore& store,
                         const torch::Tensor& test_features, const RetrievalOptions& o) {
  torch::NoGradGuard ng;
  BRAINSEM_CHECK(o.k >= 1, "retrieval: k must be >= 1 (got ", o.k, ")");
  BRAINSEM_CHECK(o.subset >= 1, "retrieval: subset must be >= 1 (got ", o.subset, ")");
  BRAINSEM_CHECK(o.block_rows >= 1, "retrieval: block_rows must be >= 1 (got ", o.block_rows, ")");
  BRAINSEM_CHECK(
      queries.dim() == 2 && queries.size(0) == static_cast<int64_t>(names.size()) && names.size() == classes.size(),
      "retrieval: queries ", queries.sizes(), " do not match ", names.size(), " test names");
  BRAINSEM_CHECK(queries.size(1) == store.dim(), "retrieval: brain embeddings have ", queries.size(1),
                 " dimensions but the feature store has ", store.dim(),
                 "; use a store built with the encoder the run was trained on");
  RetrievalResult r;
  r.k = o.k;
  r.store_rows = store.size();
  const int64_t n_queries = static_cast<int64_t>(names.size());
  // The store is read in blocks of block_rows rows (it stays memory-mapped): memory is
  // O(block_rows x E + queries x (block_rows + k)), whatever the store's size.
  // Exclusions: test stimuli by name, then near-duplicates of their features.
  std::set<std::string> test_names(names.begin(), names.end());
  torch::Tensor test_unit;
  if (test_features.defined() && test_features.numel() > 0) test_unit = unit_rows(test_features);
  std::vector<int64_t> candidates;
  for (int64_t b0 = 0; b0 < store.size(); b0 += o.block_rows) {
    const int64_t nb = std::min(o.block_rows, store.size() - b0);
    torch::Tensor dup_max;  // [nb] the closest test stimulus's cosine
    if (test_unit.defined())
      dup_max = std::get<0>(torch::mm(unit_rows(store.features.narrow(0, b0, nb)), test_unit.t()).max(1)).contiguous();
    for (int64_t i = b0; i < b0 + nb; ++i) {
      if (test_names.count(store.names[i])) {
        ++r.excluded_names;
        continue;
      }
      if (dup_max.defined() && dup_max.data_ptr<float>()[i - b0] >= o.duplicate_cosine) {
        ++r.excluded_duplicates;
        continue;
      }
      candidates.push_back(i);
    }
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

  // Classes as integers: query q's class id, and each pool image's (-1: no query's class).
  std::map<std::string, int> class_id;
  std::vector<int> query_class(n_queries);
  for (int64_t q = 0; q < n_queries; ++q)
    query_class[q] = class_id.emplace(classes[q], static_cast<int>(class_id.size())).first->second;
  std::vector<int> pool_class(r.pool);
  std::vector<int64_t> in_pool(class_id.size(), 0);
  for (int64_t j = 0; j < r.pool; ++j) {
    auto it = class_id.find(store.classes[candidates[j]]);
    pool_class[j] = it == class_id.end() ? -1 : it->second;
    if (pool_class[j] >= 0) ++in_pool[pool_class[j]];
  }

  // Similarities of one block of the pool: [N, nb] float64, non-finite entries as -Inf
  // (eval/ranks.h), so that a NaN feature is never a top hit.
  auto query_unit = unit_rows(queries);
  auto block_similarity = [&](int64_t j0, int64_t nb) {
    auto rows = torch::tensor(std::vector<int64_t>(candidates.begin() + j0, candidates.begin() + j0 + nb));
    return eval::rankable_similarity(torch::mm(query_unit, unit_rows(store.features.index_select(0, rows)).t()))
        .contiguous();
  };
  // Pass 1: each query's top k and its best true-class image.
  std::vector<TopK> top(n_queries);
  for (auto& t : top) t.k = static_cast<size_t>(k);
  const double minus_inf = -std::numeric_limits<double>::infinity();
  std::vector<double> best_of_class(n_queries, minus_inf);
  std::vector<int64_t> best_index(n_queries, -1);
  for (int64_t j0 = 0; j0 < r.pool; j0 += o.block_rows) {
    const int64_t nb = std::min(o.block_rows, r.pool - j0);
    auto sim = block_similarity(j0, nb);
    for (int64_t q = 0; q < n_queries; ++q) {
      const double* s = sim.data_ptr<double>() + q * nb;
      for (int64_t j = 0; j < nb; ++j) {
        top[q].offer(s[j], j0 + j);
        if (pool_class[j0 + j] == query_class[q] && (best_index[q] < 0 || s[j] > best_of_class[q])) {
          best_of_class[q] = s[j];
          best_index[q] = j0 + j;
        }
      }
    }
  }
  // Pass 2: the rank of the best true-class image (eval/ranks.h): the other images of the class
  // step aside, every other image as similar or more counts against.
  std::vector<int64_t> class_rank(n_queries, 1);
  for (int64_t j0 = 0; j0 < r.pool; j0 += o.block_rows) {
    const int64_t nb = std::min(o.block_rows, r.pool - j0);
    auto sim = block_similarity(j0, nb);
    for (int64_t q = 0; q < n_queries; ++q) {
      const double* s = sim.data_ptr<double>() + q * nb;
      for (int64_t j = 0; j < nb; ++j)
        class_rank[q] += pool_class[j0 + j] != query_class[q] && s[j] >= best_of_class[q];
    }
  }

  double rank_sum = 0, chance_sum = 0;
  int64_t ranked = 0, hits = 0;
  double prec_sum = 0;
  for (int64_t q = 0; q < n_queries; ++q) {
    RetrievalItem it;
    it.name = names[q];
    it.cls = classes[q];
    int64_t correct = 0;
    for (const auto& [similarity, j] : top[q].sorted()) {
      const int64_t row = candidates[j];
      it.hits.push_back({store.names[row], store.classes[row], similarity});
      correct += pool_class[j] == query_class[q];
    }
    it.class_in_pool = in_pool[query_class[q]];
    if (it.class_in_pool > 0) {
      it.class_rank = class_rank[q];
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
