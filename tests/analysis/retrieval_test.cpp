// Retrieval (Fig. 3) against a naive oracle: every cosine computed by hand, sorted, compared; the
// streamed store (small blocks) gives the same result as one block.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>

#include "brainsem/analysis/retrieval.h"
#include "brainsem/core/error.h"
#include "testing/paths.h"

using brainsem::data::FeatureStore;
using namespace brainsem::analysis;

namespace {

FeatureStore make_store(int64_t n, int64_t e, int64_t classes, uint64_t seed) {
  torch::manual_seed(seed);
  FeatureStore s;
  s.features = torch::randn({n, e});
  for (int64_t i = 0; i < n; ++i) {
    s.names.push_back("img" + std::to_string(i));
    s.classes.push_back("c" + std::to_string(i % classes));
  }
  s.encoder = "test";
  s.preprocessing = "none";
  return s;
}

double cosine(const torch::Tensor& a, const torch::Tensor& b) {
  return (a * b).sum().item<double>() / (a.norm().item<double>() * b.norm().item<double>());
}

}  // namespace

TEST(Retrieval, MatchesNaiveRankingAndCounts) {
  auto store = make_store(40, 6, 5, 1);
  torch::manual_seed(7);
  auto queries = torch::randn({4, 6});
  std::vector<std::string> names{"q0", "q1", "q2", "q3"}, classes{"c0", "c1", "c2", "c9"};
  RetrievalOptions o;
  o.k = 5;
  o.subset = 1000;  // larger than the store: all rows
  auto r = retrieve(queries, names, classes, store, torch::Tensor(), o);
  EXPECT_EQ(r.pool, 40);
  o.block_rows = 3;  // the store streamed in blocks smaller than k: the same result
  EXPECT_EQ(retrieve(queries, names, classes, store, torch::Tensor(), o).to_json(), r.to_json());
  ASSERT_EQ(r.items.size(), 4u);
  double recall = 0, prec = 0, rank_sum = 0;
  int ranked = 0;
  for (int q = 0; q < 4; ++q) {
    std::vector<std::pair<double, int>> sims;
    for (int i = 0; i < 40; ++i) sims.push_back({cosine(queries[q], store.features[i]), i});
    std::sort(sims.rbegin(), sims.rend());
    int correct = 0;
    for (int j = 0; j < 5; ++j) {
      EXPECT_EQ(r.items[q].hits[j].name, store.names[sims[j].second]) << q << " " << j;
      EXPECT_NEAR(r.items[q].hits[j].similarity, sims[j].first, 1e-5);
      correct += store.classes[sims[j].second] == classes[q];
    }
    int first = 0;
    for (int j = 0; j < 40 && !first; ++j)
      if (store.classes[sims[j].second] == classes[q]) first = j + 1;
    EXPECT_EQ(r.items[q].class_rank, first);
    EXPECT_EQ(r.items[q].class_in_pool, classes[q] == "c9" ? 0 : 8);
    EXPECT_DOUBLE_EQ(r.items[q].precision, correct / 5.0);
    recall += correct > 0;
    prec += correct / 5.0;
    if (first) {
      rank_sum += first;
      ++ranked;
    }
  }
  EXPECT_DOUBLE_EQ(r.recall_at_k, recall / 4);
  EXPECT_DOUBLE_EQ(r.precision_at_k, prec / 4);
  EXPECT_DOUBLE_EQ(r.mean_class_rank, rank_sum / ranked);
  // Chance: 1 - C(32,5)/C(40,5) for the three classes in the pool, 0 for c9.
  double none = 1;
  for (int i = 0; i < 5; ++i) none *= (32.0 - i) / (40.0 - i);
  EXPECT_NEAR(r.chance_recall_at_k, 3 * (1 - none) / 4, 1e-12);
}

TEST(Retrieval, ExcludesTestStimuliAndNearDuplicatesAndSubsetsBySeed) {
  auto store = make_store(100, 8, 10, 2);
  store.names[3] = "q0";  // the test stimulus itself
  auto test_feats = torch::randn({2, 8});
  store.features[10].copy_(test_feats[1] * 2.0);  // a rescaled copy of test stimulus q1 (cosine 1)
  auto queries = store.features.index_select(0, torch::tensor({3, 10}, torch::kInt64)).clone();
  RetrievalOptions o;
  o.k = 3;
  o.subset = 1000;
  auto all = retrieve(queries, {"q0", "q1"}, {"c3", "c0"}, store, test_feats, o);
  EXPECT_EQ(all.excluded_names, 1);
  EXPECT_EQ(all.excluded_duplicates, 1);
  EXPECT_EQ(all.pool, 98);
  for (const auto& it : all.items)
    for (const auto& h : it.hits) EXPECT_TRUE(h.name != "q0" && h.name != "img10") << h.name;
  o.block_rows = 7;  // exclusions and scoring in blocks: the same pool and result
  EXPECT_EQ(retrieve(queries, {"q0", "q1"}, {"c3", "c0"}, store, test_feats, o).to_json(), all.to_json());
  o.block_rows = 8192;
  o.subset = 30;
  o.seed = 5;
  auto a = retrieve(queries, {"q0", "q1"}, {"c3", "c0"}, store, test_feats, o);
  auto b = retrieve(queries, {"q0", "q1"}, {"c3", "c0"}, store, test_feats, o);
  o.seed = 6;
  auto c = retrieve(queries, {"q0", "q1"}, {"c3", "c0"}, store, test_feats, o);
  EXPECT_EQ(a.pool, 30);
  EXPECT_EQ(a.to_json(), b.to_json());  // same seed, same pool
  EXPECT_NE(a.to_json().dump(), c.to_json().dump());
}

TEST(Retrieval, WritesJsonAndCsvAndRejectsBadInput) {
  auto store = make_store(20, 4, 4, 3);
  auto queries = torch::randn({2, 4});
  RetrievalOptions o;
  o.k = 2;
  auto r = retrieve(queries, {"a", "b"}, {"c0", "c1"}, store, torch::Tensor(), o);
  brainsem::testing::TempDir tmp;
  write_retrieval(tmp / "out", r);
  std::ifstream csv(tmp / "out/retrieval.csv");
  std::string line;
  int lines = 0;
  while (std::getline(csv, line)) ++lines;
  EXPECT_EQ(lines, 1 + 2 * 2);
  auto j = nlohmann::json::parse(std::ifstream(tmp / "out/retrieval.json"));
  EXPECT_EQ(j["items"].size(), 2u);
  EXPECT_EQ(j["k"], 2);
  // Wrong embedding dimension: a clear error.
  try {
    retrieve(torch::randn({2, 5}), {"a", "b"}, {"c0", "c1"}, store, torch::Tensor(), o);
    FAIL() << "no error";
  } catch (const brainsem::Error& e) {
    EXPECT_NE(std::string(e.what()).find("dimensions"), std::string::npos) << e.what();
  }
  o.k = 0;
  EXPECT_THROW(retrieve(queries, {"a", "b"}, {"c0", "c1"}, store, torch::Tensor(), o), brainsem::Error);
}
