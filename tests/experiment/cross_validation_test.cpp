// Leave-k-classes-out cross-validation: split enumeration, scoring against hand-computed values,
// leakage checked through the fold observer, the permutation null of random targets centred at
// 0.5, a learnable dataset far above chance, one sample per class, and bad input.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <set>

#include "brainsem/core/error.h"
#include "brainsem/eval/ridge.h"
#include "brainsem/experiment/cross_validation.h"
#include "brainsem/model/virtual_brain.h"
#include "testing/errors.h"

using namespace brainsem;

namespace {

// C classes x `per` samples, 3 ROIs of sizes 8, 12, 5 (P = 12), E = 16 random unit embeddings.
// learnable: voxels = W e_class + noise; otherwise voxels are noise independent of the class.
struct Synthetic {
  data::SubjectData subject;
  data::ClassEmbeddings table;
};

Synthetic make_synthetic(int64_t classes, int64_t per, bool learnable, uint64_t seed, double noise = 0.3) {
  torch::manual_seed(seed);
  Synthetic s;
  const int64_t e = 16, v = 25;
  s.table.embeddings = torch::randn({classes, e});
  for (int64_t c = 0; c < classes; ++c) s.table.classes.push_back("class" + std::to_string(c));
  auto w = torch::randn({v, e});
  const int64_t n = classes * per;
  auto flat = torch::randn({n, v}) * noise;
  for (int64_t i = 0; i < n; ++i) {
    s.subject.train_classes.push_back(s.table.classes[i % classes]);
    s.subject.train_names.push_back("s" + std::to_string(i));
    if (learnable) flat[i] += w.matmul(s.table.embeddings[i % classes]);
  }
  s.subject.roi_names = {"V1", "V2", "LOC"};
  s.subject.roi_sizes = {8, 12, 5};
  auto x = torch::zeros({n, 3, 12});
  x.select(1, 0).narrow(1, 0, 8).copy_(flat.narrow(1, 0, 8));
  x.select(1, 1).copy_(flat.narrow(1, 8, 12));
  x.select(1, 2).narrow(1, 0, 5).copy_(flat.narrow(1, 20, 5));
  s.subject.train_x = x;
  s.subject.test_x = torch::zeros({0, 3, 12});
  s.subject.source = "synthetic";
  return s;
}

train::TrainConfig tiny_brainsem() {
  train::TrainConfig c = train::random_start_config();
  c.encoder.kind = "vit";
  c.encoder.width = 32;
  c.encoder.depth = 1;
  c.encoder.heads = 2;
  c.encoder.mlp = 64;
  c.steps = 150;
  c.batch = 32;
  c.lr = 3e-3;
  c.temperature = 0.1;
  c.normalize = brainsem::data::Normalize::zscore;
  c.seed = 1;
  return c;
}

using brainsem::testing::error_of;

}  // namespace

TEST(CrossValidation, SplitsAreAllSubsetsOrASeededSample) {
  EXPECT_EQ(experiment::choose(20, 2), 190);
  EXPECT_EQ(experiment::choose(50, 3), 19600);
  bool all = false;
  auto s = experiment::leave_k_out_splits(6, 2, 1000, 0, &all);
  EXPECT_TRUE(all);
  ASSERT_EQ(s.size(), 15u);
  EXPECT_EQ(s.front(), (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(s.back(), (std::vector<int64_t>{4, 5}));
  EXPECT_EQ(std::set<std::vector<int64_t>>(s.begin(), s.end()).size(), 15u);
  auto a = experiment::leave_k_out_splits(30, 3, 50, 7, &all);
  EXPECT_FALSE(all);
  ASSERT_EQ(a.size(), 50u);
  EXPECT_EQ(std::set<std::vector<int64_t>>(a.begin(), a.end()).size(), 50u);
  EXPECT_EQ(a, experiment::leave_k_out_splits(30, 3, 50, 7));
  EXPECT_NE(a, experiment::leave_k_out_splits(30, 3, 50, 8));
  for (const auto& f : a) EXPECT_TRUE(std::is_sorted(f.begin(), f.end()) && f.back() < 30);
}

TEST(CrossValidation, FoldScoresMatchHandComputedValues) {
  // Held-out classes 1 and 3 of 5. sim rows: prediction of class 1, of class 3.
  // Binary-exact values so the tie below is exact.
  auto sim = torch::tensor({0.875, 0.25, 0.125, 0.5, 0.9375,  // class 1's true similarity 0.25: rank 4 of 5
                            0.0, 0.5, 0.375, 0.75, 0.125},    // class 3: 0.75 is the best: rank 1
                           torch::kFloat64)
                 .view({2, 5});
  experiment::CvMetrics m;
  auto f = experiment::score_fold(sim, {1, 3}, m);
  // correct pairing 0.25 + 0.75 = 1 equals swapped 0.5 + 0.5 = 1: a tie scores 0.5.
  EXPECT_DOUBLE_EQ(f.two_afc, 0.5);
  EXPECT_EQ(f.ranks, (std::vector<int64_t>{4, 1}));
  auto sim2 = sim.clone();
  sim2[1][3] = 0.875;  // now 1.125 > 1
  experiment::score_fold(sim2, {1, 3}, m);
  experiment::finish_metrics(m);
  EXPECT_DOUBLE_EQ(m.two_afc, 0.75);
  EXPECT_DOUBLE_EQ(m.top1, 0.5);
  EXPECT_DOUBLE_EQ(m.top5, 1.0);
  EXPECT_DOUBLE_EQ(m.mean_rank, 2.5);
  EXPECT_DOUBLE_EQ(m.rank_accuracy, (1.0 / 4 + 1.0) / 2);
}

TEST(CrossValidation, FoldsNeverLeakHeldOutClassesIntoTraining) {
  auto s = make_synthetic(8, 2, true, 3);
  auto d = experiment::make_cv_dataset(s.subject, s.table);
  experiment::CvOptions o;
  o.k = 3;
  o.max_splits = 12;
  o.permutations = 3;
  o.brainsem_permutations = 1;
  o.train = tiny_brainsem();
  o.train.steps = 5;
  int64_t views = 0;
  o.observer = [&](const experiment::FoldView& v) {
    ++views;
    std::set<int64_t> held(v.fold->heldout.begin(), v.fold->heldout.end());
    ASSERT_EQ(held.size(), 3u);
    for (auto c : v.train_row_classes)
      EXPECT_FALSE(held.count(c)) << v.method << ": training row of held-out class " << c;
    for (auto c : v.target_classes)
      EXPECT_FALSE(held.count(c)) << v.method << ": held-out class " << c << " was a target";
    // Every non-held-out sample is used for training (2 per class).
    EXPECT_EQ(v.train_row_classes.size(), 2u * (8 - 3));
    EXPECT_EQ(v.target_classes.size(), 5u);
    EXPECT_EQ(v.heldout_target_weight, 0.0);
  };
  auto r = experiment::run_cross_validation(d, o);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].observed.folds, 12);
  EXPECT_EQ(r[0].observed.pairs, 12 * 3);
  EXPECT_EQ(r[1].null.size(), 1u);
  // ridge: one fit per fold (permutations reuse it); brainsem: one per fold and permutation.
  EXPECT_EQ(views, 12 + 12 * 2);
}

TEST(CrossValidation, RandomTargetsGiveANullCentredAtHalf) {
  auto s = make_synthetic(12, 1, false, 11);
  auto d = experiment::make_cv_dataset(s.subject, s.table);
  experiment::CvOptions o;
  o.methods = {"ridge"};
  o.permutations = 200;
  auto r = experiment::run_cross_validation(d, o).at(0);
  EXPECT_EQ(r.observed.folds, 66);  // 12 choose 2
  EXPECT_TRUE(r.all_splits);
  EXPECT_NEAR(r.null_mean_two_afc, 0.5, 0.03);
  // Rank among ALL classes has no symmetric chance level (predictions are built from training
  // classes' embeddings): the null, not 0.5, is the reference. It must stay a valid fraction.
  EXPECT_GT(r.null_mean_rank_accuracy, 0.0);
  EXPECT_LT(r.null_mean_rank_accuracy, 0.6);
  EXPECT_NEAR(r.observed.two_afc, 0.5, 0.2);
  EXPECT_GT(r.null_sd_two_afc, 0.0);
  EXPECT_GT(r.p_two_afc, 0.01);
}

TEST(CrossValidation, LearnableDataIsFarAboveChanceForRidgeAndBrainSem) {
  auto s = make_synthetic(16, 1, true, 5);  // 16 classes x 1 averaged response, 3 ROIs
  auto d = experiment::make_cv_dataset(s.subject, s.table);
  experiment::CvOptions o;
  o.methods = {"ridge"};
  o.permutations = 100;
  auto ridge = experiment::run_cross_validation(d, o).at(0);
  std::printf("ridge: 2-AFC %.3f (null %.3f +- %.3f, p %.4f), rank acc %.3f (null %.3f), top-1 %.3f\n",
              ridge.observed.two_afc, ridge.null_mean_two_afc, ridge.null_sd_two_afc, ridge.p_two_afc,
              ridge.observed.rank_accuracy, ridge.null_mean_rank_accuracy, ridge.observed.top1);
  EXPECT_EQ(ridge.observed.folds, 120);
  EXPECT_GT(ridge.observed.two_afc, 0.9);
  EXPECT_GT(ridge.observed.rank_accuracy, ridge.null_mean_rank_accuracy + 0.2);
  EXPECT_LT(ridge.p_rank_accuracy, 0.05);
  EXPECT_LT(ridge.p_two_afc, 0.05);
  EXPECT_NEAR(ridge.p_two_afc, 1.0 / 101, 1e-12);  // no permutation reaches the real assignment
  EXPECT_NEAR(ridge.null_mean_two_afc, 0.5, 0.05);
  // Per-ROI subsets: each alone still decodes (the signal is in every voxel).
  auto v2 = experiment::select_rois(d, {"V2"});
  EXPECT_EQ(v2.x.sizes(), (std::vector<int64_t>{16, 1, 12}));
  o.permutations = 0;
  auto r2 = experiment::run_cross_validation(v2, o, "V2").at(0);
  EXPECT_GT(r2.observed.two_afc, 0.8);
  EXPECT_TRUE(std::isnan(r2.p_two_afc));

  // BrainSem in a sample of the same folds (one sample per class: virtual brain = the sample).
  o.methods = {"brainsem"};
  o.max_splits = 8;
  o.brainsem_permutations = 0;
  o.train = tiny_brainsem();
  auto bs = experiment::run_cross_validation(d, o).at(0);
  std::printf("brainsem: 2-AFC %.3f over %lld folds\n", bs.observed.two_afc, (long long)bs.observed.folds);
  EXPECT_EQ(bs.observed.folds, 8);
  EXPECT_FALSE(bs.all_splits);
  EXPECT_GT(bs.observed.two_afc, 0.75);
}

// The naive protocol, written out: for every fold and permutation, the primal ridge solve
// (Z^T Z + alpha I) W = Z^T Y_c on explicitly permuted targets, for every alpha, in every inner fold.
// run_cross_validation computes the same thing in the dual with shared spectra and batched scoring.
struct OracleFold {
  double alpha = 0;
  std::vector<int64_t> ranks;
  double two_afc = 0;
};

// Predictions of each group's mean row (normalised) and their cosine to every class under `emb`.
// rows: training rows; test: test rows with their group; returns sim [A, groups, C].
torch::Tensor oracle_similarity(const torch::Tensor& x, const std::vector<int64_t>& rows,
                                const std::vector<int64_t>& test, const std::vector<int64_t>& test_group,
                                int64_t groups, const std::vector<int64_t>& row_class, const torch::Tensor& emb,
                                const std::vector<double>& alphas) {
  auto xtr = x.index_select(0, torch::tensor(rows, torch::kInt64));
  auto mean = xtr.mean(0), scale = xtr.std(0).clamp_min(1e-8);
  auto z = (xtr - mean) / scale;
  auto zte = (x.index_select(0, torch::tensor(test, torch::kInt64)) - mean) / scale;
  std::vector<int64_t> cls;
  for (auto r : rows) cls.push_back(row_class[r]);
  auto y = emb.index_select(0, torch::tensor(cls, torch::kInt64));
  auto yc = y - y.mean(0);
  auto avg = torch::zeros({groups, static_cast<int64_t>(test.size())}, torch::kFloat64);
  for (size_t i = 0; i < test.size(); ++i) avg[test_group[i]][static_cast<int64_t>(i)] = 1.0;
  avg = avg / avg.sum(1, true);
  std::vector<torch::Tensor> out;
  for (double a : alphas) {
    auto w = torch::linalg::solve(z.t().matmul(z) + a * torch::eye(z.size(1), torch::kFloat64), z.t().matmul(yc), true);
    auto pred = avg.matmul(zte.matmul(w));
    out.push_back((pred / pred.norm(2, 1, true)).matmul(emb.t()));
  }
  return torch::stack(out);
}

// 2-AFC pair sum and ranks of rows (true class cls[i]) among the classes not in `excluded`.
void oracle_score(const torch::Tensor& sim, const std::vector<int64_t>& cls, const std::set<int64_t>& excluded,
                  double* pair_sum, std::vector<int64_t>* ranks) {
  auto s = sim.accessor<double, 2>();
  const int64_t g = static_cast<int64_t>(cls.size());
  *pair_sum = 0;
  for (int64_t i = 0; i < g; ++i)
    for (int64_t j = i + 1; j < g; ++j) {
      // grouped so that an exact tie (twin embeddings) gives exactly 0
      double d = (s[i][cls[i]] - s[i][cls[j]]) + (s[j][cls[j]] - s[j][cls[i]]);
      *pair_sum += d > 0 ? 1.0 : d == 0 ? 0.5 : 0.0;
    }
  ranks->clear();
  for (int64_t i = 0; i < g; ++i) {
    int64_t r = 0;
    for (int64_t c = 0; c < sim.size(1); ++c) r += !excluded.count(c) && s[i][c] >= s[i][cls[i]];
    ranks->push_back(r);
  }
}

OracleFold oracle_fold(const experiment::CvDataset& d, const experiment::CvOptions& o, size_t fi,
                       const std::vector<int64_t>& heldout, const torch::Tensor& emb) {
  const int64_t c = d.num_classes(), k = static_cast<int64_t>(heldout.size());
  auto alphas = o.alphas;
  std::sort(alphas.begin(), alphas.end());
  auto x = eval::flatten_rois(d.x, d.roi_sizes).to(torch::kFloat64);
  std::set<int64_t> held(heldout.begin(), heldout.end());
  std::vector<int64_t> train_classes;
  for (int64_t cc = 0; cc < c; ++cc)
    if (!held.count(cc)) train_classes.push_back(cc);
  const int64_t folds_in = std::min<int64_t>(o.inner_folds, static_cast<int64_t>(train_classes.size()) / 2);
  std::vector<double> score(alphas.size(), 0.0);
  std::mt19937_64 rng(o.seed * 7919 + fi);
  std::shuffle(train_classes.begin(), train_classes.end(), rng);
  for (int64_t f = 0; f < folds_in; ++f) {
    std::vector<int64_t> val;
    for (size_t i = f; i < train_classes.size(); i += folds_in) val.push_back(train_classes[i]);
    std::vector<int64_t> tr, te, grp;
    for (size_t r = 0; r < d.sample_class.size(); ++r) {
      auto cls = d.sample_class[r];
      auto it = std::find(val.begin(), val.end(), cls);
      if (held.count(cls)) continue;
      if (it == val.end()) {
        tr.push_back(static_cast<int64_t>(r));
      } else {
        te.push_back(static_cast<int64_t>(r));
        grp.push_back(it - val.begin());
      }
    }
    auto sim = oracle_similarity(x, tr, te, grp, static_cast<int64_t>(val.size()), d.sample_class, emb, alphas);
    for (size_t a = 0; a < alphas.size(); ++a) {
      double pairs = 0;
      std::vector<int64_t> ranks;
      oracle_score(sim[static_cast<int64_t>(a)], val, held, &pairs, &ranks);
      const double g = static_cast<double>(val.size()), ctr = static_cast<double>(c - k);
      double acc = 0;
      for (auto r : ranks) acc += (ctr - static_cast<double>(r)) / (ctr - 1) / g;
      score[a] += pairs / (g * (g - 1) / 2) + acc;
    }
  }
  OracleFold out;
  size_t best = alphas.size() / 2;
  if (folds_in >= 2) best = eval::best_alpha_index(score);
  out.alpha = alphas[best];
  std::vector<int64_t> tr, te, grp;
  for (size_t r = 0; r < d.sample_class.size(); ++r) {
    auto cls = d.sample_class[r];
    if (!held.count(cls)) {
      tr.push_back(static_cast<int64_t>(r));
    } else {
      te.push_back(static_cast<int64_t>(r));
      grp.push_back(std::find(heldout.begin(), heldout.end(), cls) - heldout.begin());
    }
  }
  auto sim = oracle_similarity(x, tr, te, grp, k, d.sample_class, emb, {out.alpha})[0];
  double pairs = 0;
  oracle_score(sim, heldout, {}, &pairs, &out.ranks);
  out.two_afc = pairs / static_cast<double>(k * (k - 1) / 2);
  return out;
}

// Runs the cross-validation and the naive protocol and compares every fold's alpha, ranks and
// 2-AFC and every permutation's metrics. Returns the number of distinct alphas chosen.
size_t expect_ridge_matches_naive_protocol(const experiment::CvDataset& d) {
  experiment::CvOptions o;
  o.methods = {"ridge"};
  o.k = 3;
  o.permutations = 4;
  o.inner_folds = 3;
  o.seed = 5;
  o.alphas = {1e4, 0.1, 1, 10, 100, 1e3};
  o.workers = 3;  // folds on 3 threads; the numbers must not depend on it
  auto r = experiment::run_cross_validation(d, o).at(0);
  {
    o.workers = 1;
    auto serial = experiment::run_cross_validation(d, o).at(0).to_json();
    auto parallel = r.to_json();
    serial.erase("seconds");
    parallel.erase("seconds");
    EXPECT_EQ(serial, parallel) << "cross-validation numbers depend on the number of workers";
    // One permutation per scoring GEMM instead of all in one: the chunks' offsets must not matter.
    o.score_chunk = 1;
    auto chunked = experiment::run_cross_validation(d, o).at(0).to_json();
    chunked.erase("seconds");
    EXPECT_EQ(chunked, parallel) << "cross-validation numbers depend on the scoring GEMM's chunk size";
    o.score_chunk = experiment::CvOptions{}.score_chunk;
  }
  auto splits = experiment::leave_k_out_splits(d.num_classes(), o.k, o.max_splits, o.seed);
  EXPECT_EQ(r.folds.size(), splits.size());
  if (r.folds.size() != splits.size()) return 0;
  std::set<double> chosen;
  for (int64_t p = -1; p < o.permutations; ++p) {
    auto emb = d.embeddings.to(torch::kFloat64);
    if (p >= 0)
      emb =
          emb.index_select(0, torch::tensor(experiment::class_permutation(d.num_classes(), o.seed, p), torch::kInt64));
    experiment::CvMetrics m;
    for (size_t fi = 0; fi < splits.size(); ++fi) {
      auto want = oracle_fold(d, o, fi, splits[fi], emb);
      double pair_sum = want.two_afc * 3;
      m.folds += 1;
      m.pairs += 3;
      m.two_afc += pair_sum;
      for (auto rk : want.ranks) {
        m.items += 1;
        m.top1 += rk == 1;
        m.top5 += rk <= 5;
        m.mean_rank += static_cast<double>(rk);
        m.rank_accuracy += static_cast<double>(d.num_classes() - rk) / static_cast<double>(d.num_classes() - 1);
      }
      if (p >= 0) continue;
      chosen.insert(want.alpha);
      EXPECT_EQ(r.folds[fi].alpha, want.alpha) << "fold " << fi;
      EXPECT_EQ(r.folds[fi].ranks, want.ranks) << "fold " << fi;
      EXPECT_NEAR(r.folds[fi].two_afc, want.two_afc, 1e-12) << "fold " << fi;
    }
    experiment::finish_metrics(m);
    const auto& got = p < 0 ? r.observed : r.null.at(p);
    EXPECT_NEAR(got.two_afc, m.two_afc, 1e-12) << "permutation " << p;
    EXPECT_NEAR(got.top1, m.top1, 1e-12) << "permutation " << p;
    EXPECT_NEAR(got.mean_rank, m.mean_rank, 1e-12) << "permutation " << p;
    EXPECT_NEAR(got.rank_accuracy, m.rank_accuracy, 1e-12) << "permutation " << p;
  }
  return chosen.size();
}

TEST(CrossValidation, RidgeMatchesTheNaivePrimalProtocolInEveryFoldAndPermutation) {
  // 10 classes x 2 samples, some signal, k = 3 (all 120 splits), 4 permutations, 3 inner folds,
  // an alpha grid wide enough that the choice varies between folds.
  auto s = make_synthetic(10, 2, true, 21, 2.0);
  auto chosen = expect_ridge_matches_naive_protocol(experiment::make_cv_dataset(s.subject, s.table));
  EXPECT_GE(chosen, 2u) << "the alpha choice never varied: the test would not see a wrong inner CV";
}

TEST(CrossValidation, RidgeTiesAreDecidedInFloat64) {
  // Classes 2 and 7 share one embedding: their dot products with every prediction tie exactly, so
  // the float32 scores cannot decide those ranks and 2-AFC pairs (both held out together: an exact
  // 2-AFC tie, 0.5) and the float64 path must give the naive protocol's answer.
  auto s = make_synthetic(10, 2, true, 21, 2.0);
  s.table.embeddings[7] = s.table.embeddings[2];
  expect_ridge_matches_naive_protocol(experiment::make_cv_dataset(s.subject, s.table));
}

TEST(CrossValidation, OneSamplePerClassVirtualBrainIsTheSampleItself) {
  // With K = 1 sample, Eq. 1 has nothing to mix: every mode must return the real sample.
  auto x = torch::randn({4, 2, 3});
  std::vector<std::vector<int64_t>> rows{{0}, {1}, {2}, {3}};
  std::mt19937_64 rng(1);
  for (auto mode : {model::VirtualMode::paper, model::VirtualMode::literal, model::VirtualMode::released}) {
    auto v = model::virtual_batch(x, rows, {2, 0, 3, 3, 1}, mode, rng);
    EXPECT_TRUE(torch::allclose(v[0], x[2], 0, 0) && torch::allclose(v[3], x[3], 0, 0) &&
                torch::allclose(v[4], x[1], 0, 0))
        << model::to_string(mode);
  }
}

TEST(CrossValidation, BadInputIsAClearError) {
  auto s = make_synthetic(6, 1, true, 2);
  auto missing = s.table.subset({"class0", "class1", "class2", "class4", "class5"}, "t");
  missing.source = "text.safetensors";
  EXPECT_NE(error_of([&] { experiment::make_cv_dataset(s.subject, missing); }).find("class 'class3' has no embedding"),
            std::string::npos);
  auto d = experiment::make_cv_dataset(s.subject, s.table);
  EXPECT_NE(error_of([&] { experiment::select_rois(d, {"V4"}); }).find("it has V1, V2, LOC"), std::string::npos);
  EXPECT_NE(error_of([&] { experiment::leave_k_out_splits(6, 5, 0, 0); }).find("at least 2 training classes"),
            std::string::npos);
  EXPECT_NE(error_of([&] { experiment::leave_k_out_splits(6, 1, 0, 0); }).find("2-AFC needs a pair"),
            std::string::npos);
  experiment::CvOptions o;
  o.methods = {"lasso"};
  EXPECT_NE(error_of([&] { experiment::run_cross_validation(d, o); }).find("unknown cv method 'lasso'"),
            std::string::npos);
  auto two = make_synthetic(2, 3, true, 2);
  EXPECT_NE(error_of([&] { experiment::make_cv_dataset(two.subject, two.table); }).find("at least 3 classes"),
            std::string::npos);
}

TEST(CrossValidation, TableColumnsStayAlignedForLongRoiNames) {
  experiment::CvMethodResult a, b;
  a.method = "ridge";
  a.rois = "all";
  a.observed.folds = 3;
  a.observed.two_afc = 0.75;
  b.method = "brainsem";
  b.rois = "lateral_occipital_complex+fusiform_face_area";
  b.observed.folds = 3;
  b.observed.two_afc = 0.5;
  const std::string table = experiment::format_cv_table({a, b});
  std::vector<std::string> lines;
  for (size_t at = 0, end; (end = table.find('\n', at)) != std::string::npos; at = end + 1)
    lines.push_back(table.substr(at, end - at));
  ASSERT_EQ(lines.size(), 3u);
  // Every row has the same length and the 2-AFC column starts at the same offset.
  EXPECT_EQ(lines[1].size(), lines[0].size());
  EXPECT_EQ(lines[2].size(), lines[0].size());
  EXPECT_EQ(lines[1].find("0.750"), lines[2].find("0.500"));
  EXPECT_EQ(lines[2].rfind(b.rois + " brainsem ", 0), 0u) << lines[2];
}
