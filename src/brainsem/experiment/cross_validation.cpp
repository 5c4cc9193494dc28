#include "brainsem/experiment/cross_validation.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <mutex>
#include <numeric>
#include <random>
#include <set>
#include <thread>

#include "brainsem/core/error.h"
#include "brainsem/core/progress.h"
#include "brainsem/core/runtime.h"
#include "brainsem/eval/ranks.h"
#include "brainsem/eval/ridge.h"
#include "brainsem/train/trainer.h"
#include "brainsem/train/training_data.h"

using nlohmann::json;

namespace brainsem::experiment {

// ---------------------------------------------------------------- dataset and folds

CvDataset make_cv_dataset(const data::SubjectData& s, const data::ClassEmbeddings& table) {
  CvDataset d;
  d.source = s.source;
  d.roi_names = s.roi_names;
  d.roi_sizes = s.roi_sizes;
  d.x = s.test_x.size(0) > 0 ? torch::cat({s.train_x, s.test_x}, 0).to(torch::kFloat32) : s.train_x.to(torch::kFloat32);
  std::map<std::string, int64_t> index;
  auto add = [&](const std::vector<std::string>& classes) {
    for (const auto& c : classes) {
      auto [it, fresh] = index.emplace(c, static_cast<int64_t>(d.class_names.size()));
      if (fresh) d.class_names.push_back(c);
      d.sample_class.push_back(it->second);
    }
  };
  add(s.train_classes);
  add(s.test_classes);
  BRAINSEM_CHECK(static_cast<int64_t>(d.sample_class.size()) == d.x.size(0), s.source, ": ", d.sample_class.size(),
                 " class labels for ", d.x.size(0), " samples");
  BRAINSEM_CHECK(d.num_classes() >= 3, s.source, ": cross-validation needs at least 3 classes, found ",
                 d.num_classes());
  auto e = table.rows_for(d.class_names, s.source + " (cross-validation targets)").to(torch::kFloat32);
  auto norms = e.norm(2, 1);
  for (int64_t c = 0; c < d.num_classes(); ++c)
    BRAINSEM_CHECK(norms[c].item<float>() > 0, table.source, ": the embedding of class '", d.class_names[c],
                   "' is all zeros; cosine similarity needs a nonzero vector");
  d.embeddings = (e / norms.unsqueeze(1)).contiguous();
  return d;
}

CvDataset select_rois(const CvDataset& d, const std::vector<std::string>& rois) {
  BRAINSEM_CHECK(!rois.empty(), "select_rois: no ROI given");
  std::vector<int64_t> keep;
  for (const auto& r : rois) {
    auto it = std::find(d.roi_names.begin(), d.roi_names.end(), r);
    if (it == d.roi_names.end()) {
      std::string have;
      for (const auto& n : d.roi_names) have += (have.empty() ? "" : ", ") + n;
      fail(d.source, ": ROI '", r, "' is not in the dataset; it has ", have);
    }
    keep.push_back(it - d.roi_names.begin());
  }
  CvDataset out = d;
  out.roi_names.clear();
  out.roi_sizes.clear();
  int64_t p = 0;
  for (auto k : keep) {
    out.roi_names.push_back(d.roi_names[k]);
    out.roi_sizes.push_back(d.roi_sizes[k]);
    p = std::max(p, d.roi_sizes[k]);
  }
  out.x = d.x.index_select(1, torch::tensor(keep, torch::kInt64)).narrow(2, 0, p).contiguous();
  return out;
}

int64_t choose(int64_t n, int64_t k) {
  if (k < 0 || k > n) return 0;
  k = std::min(k, n - k);
  // Exact: the running product of i consecutive integers is divisible by i!.
  __int128 r = 1;
  for (int64_t i = 1; i <= k; ++i) {
    r = r * (n - k + i) / i;
    if (r > std::numeric_limits<int64_t>::max()) return std::numeric_limits<int64_t>::max();
  }
  return static_cast<int64_t>(r);
}

std::vector<std::vector<int64_t>> leave_k_out_splits(int64_t c, int64_t k, int64_t max_splits, uint64_t seed,
                                                     bool* all) {
  BRAINSEM_CHECK(k >= 2 && k <= c - 2, "leave-k-classes-out: k = ", k,
                 " must be at least 2 (2-AFC needs a pair) and "
                 "leave at least 2 training classes of ",
                 c);
  BRAINSEM_CHECK(max_splits >= 0, "--max-splits must be >= 0 (0 = all)");
  const int64_t total = choose(c, k);
  std::vector<std::vector<int64_t>> out;
  if (max_splits == 0 || total <= max_splits) {
    BRAINSEM_CHECK(total <= 10'000'000, "leave-", k, "-classes-out of ", c, " classes has ", total,
                   " splits; set --max-splits to sample some");
    if (all) *all = true;
    std::vector<int64_t> comb(k);
    std::iota(comb.begin(), comb.end(), 0);
    while (true) {
      out.push_back(comb);
      int64_t i = k - 1;
      while (i >= 0 && comb[i] == c - k + i) --i;
      if (i < 0) break;
      ++comb[i];
      for (int64_t j = i + 1; j < k; ++j) comb[j] = comb[j - 1] + 1;
    }
    return out;
  }
  if (all) *all = false;
  std::mt19937_64 rng(seed ^ 0x51ab5eedULL);
  std::set<std::vector<int64_t>> chosen;
  std::vector<int64_t> order(c);
  std::iota(order.begin(), order.end(), 0);
  while (static_cast<int64_t>(chosen.size()) < max_splits) {
    for (int64_t i = 0; i < k; ++i) std::swap(order[i], order[std::uniform_int_distribution<int64_t>(i, c - 1)(rng)]);
    std::vector<int64_t> comb(order.begin(), order.begin() + k);
    std::sort(comb.begin(), comb.end());
    chosen.insert(comb);
  }
  out.assign(chosen.begin(), chosen.end());
  return out;
}

Fold make_fold(const CvDataset& d, const std::vector<int64_t>& heldout) {
  Fold f;
  f.heldout = heldout;
  std::sort(f.heldout.begin(), f.heldout.end());
  std::vector<char> out(d.num_classes(), 0);
  for (auto c : f.heldout) {
    BRAINSEM_CHECK(c >= 0 && c < d.num_classes() && !out[c], "fold: bad or repeated held-out class ", c);
    out[c] = 1;
  }
  for (size_t i = 0; i < d.sample_class.size(); ++i) (out[d.sample_class[i]] ? f.test_rows : f.train_rows).push_back(i);
  // Checked, not assumed: no training row of a held-out class, every held-out class tested.
  std::set<int64_t> tested;
  for (auto r : f.train_rows) BRAINSEM_CHECK(!out[d.sample_class[r]], "fold leak: training row ", r, " is held out");
  for (auto r : f.test_rows) tested.insert(d.sample_class[r]);
  BRAINSEM_CHECK(tested.size() == f.heldout.size() && !f.train_rows.empty(), "fold: held-out classes without samples");
  return f;
}

std::vector<int64_t> class_permutation(int64_t classes, uint64_t seed, int64_t p) {
  std::seed_seq seq{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32), static_cast<uint32_t>(p),
                    0x9e3779b9u, 0x7065726du};
  std::mt19937_64 rng(seq);
  std::vector<int64_t> perm(classes);
  std::iota(perm.begin(), perm.end(), 0);
  std::shuffle(perm.begin(), perm.end(), rng);
  return perm;
}

// ---------------------------------------------------------------- metrics

json CvMetrics::to_json() const {
  return json{{"two_afc", two_afc},
              {"top1", top1},
              {"top5", top5},
              {"mean_rank", mean_rank},
              {"rank_accuracy", rank_accuracy},
              {"folds", folds},
              {"pairs", pairs},
              {"items", items}};
}

namespace {

// Pairwise 2-AFC and ranks for a batch: sim [B, g, C] (row i = held-out class cls[i]).
// Returns per batch entry: (sum of pair scores, ranks [g]).
struct BatchScores {
  torch::Tensor pair_sum;  // [B] sum over pairs of {1, 0.5, 0}
  torch::Tensor ranks;     // [B, g] int64
  int64_t pairs = 0;
};

BatchScores score_batch(const torch::Tensor& sim, const std::vector<int64_t>& cls) {
  const int64_t g = static_cast<int64_t>(cls.size());
  auto idx = torch::tensor(cls, torch::kInt64);
  auto m = sim.index_select(2, idx);  // [B, g, g]: m[i][j] = sim(p_i, e_cls_j)
  auto diag = m.diagonal(0, 1, 2);    // [B, g] sim(p_i, e_cls_i)
  // d[i][j] = (correct pairing) - (swapped pairing) for the pair (i, j).
  auto d = diag.unsqueeze(2) + diag.unsqueeze(1) - m - m.transpose(1, 2);
  auto score = (d > 0).to(torch::kFloat64) + 0.5 * (d == 0).to(torch::kFloat64);
  auto upper = torch::ones({g, g}, torch::kBool).triu(1);
  BatchScores out;
  out.pair_sum = (score * upper.to(torch::kFloat64)).sum({1, 2});
  out.pairs = g * (g - 1) / 2;
  out.ranks = eval::true_ranks(sim, idx.unsqueeze(0).expand({sim.size(0), g}));  // [B, g]
  return out;
}

void add_fold(CvMetrics& m, double pair_sum, int64_t pairs, const int64_t* ranks, int64_t g, int64_t classes) {
  m.folds += 1;
  m.pairs += pairs;
  m.two_afc += pair_sum;
  for (int64_t i = 0; i < g; ++i) {
    m.items += 1;
    m.top1 += ranks[i] == 1;
    m.top5 += ranks[i] <= 5;
    m.mean_rank += static_cast<double>(ranks[i]);
    m.rank_accuracy += static_cast<double>(classes - ranks[i]) / static_cast<double>(classes - 1);
  }
}

}  // namespace

FoldOutcome score_fold(const torch::Tensor& sim, const std::vector<int64_t>& heldout, CvMetrics& m) {
  BRAINSEM_CHECK(sim.dim() == 2 && sim.size(0) == static_cast<int64_t>(heldout.size()), "score_fold: sim ", sim.sizes(),
                 " needs one row per held-out class (", heldout.size(), ")");
  auto b = score_batch(sim.to(torch::kFloat64).unsqueeze(0), heldout);
  FoldOutcome f;
  f.heldout = heldout;
  auto ranks = b.ranks[0].contiguous();
  f.ranks.assign(ranks.data_ptr<int64_t>(), ranks.data_ptr<int64_t>() + ranks.numel());
  double pair_sum = b.pair_sum[0].item<double>();
  f.two_afc = pair_sum / b.pairs;
  add_fold(m, pair_sum, b.pairs, f.ranks.data(), static_cast<int64_t>(heldout.size()), sim.size(1));
  return f;
}

void finish_metrics(CvMetrics& m) {
  if (m.pairs > 0) m.two_afc /= static_cast<double>(m.pairs);
  if (m.items > 0) {
    m.top1 /= static_cast<double>(m.items);
    m.top5 /= static_cast<double>(m.items);
    m.mean_rank /= static_cast<double>(m.items);
    m.rank_accuracy /= static_cast<double>(m.items);
  }
}

namespace {

// ---------------------------------------------------------------- ridge in the dual, per class
//
// With Y = S E (S [n, C] one-hot sample -> class, E [C, E] embeddings), the centred ridge
// prediction of eval/ridge.h is  P = H (S - 1 s^T) E,  H = Kt U diag(1/(lambda + alpha)) U^T,
// where K = Z Z^T = U diag(lambda) U^T over training rows, Kt = Z_test Z^T, s = mean row of S.
// So every prediction is  coef [., C] x E, with coef independent of E: a fold is fitted once and
// each permutation (a reordering of E) costs only small matrix products. A held-out class's
// column of coef is exactly zero (its rows are not in S, so its column of S - 1 s^T is zero):
// checked below. The training mean s^T E is not added back (eval/ridge.h says why).
torch::Tensor ridge_coefficients(const torch::Tensor& x, const std::vector<int64_t>& train_rows,
                                 const std::vector<int64_t>& test_rows, const std::vector<int64_t>& sample_class,
                                 int64_t classes, const std::vector<int64_t>& test_group, int64_t groups,
                                 const std::vector<double>& alphas) {
  const int64_t n = static_cast<int64_t>(train_rows.size()), m = static_cast<int64_t>(test_rows.size());
  auto spectrum = eval::RidgeSpectrum::fit(x.index_select(0, torch::tensor(train_rows, torch::kInt64)));
  auto basis = spectrum.test_basis(x.index_select(0, torch::tensor(test_rows, torch::kInt64)));  // [m, n]
  auto s = torch::zeros({n, classes}, torch::kFloat64);
  auto s_acc = s.accessor<double, 2>();
  for (int64_t i = 0; i < n; ++i) s_acc[i][sample_class[train_rows[i]]] = 1.0;
  auto gavg = torch::zeros({groups, m}, torch::kFloat64);  // mean over each group's test rows
  auto g_acc = gavg.accessor<double, 2>();
  for (int64_t i = 0; i < m; ++i) g_acc[test_group[i]][i] = 1.0;
  gavg = gavg / gavg.sum(1, true);
  return spectrum.predict_centred(gavg.matmul(basis), s - s.mean(0), alphas);  // [A, g, C]
}

// The scores of one fit's predictions coef [A, g, C] (row i predicts class cls[i]) under every
// permutation p and alpha a: the 2-AFC pair sum among the g classes and each class's rank among
// the classes not in `excluded`.
struct FitScores {
  torch::Tensor pair_sum;  // [Pm, A] float64
  torch::Tensor ranks;     // [Pm, A, g] int64
  int64_t pairs = 0;
};

// A dot product with four partial sums: a fixed order (so the same result on every run) that
// the compiler can vectorise.
template <typename T>
[[gnu::always_inline]] inline double dot(const double* w, const T* v, int64_t n) {
  double s[4] = {0, 0, 0, 0};
  int64_t j = 0;
  for (; j + 4 <= n; j += 4)
    for (int k = 0; k < 4; ++k) s[k] += w[j + k] * static_cast<double>(v[j + k]);
  for (; j < n; ++j) s[0] += w[j] * static_cast<double>(v[j]);
  return (s[0] + s[1]) + (s[2] + s[3]);
}

// The same for a float32 vector with eight partial sums (two AVX2 registers), for the many
// norms of score_block: four chained sums made it wait on the adder. Any fixed order does, since
// score_block bounds the norms' rounding.
[[gnu::always_inline]] inline double dot8(const double* w, const float* v, int64_t n) {
  double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t j = 0;
  for (; j + 8 <= n; j += 8)
    for (int k = 0; k < 8; ++k) s[k] += w[j + k] * static_cast<double>(v[j + k]);
  for (; j < n; ++j) s[0] += w[j] * static_cast<double>(v[j]);
  return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

// One (permutation p, alpha) block of a fit: its g rows of float32 dot products with every class
// (row i predicts class cls[i]), the rows' float64 coefficients (zero outside the fitted classes),
// and the float64 q_rows to recompute any dot product exactly.
struct Block {
  Block(const std::vector<int64_t>& classes, const std::vector<int64_t>& fitted_classes,
        const std::vector<int64_t>& excluded_classes, int64_t candidates, int64_t permutations, const double* q)
      : cls(classes), fitted(fitted_classes), excluded(excluded_classes), c(candidates), pm(permutations), q_rows(q) {
    const size_t g = cls.size();
    rows.resize(g);
    for (auto* v : {&norm, &err, &rel, &inv, &diag}) v->resize(g);
    m.resize(g * g);
    mt.resize(g * g);
  }
  const std::vector<int64_t>& cls;
  const std::vector<int64_t>& fitted;
  const std::vector<int64_t>& excluded;  // sorted classes that are no candidates (never a row's own)
  int64_t c = 0, pm = 0, p = 0;
  const double* coef = nullptr;    // [g, C]
  const double* l1 = nullptr;      // [g] sum of |coef| per row
  const double* q_rows = nullptr;  // [C, Pm, C], each q_rows[:, p, :] symmetric
  std::vector<const float*> rows;  // g pointers to C float32 dot products
  // Scratch of score_block, kept between blocks: [g] each, m and mt [g, g].
  std::vector<double> norm, err, rel, inv, diag, m, mt;

  // The float64 dot product of row i's prediction with class j: coef_i . q_rows[:, p, j], read as
  // the contiguous q_rows[j, p, :] (symmetry).
  double exact(int64_t i, int64_t j) const { return dot(coef + i * c, q_rows + (j * pm + p) * c, c); }
  // |prediction i|^2 in float64.
  double exact_norm_sq(int64_t i) const {
    double s = 0;
    for (auto f : fitted) s += coef[i * c + f] * exact(i, f);
    return s;
  }
};

// Compiled twice, for AVX2 and for the baseline x86-64, the first chosen at load time where the CPU
// has it: the counting loops vectorise 8 floats wide instead of 4. Without FMA (not in "avx2"),
// and with ISO C++'s no contraction, both clones compute the same numbers.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx2", "default")))
#endif
double
score_block(Block& b, int64_t* ranks) {
  const int64_t g = static_cast<int64_t>(b.cls.size()), nc = static_cast<int64_t>(b.fitted.size());
  const double unit = 2.0 * static_cast<double>(nc + 2) * std::ldexp(1.0, -24);
  auto& norm = b.norm;
  auto& err = b.err;
  auto& rel = b.rel;
  auto exact_norm = [&](int64_t i) {
    if (rel[i] == 0) return;
    norm[i] = std::sqrt(std::max(b.exact_norm_sq(i), 1e-300));
    rel[i] = 0;
  };
  for (int64_t i = 0; i < g; ++i) {
    const float* d = b.rows[i];
    const double sq = dot8(b.coef + i * b.c, d, b.c);
    err[i] = unit * b.l1[i];                 // of each dot product
    const double sq_err = b.l1[i] * err[i];  // of |p|^2
    rel[i] = 1;
    if (sq > 4 * sq_err) {
      norm[i] = std::sqrt(sq);
      rel[i] = sq_err / sq;  // bounds the relative error of 1 / norm (sq_err / sq < 1/4)
    } else {
      exact_norm(i);
    }
    const int64_t own_class = b.cls[i];
    const double own = d[own_class], band = 2 * err[i];
    // float32 thresholds rounded outwards, so that they contain [own - band, own + band].
    const float hi = std::nextafter(static_cast<float>(own + band), std::numeric_limits<float>::infinity());
    const float lo = std::nextafter(static_cast<float>(own - band), -std::numeric_limits<float>::infinity());
    // One branch-free pass; candidates between the thresholds (other than the true class) are rare.
    int32_t above = 0, near_or_above = 0;
    for (int64_t j = 0; j < b.c; ++j) {
      above += d[j] > hi;
      near_or_above += d[j] >= lo;
    }
    for (auto j : b.excluded) {
      above -= d[j] > hi;
      near_or_above -= d[j] >= lo;
    }
    int64_t rank = above + 1;  // + the true class itself
    if (near_or_above - above > 1) {
      const double own_exact = b.exact(i, own_class);
      for (int64_t j = 0; j < b.c; ++j) {
        if (j == own_class || d[j] > hi || d[j] < lo || std::binary_search(b.excluded.begin(), b.excluded.end(), j))
          continue;
        rank += b.exact(i, j) >= own_exact;
      }
    }
    ranks[i] = rank;
  }
  // The 2-AFC of pair (i, k): (m_ii - m_ik) / |p_i| + (m_kk - m_ki) / |p_k| > 0, m_ik = p_i . e_k.
  // m [g, g] and its transpose mt, so that row i's pairs read contiguous memory.
  auto& m = b.m;
  auto& mt = b.mt;
  auto& inv = b.inv;
  auto& diag = b.diag;
  for (int64_t i = 0; i < g; ++i) {
    for (int64_t k = 0; k < g; ++k) m[i * g + k] = mt[k * g + i] = b.rows[i][b.cls[k]];
    diag[i] = m[i * g + i];
    inv[i] = 1 / norm[i];
  }
  double pairs = 0;
  for (int64_t i = 0; i < g; ++i) {
    // The pair's sign is settled when both terms are surely of one sign whatever the norms, or
    // when the float32-based difference is beyond its error bound. A decided pair counts diff > 0
    // (both terms positive make it positive). Row i's own values as they stand now: the exact
    // recomputations below update them, and the second pass must see the first pass's decisions.
    const double ei = 2 * err[i], inv_i = inv[i], rel_i = rel[i], mii = diag[i];
    const double* mi = m.data() + i * g;
    const double* mti = mt.data() + i * g;
    auto decided = [&](int64_t k, double& diff) {
      const double num_i = mii - mi[k], num_k = diag[k] - mti[k], ek = 2 * err[k];
      diff = num_i * inv_i + num_k * inv[k];
      const double bound = 2 * ((ei + std::abs(num_i) * rel_i) * inv_i + (ek + std::abs(num_k) * rel[k]) * inv[k]);
      return ((num_i > ei) & (num_k > ek)) | ((num_i < -ei) & (num_k < -ek)) | (std::abs(diff) > bound);
    };
    // First pass, branch-free so that it vectorises: count the decided pairs and the open ones.
    int64_t positive = 0, open = 0;
    for (int64_t k = i + 1; k < g; ++k) {
      double diff;
      const bool settled = decided(k, diff);
      positive += settled & (diff > 0);
      open += !settled;
    }
    pairs += static_cast<double>(positive);
    if (open == 0) continue;
    // Rare: the open pairs again, in float64.
    for (int64_t k = i + 1; k < g; ++k) {
      double diff;
      if (decided(k, diff)) continue;
      // The numerators in float64 first (four dot products); the norms (each |C|^2 products)
      // only when the norms' own error still leaves the sign open. The 1e-12 keeps a decision
      // that float64 rounding could sway for the last formula, the same as ever.
      const int64_t ci = b.cls[i], ck = b.cls[k];
      const double exact_i = b.exact(i, ci) - b.exact(i, ck), exact_k = b.exact(k, ck) - b.exact(k, ci);
      diff = exact_i * inv[i] + exact_k * inv[k];
      const double norm_bound =
          2 * (std::abs(exact_i) * (rel[i] + 1e-12) * inv[i] + std::abs(exact_k) * (rel[k] + 1e-12) * inv[k]);
      if (!(std::abs(diff) > norm_bound)) {
        exact_norm(i);
        exact_norm(k);
        inv[i] = 1 / norm[i];
        inv[k] = 1 / norm[k];
        diff = exact_i / norm[i] + exact_k / norm[k];
      }
      pairs += diff > 0 ? 1.0 : diff == 0 ? 0.5 : 0.0;
    }
  }
  return pairs;
}

// q_rows [C, Pm, C]: q_rows[c][p] = row c of E_p E_p^T (unit diagonal), so a prediction coef x E_p
// has dot products coef x q_rows[:, p, :] with every class; q_rows32 is its float32 copy. Only the
// fit's training classes have nonzero coefficients, so the contraction runs over those rows: one
// float32 GEMM for all alphas, rows and permutations, scored by score_block within its error bound.
FitScores score_fit(const torch::Tensor& coef, const std::vector<int64_t>& cls, const std::vector<int64_t>& fitted,
                    const std::vector<int64_t>& excluded, const torch::Tensor& q_rows, const torch::Tensor& q_rows32,
                    int64_t chunk_elements) {
  const int64_t na = coef.size(0), g = coef.size(1), c = coef.size(2), pm = q_rows.size(1);
  const int64_t nc = static_cast<int64_t>(fitted.size());
  auto fitted_idx = torch::tensor(fitted, torch::kInt64);
  auto coef_fitted = coef.index_select(2, fitted_idx).reshape({na * g, nc}).contiguous();  // [A*g, nc]
  auto coef32 = coef_fitted.to(torch::kFloat32);
  auto q32_fitted = q_rows32.index_select(0, fitted_idx);  // [nc, Pm, C]
  FitScores out;
  out.pair_sum = torch::zeros({pm, na}, torch::kFloat64);
  out.ranks = torch::zeros({pm, na, g}, torch::kInt64);
  out.pairs = g * (g - 1) / 2;
  // Permutations in chunks of chunk_elements dot products (default about 1 MB): score_block then
  // reads them from the cache the GEMM just wrote them to (the whole fit at once, 9 MB in a
  // 16-class inner fold, came from memory and took 10 % longer).
  const int64_t per_perm = na * g * c;
  const int64_t chunk = std::max<int64_t>(1, std::min<int64_t>(pm, chunk_elements / per_perm));
  auto coef_full = coef.contiguous();             // [A, g, C]
  auto l1 = coef_full.abs().sum(2).contiguous();  // [A, g]
  const double* cf = coef_full.data_ptr<double>();
  const double* l1p = l1.data_ptr<double>();
  const double* q64 = q_rows.data_ptr<double>();
  double* pair_out = out.pair_sum.data_ptr<double>();
  int64_t* rank_out = out.ranks.data_ptr<int64_t>();
  Block b(cls, fitted, excluded, c, pm, q64);
  for (int64_t p0 = 0; p0 < pm; p0 += chunk) {
    const int64_t np = std::min(chunk, pm - p0);
    auto dots = coef32.matmul(q32_fitted.narrow(1, p0, np).reshape({nc, np * c})).contiguous();  // [A*g, np*C]
    const float* dt = dots.data_ptr<float>();
    // Serial: the folds are the parallelism (run_ridge's workers), and `b` is reused.
    for (int64_t pl = 0; pl < np; ++pl)
      for (int64_t a = 0; a < na; ++a) {
        const int64_t p = p0 + pl;
        b.p = p;
        b.coef = cf + a * g * c;
        b.l1 = l1p + a * g;
        for (int64_t i = 0; i < g; ++i) b.rows[i] = dt + ((a * g + i) * np + pl) * c;
        pair_out[p * na + a] = score_block(b, rank_out + (p * na + a) * g);
      }
  }
  return out;
}

void check_embeddings_permutable(const CvDataset& d, int64_t perms) {
  const double bytes = static_cast<double>(perms + 1) * d.num_classes() * d.num_classes() * 8.0;
  BRAINSEM_CHECK(bytes < 2e9, "permutation null: ", perms, " permutations of ", d.num_classes(), " classes need ",
                 bytes / 1e9, " GB; use fewer --permutations");
}

void finish_null(CvMethodResult& r) {
  finish_metrics(r.observed);
  for (auto& m : r.null) finish_metrics(m);
  if (r.null.empty()) return;
  const double n = static_cast<double>(r.null.size());
  auto p_of = [&](auto get) {
    int64_t ge = 0;
    for (const auto& m : r.null) ge += get(m) >= get(r.observed) - 1e-12;
    return (1.0 + ge) / (1.0 + n);
  };
  r.p_two_afc = p_of([](const CvMetrics& m) { return m.two_afc; });
  r.p_top1 = p_of([](const CvMetrics& m) { return m.top1; });
  r.p_rank_accuracy = p_of([](const CvMetrics& m) { return m.rank_accuracy; });
  double s = 0, ss = 0, t1 = 0, ra = 0;
  for (const auto& m : r.null) {
    s += m.two_afc;
    ss += m.two_afc * m.two_afc;
    t1 += m.top1;
    ra += m.rank_accuracy;
  }
  r.null_mean_two_afc = s / n;
  r.null_sd_two_afc = n > 1 ? std::sqrt(std::max(0.0, (ss - s * s / n) / (n - 1))) : 0.0;
  r.null_mean_top1 = t1 / n;
  r.null_mean_rank_accuracy = ra / n;
}

// What is shared by every fold of a ridge cross-validation.
struct RidgeContext {
  RidgeContext(const CvDataset& dataset, const CvOptions& options) : d(dataset), o(options) {}
  const CvDataset& d;
  const CvOptions& o;
  std::vector<double> alphas;  // ascending
  torch::Tensor x;             // [N, V] float64, ROIs flattened
  torch::Tensor q_rows;        // [C, Pm, C] float64: q_rows[c][p] = row c of E_p E_p^T
  torch::Tensor q_rows32;      // the same in float32
  int64_t pm = 0;              // 1 + permutations
  std::mutex observer_mutex;
};

// One fold's outcome for every permutation p (0 = the real assignment), at the alpha its inner CV
// chose.
struct RidgeFoldResult {
  Fold fold;
  std::vector<int64_t> best;     // [Pm] alpha index
  std::vector<double> pair_sum;  // [Pm]
  std::vector<int64_t> ranks;    // [Pm * k]
  int64_t pairs = 0;
};

RidgeFoldResult ridge_fold(RidgeContext& ctx, size_t fi, const std::vector<int64_t>& split) {
  const CvDataset& d = ctx.d;
  const CvOptions& o = ctx.o;
  const auto& alphas = ctx.alphas;
  const int64_t c = d.num_classes(), pm = ctx.pm, na = static_cast<int64_t>(alphas.size());
  RidgeFoldResult out;
  out.fold = make_fold(d, split);
  const Fold& fold = out.fold;
  const int64_t k = static_cast<int64_t>(fold.heldout.size());
  // Outer fit: groups = held-out classes.
  std::map<int64_t, int64_t> group_of;
  for (int64_t i = 0; i < k; ++i) group_of[fold.heldout[i]] = i;
  std::vector<int64_t> test_group;
  for (auto row : fold.test_rows) test_group.push_back(group_of.at(d.sample_class[row]));
  auto outer = ridge_coefficients(ctx.x, fold.train_rows, fold.test_rows, d.sample_class, c, test_group, k, alphas);
  double leak = outer.index_select(2, torch::tensor(fold.heldout, torch::kInt64)).abs().max().item<double>();
  BRAINSEM_CHECK(leak == 0.0, "ridge fold ", fi, ": a held-out class's embedding entered the fit (", leak, ")");
  if (o.observer) {
    FoldView v;
    v.method = "ridge";
    v.fold = &fold;
    for (auto row : fold.train_rows) v.train_row_classes.push_back(d.sample_class[row]);
    auto used = outer.abs().amax({0, 1});  // [C] classes whose embedding the predictions depend on
    for (int64_t cc = 0; cc < c; ++cc)
      if (used[cc].item<double>() > 0) v.target_classes.push_back(cc);
    v.heldout_target_weight = leak;
    std::lock_guard<std::mutex> lock(ctx.observer_mutex);
    o.observer(v);
  }

  // Inner class-grouped CV over the training classes picks alpha (per permutation: the targets
  // differ). Fewer than 4 training classes: no inner CV, the grid's middle alpha.
  std::vector<int64_t> train_classes;
  for (int64_t cc = 0; cc < c; ++cc)
    if (!std::binary_search(fold.heldout.begin(), fold.heldout.end(), cc)) train_classes.push_back(cc);
  const std::vector<int64_t> outer_fitted = train_classes;
  const int64_t folds_in = std::min<int64_t>(o.inner_folds, static_cast<int64_t>(train_classes.size()) / 2);
  auto inner_score = torch::zeros({pm, na}, torch::kFloat64);
  if (folds_in >= 2) {
    std::mt19937_64 rng(o.seed * 7919 + fi);
    std::shuffle(train_classes.begin(), train_classes.end(), rng);
    for (int64_t f = 0; f < folds_in; ++f) {
      std::vector<int64_t> val_classes;
      for (size_t i = f; i < train_classes.size(); i += folds_in) val_classes.push_back(train_classes[i]);
      std::map<int64_t, int64_t> vg;
      for (size_t i = 0; i < val_classes.size(); ++i) vg[val_classes[i]] = static_cast<int64_t>(i);
      std::vector<int64_t> tr, te, grp;
      for (auto row : fold.train_rows) {
        auto it = vg.find(d.sample_class[row]);
        if (it == vg.end()) {
          tr.push_back(row);
        } else {
          te.push_back(row);
          grp.push_back(it->second);
        }
      }
      auto coef =
          ridge_coefficients(ctx.x, tr, te, d.sample_class, c, grp, static_cast<int64_t>(val_classes.size()), alphas);
      std::vector<int64_t> fitted;
      for (auto cc : outer_fitted)
        if (!vg.count(cc)) fitted.push_back(cc);
      // The outer held-out classes take no part in choosing alpha: not even as distractors.
      auto b = score_fit(coef, val_classes, fitted, fold.heldout, ctx.q_rows, ctx.q_rows32, o.score_chunk);
      // 2-AFC alone ignores a shrinkage towards the training-class mean (it cancels in a pair)
      // but that shrinkage ruins ranks among all classes; so score both.
      const double ctr = static_cast<double>(c - k);
      auto rank_acc = ((ctr - b.ranks.to(torch::kFloat64)) / (ctr - 1)).mean(2);  // [Pm, A]
      inner_score += b.pair_sum / static_cast<double>(b.pairs) + rank_acc;
    }
  }
  auto b = score_fit(outer, fold.heldout, outer_fitted, {}, ctx.q_rows, ctx.q_rows32, o.score_chunk);
  out.pairs = b.pairs;
  auto score_acc = inner_score.accessor<double, 2>();
  auto pair_acc = b.pair_sum.accessor<double, 2>();
  auto rank_acc = b.ranks.accessor<int64_t, 3>();
  for (int64_t p = 0; p < pm; ++p) {
    int64_t best = na / 2;
    if (folds_in >= 2) {
      std::vector<double> scores(score_acc[p].data(), score_acc[p].data() + na);
      best = static_cast<int64_t>(eval::best_alpha_index(scores));  // ties: the stronger regularisation
    }
    out.best.push_back(best);
    out.pair_sum.push_back(pair_acc[p][best]);
    for (int64_t i = 0; i < k; ++i) out.ranks.push_back(rank_acc[p][best][i]);
  }
  return out;
}

CvMethodResult run_ridge(const CvDataset& d, const CvOptions& o, const std::vector<std::vector<int64_t>>& splits,
                         const std::vector<std::vector<int64_t>>& perms, const std::string& label) {
  auto t0 = std::chrono::steady_clock::now();
  CvMethodResult r;
  r.method = "ridge";
  r.rois = label;
  r.null.resize(perms.size());
  RidgeContext ctx(d, o);
  const int64_t c = d.num_classes();
  ctx.pm = static_cast<int64_t>(perms.size()) + 1;
  ctx.alphas = o.alphas.empty() ? eval::RidgeConfig::default_alphas() : o.alphas;
  for (double a : ctx.alphas) BRAINSEM_CHECK(a > 0, "ridge alphas must be > 0, got ", a);
  std::sort(ctx.alphas.begin(), ctx.alphas.end());
  // q[p] = E_p E_p^T, p = 0 the real assignment, p >= 1 permutation p - 1.
  auto e = d.embeddings.to(torch::kFloat64);
  auto q0 = e.matmul(e.t());
  q0 = 0.5 * (q0 + q0.t());  // exactly symmetric: score_block reads columns as rows
  std::vector<torch::Tensor> qs{q0};
  for (const auto& p : perms) {
    auto idx = torch::tensor(p, torch::kInt64);
    qs.push_back(q0.index_select(0, idx).index_select(1, idx));
  }
  ctx.q_rows = torch::stack(qs, 1).contiguous();  // [C, Pm, C]
  ctx.q_rows32 = ctx.q_rows.to(torch::kFloat32);
  ctx.x = eval::flatten_rois(d.x, d.roi_sizes).to(torch::kFloat64);

  // Folds run concurrently, one worker per core (each with single-threaded BLAS: one GEMM per
  // worker beats two workers fighting over BLAS's threads); results are combined in fold order,
  // so the numbers do not depend on the worker count.
  const size_t cores = std::max(1u, std::thread::hardware_concurrency());
  const size_t workers = std::min<size_t>(o.workers > 0 ? static_cast<size_t>(o.workers) : cores, splits.size());
  core::ScopedBlasThreads blas_threads(workers > 1 ? 1 : 0);
  std::vector<RidgeFoldResult> results(splits.size());
  core::Progress bar("cv ridge " + label, static_cast<int64_t>(splits.size()), "fold");
  std::mutex progress_mutex;
  std::atomic<size_t> next{0}, done{0};
  std::atomic<bool> failed{false};
  std::exception_ptr failure;
  auto work = [&] {
    for (size_t fi = next++; fi < splits.size() && !failed; fi = next++) {
      try {
        results[fi] = ridge_fold(ctx, fi, splits[fi]);
      } catch (...) {
        std::lock_guard<std::mutex> lock(progress_mutex);
        if (!failed.exchange(true)) failure = std::current_exception();
        return;
      }
      std::lock_guard<std::mutex> lock(progress_mutex);
      bar.update(static_cast<int64_t>(++done));
    }
  };
  if (workers <= 1) {
    work();
  } else {
    std::vector<std::thread> pool;
    for (size_t w = 0; w < workers; ++w) pool.emplace_back(work);
    for (auto& t : pool) t.join();
  }
  if (failure) std::rethrow_exception(failure);
  bar.finish();

  for (const auto& f : results) {
    const int64_t k = static_cast<int64_t>(f.fold.heldout.size());
    for (int64_t p = 0; p < ctx.pm; ++p) {
      const int64_t* rk = f.ranks.data() + p * k;
      CvMetrics& m = p == 0 ? r.observed : r.null[p - 1];
      add_fold(m, f.pair_sum[p], f.pairs, rk, k, c);
      if (p == 0) {
        FoldOutcome fo;
        fo.heldout = f.fold.heldout;
        fo.two_afc = f.pair_sum[p] / f.pairs;
        fo.ranks.assign(rk, rk + k);
        fo.alpha = ctx.alphas[f.best[p]];
        r.folds.push_back(fo);
      }
    }
  }
  finish_null(r);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

// ---------------------------------------------------------------- BrainSem, trained per fold

// The fold's training data: real samples of the training classes, each paired with its class's
// embedding (perm: class c uses the embedding of class perm[c]); the library is one embedding per
// training class. With one sample per class, virtual brain activity has a single sample to mix:
// Eq. 1 then gives that sample itself (weight 1) in every mode, so B adds nothing there.
train::TrainingData fold_training_data(const CvDataset& d, const Fold& fold, const torch::Tensor& emb,
                                       data::Normalize normalize, torch::Tensor* test_x) {
  train::TrainingData t;
  std::map<int64_t, int64_t> local;
  std::vector<int64_t> global;
  for (auto row : fold.train_rows) {
    auto [it, fresh] = local.emplace(d.sample_class[row], static_cast<int64_t>(global.size()));
    if (fresh) global.push_back(d.sample_class[row]);
    t.sample_class.push_back(it->second);
  }
  auto xtr = d.x.index_select(0, torch::tensor(fold.train_rows, torch::kInt64));
  auto xte = d.x.index_select(0, torch::tensor(fold.test_rows, torch::kInt64));
  if (normalize == data::Normalize::zscore) {
    data::SubjectData s;  // z-score with the fold's training rows only
    s.train_x = xtr;
    s.test_x = xte;
    s.source = d.source;
    data::zscore_with_training_stats(s);
    xtr = s.train_x;
    xte = s.test_x;
  }
  t.x = xtr.contiguous();
  *test_x = xte.contiguous();
  auto gidx = torch::tensor(global, torch::kInt64);
  std::vector<int64_t> sample_global;
  for (auto row : fold.train_rows) sample_global.push_back(d.sample_class[row]);
  t.sample_feature = emb.index_select(0, torch::tensor(sample_global, torch::kInt64)).contiguous();
  t.library = emb.index_select(0, gidx).contiguous();
  t.library_rows.resize(global.size());
  std::iota(t.library_rows.begin(), t.library_rows.end(), 0);
  t.rows_of_class.resize(global.size());
  t.library_rows_of_class.resize(global.size());
  for (size_t i = 0; i < t.sample_class.size(); ++i)
    t.rows_of_class[t.sample_class[i]].push_back(static_cast<int64_t>(i));
  for (size_t c = 0; c < global.size(); ++c) {
    t.class_names.push_back(d.class_names[global[c]]);
    t.library_class.push_back(static_cast<int64_t>(c));
    t.library_rows_of_class[c].push_back(static_cast<int64_t>(c));
  }
  return t;
}

CvMethodResult run_brainsem(const CvDataset& d, const CvOptions& o, const std::vector<std::vector<int64_t>>& splits,
                            const std::vector<std::vector<int64_t>>& perms, const std::string& label) {
  BRAINSEM_CHECK(o.train.val_classes == 0, "cv trains each fold to its last step; --val-classes is not supported here");
  auto t0 = std::chrono::steady_clock::now();
  CvMethodResult r;
  r.method = "brainsem";
  r.rois = label;
  const int64_t runs = 1 + static_cast<int64_t>(perms.size());
  r.null.resize(perms.size());
  core::Progress bar("cv brainsem " + label, runs * static_cast<int64_t>(splits.size()), "fit");
  for (int64_t p = 0; p < runs; ++p) {
    torch::Tensor emb = d.embeddings;
    if (p > 0) emb = d.embeddings.index_select(0, torch::tensor(perms[p - 1], torch::kInt64));
    CvMetrics& m = p == 0 ? r.observed : r.null[p - 1];
    for (size_t fi = 0; fi < splits.size(); ++fi) {
      Fold fold = make_fold(d, splits[fi]);
      torch::Tensor test_x;
      auto data = fold_training_data(d, fold, emb, o.train.normalize, &test_x);
      if (o.observer) {
        FoldView v;
        v.method = "brainsem";
        v.permutation = p - 1;
        v.fold = &fold;
        for (auto row : fold.train_rows) v.train_row_classes.push_back(d.sample_class[row]);
        // Targets: the embeddings in sample_feature and library, identified by their class.
        for (const auto& name : data.class_names)
          v.target_classes.push_back(std::find(d.class_names.begin(), d.class_names.end(), name) -
                                     d.class_names.begin());
        o.observer(v);
      }
      train::Trainer trainer(o.train, data);
      while (trainer.step() < trainer.config().steps)
        trainer.step_once();                                  // no per-fit progress bar; steps resolved from epochs
      auto pred = trainer.embed(test_x).to(torch::kFloat64);  // [m, E]
      // Mean prediction per held-out class, then cosine to every class's embedding.
      std::vector<torch::Tensor> means;
      for (auto c : fold.heldout) {
        std::vector<int64_t> rows;
        for (size_t i = 0; i < fold.test_rows.size(); ++i)
          if (d.sample_class[fold.test_rows[i]] == c) rows.push_back(static_cast<int64_t>(i));
        means.push_back(pred.index_select(0, torch::tensor(rows, torch::kInt64)).mean(0));
      }
      auto pm = torch::stack(means);
      pm = pm / pm.norm(2, 1, true).clamp_min(1e-300);
      auto sim = pm.matmul(emb.to(torch::kFloat64).t());  // [k, C]
      auto fo = score_fold(sim, fold.heldout, m);
      if (p == 0) r.folds.push_back(fo);
      bar.update(p * static_cast<int64_t>(splits.size()) + static_cast<int64_t>(fi) + 1);
    }
  }
  bar.finish();
  finish_null(r);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace

// ---------------------------------------------------------------- driver and output

json CvMethodResult::to_json() const {
  auto num = [](double v) { return std::isfinite(v) ? json(v) : json(nullptr); };
  json j{{"method", method},
         {"rois", rois},
         {"observed", observed.to_json()},
         {"permutations", null.size()},
         {"p_two_afc", num(p_two_afc)},
         {"p_top1", num(p_top1)},
         {"p_rank_accuracy", num(p_rank_accuracy)},
         {"null_mean_two_afc", num(null_mean_two_afc)},
         {"null_sd_two_afc", num(null_sd_two_afc)},
         {"null_mean_top1", num(null_mean_top1)},
         {"null_mean_rank_accuracy", num(null_mean_rank_accuracy)},
         {"all_splits", all_splits},
         {"seconds", seconds},
         {"folds", json::array()}};
  for (const auto& f : folds) {
    json fj{{"heldout", f.heldout}, {"two_afc", f.two_afc}, {"ranks", f.ranks}};
    if (method == "ridge") fj["alpha"] = f.alpha;
    j["folds"].push_back(fj);
  }
  json nulls = json::array();
  for (const auto& m : null) nulls.push_back(m.two_afc);
  j["null_two_afc"] = nulls;
  return j;
}

std::vector<CvMethodResult> run_cross_validation(const CvDataset& d, const CvOptions& o, const std::string& label) {
  BRAINSEM_CHECK(o.permutations >= 0 && o.brainsem_permutations >= 0, "--permutations must be >= 0");
  for (const auto& m : o.methods)
    BRAINSEM_CHECK(m == "ridge" || m == "brainsem", "unknown cv method '", m, "'; use ridge and/or brainsem");
  bool all = false;
  auto splits = leave_k_out_splits(d.num_classes(), o.k, o.max_splits, o.seed, &all);
  std::vector<CvMethodResult> out;
  for (const auto& m : o.methods) {
    const int64_t np = m == "ridge" ? o.permutations : o.brainsem_permutations;
    check_embeddings_permutable(d, np);
    std::vector<std::vector<int64_t>> perms;
    for (int64_t p = 0; p < np; ++p) perms.push_back(class_permutation(d.num_classes(), o.seed, p));
    auto r = m == "ridge" ? run_ridge(d, o, splits, perms, label) : run_brainsem(d, o, splits, perms, label);
    r.all_splits = all;
    out.push_back(std::move(r));
  }
  return out;
}

std::string format_cv_table(const std::vector<CvMethodResult>& results) {
  // The ROI and method columns are as wide as their longest entry, so long ROI names stay aligned.
  int rois_width = 4, method_width = 6;
  for (const auto& r : results) {
    rois_width = std::max(rois_width, static_cast<int>(r.rois.size()));
    method_width = std::max(method_width, static_cast<int>(r.method.size()));
  }
  auto row = [&](const std::string& rois, const std::string& method, const char* rest) {
    std::string padded_rois = rois, padded_method = method;
    padded_rois.resize(rois_width, ' ');
    padded_method.resize(method_width, ' ');
    return padded_rois + " " + padded_method + " " + rest + "\n";
  };
  char rest[256];
  std::snprintf(rest, sizeof rest, "%6s %7s %6s %6s %9s %8s %14s %8s", "folds", "2-AFC", "top-1", "top-5", "mean rank",
                "rank acc", "null 2-AFC", "p(2-AFC)");
  std::string out = row("rois", "method", rest);
  for (const auto& r : results) {
    char null_text[64] = "n/a", p_text[32] = "n/a";
    if (!r.null.empty()) {
      std::snprintf(null_text, sizeof null_text, "%.3f+-%.3f", r.null_mean_two_afc, r.null_sd_two_afc);
      std::snprintf(p_text, sizeof p_text, "%.4f", r.p_two_afc);
    }
    std::snprintf(rest, sizeof rest, "%6lld %7.3f %6.3f %6.3f %9.2f %8.3f %14s %8s",
                  static_cast<long long>(r.observed.folds), r.observed.two_afc, r.observed.top1, r.observed.top5,
                  r.observed.mean_rank, r.observed.rank_accuracy, null_text, p_text);
    out += row(r.rois, r.method, rest);
  }
  return out;
}

}  // namespace brainsem::experiment
