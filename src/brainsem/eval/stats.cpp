#include "brainsem/eval/stats.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "brainsem/core/error.h"
#include "brainsem/eval/ranks.h"

namespace brainsem::eval {

namespace {

// A 1-D tensor as contiguous doubles; `what` names the argument in errors.
std::vector<double> as_doubles(const torch::Tensor& t, const char* what) {
  BRAINSEM_CHECK(t.defined() && t.dim() == 1, what, ": expected a 1-D tensor, got ",
                 t.defined() ? t.sizes() : torch::IntArrayRef{}, "; flatten or index it first");
  auto d = t.to(torch::kDouble).contiguous();
  std::vector<double> v(d.data_ptr<double>(), d.data_ptr<double>() + d.numel());
  for (size_t i = 0; i < v.size(); ++i)
    BRAINSEM_CHECK(std::isfinite(v[i]), what, ": element ", i, " is not finite (", v[i],
                   "); remove or impute missing values first");
  return v;
}

// Uniform integer in [0, n). The modulo bias is below n / 2^64, negligible for any n we use;
// std::uniform_int_distribution is avoided because its output differs between standard libraries.
uint64_t below(std::mt19937_64& rng, uint64_t n) { return rng() % n; }

template <typename T>
void shuffle(std::vector<T>& v, std::mt19937_64& rng) {
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[below(rng, i)]);
}

// Linear-interpolation quantile (type 7) of sorted values.
double quantile_sorted(const std::vector<double>& s, double q) {
  double pos = q * static_cast<double>(s.size() - 1);
  size_t lo = static_cast<size_t>(std::floor(pos));
  size_t hi = std::min(lo + 1, s.size() - 1);
  return s[lo] + (pos - static_cast<double>(lo)) * (s[hi] - s[lo]);
}

double log_binomial_pmf(int64_t j, int64_t n, double log_p, double log_q) {
  return std::lgamma(n + 1.0) - std::lgamma(j + 1.0) - std::lgamma(n - j + 1.0) + j * log_p + (n - j) * log_q;
}

// log-sum-exp of log pmf over j in [from, to].
double binomial_sum(int64_t from, int64_t to, int64_t n, double p) {
  double log_p = std::log(p), log_q = std::log1p(-p);
  double m = -std::numeric_limits<double>::infinity();
  for (int64_t j = from; j <= to; ++j) m = std::max(m, log_binomial_pmf(j, n, log_p, log_q));
  double s = 0;
  for (int64_t j = from; j <= to; ++j) s += std::exp(log_binomial_pmf(j, n, log_p, log_q) - m);
  return std::min(1.0, std::exp(m + std::log(s)));
}

void check_binomial(int64_t n, double p) {
  BRAINSEM_CHECK(n >= 0, "binomial: number of trials is ", n, "; it must be >= 0");
  BRAINSEM_CHECK(p >= 0 && p <= 1, "binomial: probability ", p, " is outside [0, 1]");
}

// Continued fraction of the incomplete beta function (modified Lentz), valid for
// x < (a + 1) / (a + b + 2); see docs/statistics.md.
double beta_continued_fraction(double a, double b, double x) {
  const double tiny = 1e-300, eps = 1e-15;
  double f = tiny, c = f, d = 0;
  for (int j = 1; j <= 10000; ++j) {
    double num;  // a_j of b0 + a1/(1 + a2/(1 + ...)), b0 = 0, a1 = 1
    if (j == 1) {
      num = 1;
    } else {
      int k = j - 1;  // the k-th term d_k of 1/(1 + d1/(1 + d2/...))
      int m = k / 2;
      num = (k % 2 == 1) ? -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
                         : m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m));
    }
    d = 1 + num * d;
    if (std::fabs(d) < tiny) d = tiny;
    d = 1 / d;
    c = 1 + num / c;
    if (std::fabs(c) < tiny) c = tiny;
    f *= c * d;
    if (std::fabs(c * d - 1) < eps) return f;
  }
  fail("regularized_incomplete_beta(a=", a, ", b=", b, ", x=", x, "): continued fraction did not converge");
}

}  // namespace

// ---- distributions -------------------------------------------------------------------------

double binomial_upper_tail(int64_t k, int64_t n, double p) {
  check_binomial(n, p);
  if (k <= 0) return 1;
  if (k > n) return 0;
  if (p == 0) return 0;
  if (p == 1) return 1;
  return binomial_sum(k, n, n, p);
}

double binomial_lower_tail(int64_t k, int64_t n, double p) {
  check_binomial(n, p);
  if (k < 0) return 0;
  if (k >= n) return 1;
  if (p == 0) return 1;
  if (p == 1) return 0;
  return binomial_sum(0, k, n, p);
}

double regularized_incomplete_beta(double a, double b, double x) {
  BRAINSEM_CHECK(a > 0 && b > 0, "regularized_incomplete_beta: a=", a, ", b=", b, " must both be > 0");
  BRAINSEM_CHECK(x >= 0 && x <= 1, "regularized_incomplete_beta: x=", x, " is outside [0, 1]");
  if (x == 0 || x == 1) return x;
  // The continued fraction converges fast only below the mean; use I_x(a,b) = 1 - I_{1-x}(b,a).
  if (x > (a + 1) / (a + b + 2)) return 1 - regularized_incomplete_beta(b, a, 1 - x);
  double log_front = a * std::log(x) + b * std::log1p(-x) + std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b);
  return std::exp(log_front) * beta_continued_fraction(a, b, x) / a;
}

double student_t_two_sided_p(double t, double df) {
  BRAINSEM_CHECK(df > 0, "student_t_two_sided_p: degrees of freedom ", df, " must be > 0");
  if (std::isinf(t)) return 0;
  return regularized_incomplete_beta(df / 2, 0.5, df / (df + t * t));
}

double student_t_quantile(double p, double df) {
  BRAINSEM_CHECK(p > 0 && p < 1, "student_t_quantile: probability ", p, " must be in (0, 1)");
  BRAINSEM_CHECK(df > 0, "student_t_quantile: degrees of freedom ", df, " must be > 0");
  if (p == 0.5) return 0;
  // By symmetry solve for |t| with P(|T| >= |t|) = 2 min(p, 1 - p); that tail falls as |t| grows.
  const double tail = 2 * std::min(p, 1 - p);
  double lo = 0, hi = 1;
  while (student_t_two_sided_p(hi, df) > tail) {
    lo = hi;
    hi *= 2;
    BRAINSEM_CHECK(hi < 1e300, "student_t_quantile(p=", p, ", df=", df, "): no finite quantile");
  }
  for (int i = 0; i < 200 && hi - lo > 1e-13 * hi; ++i) {
    double mid = (lo + hi) / 2;
    (student_t_two_sided_p(mid, df) > tail ? lo : hi) = mid;
  }
  double t = (lo + hi) / 2;
  return p > 0.5 ? t : -t;
}

// ---- summaries -----------------------------------------------------------------------------

MeanSd mean_sd(const torch::Tensor& values) {
  auto v = as_doubles(values, "mean_sd");
  BRAINSEM_CHECK(!v.empty(), "mean_sd: no values");
  MeanSd r;
  r.n = static_cast<int64_t>(v.size());
  for (double x : v) r.mean += x;
  r.mean /= r.n;
  if (r.n > 1) {
    double ss = 0;
    for (double x : v) ss += (x - r.mean) * (x - r.mean);
    r.sd = std::sqrt(ss / (r.n - 1));
  }
  return r;
}

Interval bootstrap_mean_ci(const torch::Tensor& values, int64_t resamples, double level, uint64_t seed) {
  auto v = as_doubles(values, "bootstrap_mean_ci");
  BRAINSEM_CHECK(!v.empty(), "bootstrap_mean_ci: no values");
  BRAINSEM_CHECK(resamples >= 1, "bootstrap_mean_ci: resamples=", resamples, " must be >= 1");
  BRAINSEM_CHECK(level > 0 && level < 1, "bootstrap_mean_ci: level=", level, " must be in (0, 1), e.g. 0.95");
  const size_t n = v.size();
  std::mt19937_64 rng(seed);
  std::vector<double> means(static_cast<size_t>(resamples));
  for (auto& m : means) {
    double s = 0;
    for (size_t i = 0; i < n; ++i) s += v[below(rng, n)];
    m = s / static_cast<double>(n);
  }
  std::sort(means.begin(), means.end());
  Interval r;
  r.estimate = mean_sd(values).mean;
  r.level = level;
  r.lo = quantile_sorted(means, (1 - level) / 2);
  r.hi = quantile_sorted(means, 1 - (1 - level) / 2);
  return r;
}

Interval t_mean_ci(const torch::Tensor& values, double level) {
  BRAINSEM_CHECK(level > 0 && level < 1, "t_mean_ci: level=", level, " must be in (0, 1), e.g. 0.95");
  auto ms = mean_sd(values);
  BRAINSEM_CHECK(ms.n >= 2, "t_mean_ci: needs at least 2 values, got ", ms.n,
                 "; one value has no spread to build an interval from");
  const double half =
      student_t_quantile((1 + level) / 2, static_cast<double>(ms.n - 1)) * ms.sd / std::sqrt(static_cast<double>(ms.n));
  Interval r;
  r.estimate = ms.mean;
  r.level = level;
  r.lo = ms.mean - half;
  r.hi = ms.mean + half;
  return r;
}

// ---- tests ---------------------------------------------------------------------------------

BinomialTest binomial_test(int64_t successes, int64_t trials, double chance) {
  BRAINSEM_CHECK(successes >= 0 && successes <= trials, "binomial_test: ", successes, " successes out of ", trials,
                 " trials is impossible");
  BinomialTest r;
  r.successes = successes;
  r.trials = trials;
  r.chance = chance;
  r.p_value = binomial_upper_tail(successes, trials, chance);
  return r;
}

namespace {
// [N, C] bool table: hit[i][c] = class c is among the top k of row i. Computed once so that
// every permutation costs O(N).
torch::Tensor topk_table(const torch::Tensor& sim, const torch::Tensor& labels, int64_t k) {
  BRAINSEM_CHECK(sim.dim() == 2, "top-k accuracy: similarity matrix must be [N, C], got ", sim.sizes());
  BRAINSEM_CHECK(labels.dim() == 1 && labels.size(0) == sim.size(0), "top-k accuracy: labels ", labels.sizes(),
                 " do not match ", sim.size(0), " rows of the similarity matrix");
  BRAINSEM_CHECK(k >= 1 && k <= sim.size(1), "top-k accuracy: k=", k, " must be in [1, ", sim.size(1),
                 "] (the number of classes)");
  auto lab = labels.to(torch::kLong);
  if (lab.numel() > 0)
    BRAINSEM_CHECK(lab.min().item<int64_t>() >= 0 && lab.max().item<int64_t>() < sim.size(1),
                   "top-k accuracy: labels must be column indices in [0, ", sim.size(1), ")");
  // Class c is in row i's top k when its rank (eval/ranks.h: ties against it, non-finite worst)
  // is at most k: the same rule as every other score.
  auto s = rankable_similarity(sim);                       // [N, C]
  auto ranks = (s.unsqueeze(1) >= s.unsqueeze(2)).sum(2);  // [N, C]: rank of column c
  return ranks <= k;
}

std::vector<double> hits_per_item(const torch::Tensor& table, const std::vector<int64_t>& lab) {
  auto acc = table.accessor<bool, 2>();
  std::vector<double> h(lab.size());
  for (size_t i = 0; i < lab.size(); ++i) h[i] = acc[static_cast<int64_t>(i)][lab[i]] ? 1 : 0;
  return h;
}

double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0 : s / static_cast<double>(v.size());
}
}  // namespace

double topk_accuracy(const torch::Tensor& sim, const torch::Tensor& labels, int64_t k) {
  auto table = topk_table(sim, labels, k);
  auto lab = labels.to(torch::kLong).contiguous();
  std::vector<int64_t> l(lab.data_ptr<int64_t>(), lab.data_ptr<int64_t>() + lab.numel());
  return mean_of(hits_per_item(table, l));
}

PermutationNull topk_permutation_null(const torch::Tensor& sim, const torch::Tensor& labels, int64_t k,
                                      int64_t permutations, uint64_t seed) {
  BRAINSEM_CHECK(permutations >= 1, "topk_permutation_null: permutations=", permutations, " must be >= 1");
  auto table = topk_table(sim, labels, k);
  auto lab = labels.to(torch::kLong).contiguous();
  std::vector<int64_t> l(lab.data_ptr<int64_t>(), lab.data_ptr<int64_t>() + lab.numel());
  PermutationNull r;
  r.observed = mean_of(hits_per_item(table, l));
  std::mt19937_64 rng(seed);
  int64_t at_least = 0;
  r.null.reserve(static_cast<size_t>(permutations));
  for (int64_t p = 0; p < permutations; ++p) {
    shuffle(l, rng);
    double a = mean_of(hits_per_item(table, l));
    r.null.push_back(a);
    if (a >= r.observed - 1e-12) ++at_least;
  }
  r.p_value = (1.0 + at_least) / (1.0 + permutations);
  return r;
}

PairedTest mcnemar_exact(const torch::Tensor& correct_a, const torch::Tensor& correct_b) {
  auto a = as_doubles(correct_a, "mcnemar_exact(correct_a)");
  auto b = as_doubles(correct_b, "mcnemar_exact(correct_b)");
  BRAINSEM_CHECK(a.size() == b.size(), "mcnemar_exact: models were scored on ", a.size(), " and ", b.size(),
                 " items; a paired test needs the same items in the same order");
  PairedTest r;
  for (size_t i = 0; i < a.size(); ++i) {
    bool ra = a[i] != 0, rb = b[i] != 0;
    r.b += (ra && !rb);
    r.c += (!ra && rb);
  }
  r.statistic = static_cast<double>(r.b - r.c);
  r.exact = true;
  int64_t n = r.b + r.c;
  r.p_value = n == 0 ? 1.0 : std::min(1.0, 2 * binomial_lower_tail(std::min(r.b, r.c), n, 0.5));
  return r;
}

PairedTest paired_sign_flip(const torch::Tensor& a, const torch::Tensor& b, int64_t permutations, uint64_t seed) {
  auto va = as_doubles(a, "paired_sign_flip(a)");
  auto vb = as_doubles(b, "paired_sign_flip(b)");
  BRAINSEM_CHECK(va.size() == vb.size() && !va.empty(), "paired_sign_flip: ", va.size(), " and ", vb.size(),
                 " scores; a paired test needs the same (nonempty) items in order");
  BRAINSEM_CHECK(permutations >= 1, "paired_sign_flip: permutations=", permutations, " must be >= 1");
  const size_t n = va.size();
  std::vector<double> d(n);
  for (size_t i = 0; i < n; ++i) d[i] = va[i] - vb[i];
  PairedTest r;
  r.statistic = mean_of(d);
  // Compare |mean| with a relative tolerance so that patterns equal to the observed one count.
  double threshold = std::fabs(r.statistic) * (1 - 1e-12) - 1e-300;
  int64_t at_least = 0;
  auto flipped_abs_mean = [&](auto sign_of) {
    double s = 0;
    for (size_t i = 0; i < n; ++i) s += sign_of(i) ? -d[i] : d[i];
    return std::fabs(s / static_cast<double>(n));
  };
  if (n < 63 && (int64_t{1} << n) <= permutations) {
    r.exact = true;
    const int64_t total = int64_t{1} << n;
    for (int64_t mask = 0; mask < total; ++mask)
      at_least += flipped_abs_mean([&](size_t i) { return (mask >> i) & 1; }) >= threshold;
    r.p_value = static_cast<double>(at_least) / static_cast<double>(total);
  } else {
    std::mt19937_64 rng(seed);
    std::vector<bool> flip(n);
    for (int64_t p = 0; p < permutations; ++p) {
      for (size_t i = 0; i < n; ++i) flip[i] = rng() & 1;
      at_least += flipped_abs_mean([&](size_t i) { return flip[i]; }) >= threshold;
    }
    r.p_value = (1.0 + at_least) / (1.0 + permutations);
  }
  return r;
}

// ---- correlation ---------------------------------------------------------------------------

namespace {
Correlation pearson_of(const std::vector<double>& x, const std::vector<double>& y, const char* what) {
  BRAINSEM_CHECK(x.size() == y.size(), what, ": x has ", x.size(), " values and y has ", y.size(),
                 "; they must be paired");
  BRAINSEM_CHECK(x.size() >= 3, what, ": needs at least 3 pairs, got ", x.size());
  double mx = mean_of(x), my = mean_of(y), sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
  }
  BRAINSEM_CHECK(sxx > 0 && syy > 0, what, ": ", sxx > 0 ? "y" : "x", " is constant, so the correlation is undefined");
  Correlation c;
  c.n = static_cast<int64_t>(x.size());
  c.r = std::clamp(sxy / std::sqrt(sxx * syy), -1.0, 1.0);
  double df = static_cast<double>(c.n - 2);
  double one_minus = 1 - c.r * c.r;
  c.p_value = one_minus <= 0 ? 0.0 : student_t_two_sided_p(c.r * std::sqrt(df / one_minus), df);
  return c;
}

std::vector<double> ranks_of(const std::vector<double>& v) {
  std::vector<size_t> order(v.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
  std::vector<double> r(v.size());
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j + 1 < order.size() && v[order[j + 1]] == v[order[i]]) ++j;
    double mid = (static_cast<double>(i) + static_cast<double>(j)) / 2 + 1;  // 1-based mean rank
    for (size_t t = i; t <= j; ++t) r[order[t]] = mid;
    i = j + 1;
  }
  return r;
}
}  // namespace

Correlation pearson(const torch::Tensor& x, const torch::Tensor& y) {
  return pearson_of(as_doubles(x, "pearson(x)"), as_doubles(y, "pearson(y)"), "pearson");
}

Correlation spearman(const torch::Tensor& x, const torch::Tensor& y) {
  return pearson_of(ranks_of(as_doubles(x, "spearman(x)")), ranks_of(as_doubles(y, "spearman(y)")), "spearman");
}

torch::Tensor mid_ranks(const torch::Tensor& x) {
  auto r = ranks_of(as_doubles(x, "mid_ranks"));
  return torch::tensor(r, torch::kDouble);
}

// ---- reliability ---------------------------------------------------------------------------

NoiseCeiling split_half_noise_ceiling(const torch::Tensor& repeats, int64_t splits, uint64_t seed) {
  BRAINSEM_CHECK(repeats.dim() == 3,
                 "split_half_noise_ceiling: expected repeats [n_items, "
                 "n_repeats, dims], got ",
                 repeats.sizes());
  const int64_t items = repeats.size(0), reps = repeats.size(1);
  BRAINSEM_CHECK(items >= 3, "split_half_noise_ceiling: needs >= 3 items, got ", items);
  BRAINSEM_CHECK(reps >= 2, "split_half_noise_ceiling: needs >= 2 repeats per item, got ", reps,
                 "; a noise ceiling needs trial-level (unaveraged) data");
  BRAINSEM_CHECK(splits >= 1, "split_half_noise_ceiling: splits=", splits, " must be >= 1");
  auto x = repeats.to(torch::kDouble);
  BRAINSEM_CHECK(torch::isfinite(x).all().item<bool>(), "split_half_noise_ceiling: repeats contain NaN or infinity");
  std::mt19937_64 rng(seed);
  std::vector<int64_t> order(static_cast<size_t>(reps));
  for (int64_t i = 0; i < reps; ++i) order[static_cast<size_t>(i)] = i;
  auto r_sum = torch::zeros({x.size(2)}, torch::kDouble);
  for (int64_t s = 0; s < splits; ++s) {
    shuffle(order, rng);
    const int64_t half = reps / 2;  // with an odd count the second half has one more repeat
    auto ia = torch::tensor(std::vector<int64_t>(order.begin(), order.begin() + half));
    auto ib = torch::tensor(std::vector<int64_t>(order.begin() + half, order.end()));
    auto a = x.index_select(1, ia).mean(1);  // [items, dims]
    auto b = x.index_select(1, ib).mean(1);
    a = a - a.mean(0);
    b = b - b.mean(0);
    r_sum += (a * b).sum(0) / (a.pow(2).sum(0) * b.pow(2).sum(0)).sqrt();  // NaN where constant
  }
  auto r = r_sum / static_cast<double>(splits);
  NoiseCeiling nc;
  nc.splits = splits;
  nc.per_dim = 2 * r / (1 + r);
  auto finite = torch::isfinite(nc.per_dim);
  BRAINSEM_CHECK(finite.any().item<bool>(), "split_half_noise_ceiling: every dimension is constant across items");
  nc.mean = nc.per_dim.masked_select(finite).mean().item<double>();
  nc.split_half_r = r.masked_select(torch::isfinite(r)).mean().item<double>();
  return nc;
}

}  // namespace brainsem::eval
