#include "brainsem/eval/stats.h"

#include <gtest/gtest.h>

#include <cmath>

#include "brainsem/core/error.h"

namespace ev = brainsem::eval;

namespace {
torch::Tensor vec(std::vector<double> v) { return torch::tensor(v, torch::kDouble); }

// Naive oracle: the binomial pmf by the recurrence pmf(j+1) = pmf(j) (n-j)/(j+1) p/q in long
// double, summed directly. Fine for moderate n where nothing underflows.
double naive_upper_tail(int k, int n, double p) {
  long double pmf = std::pow(1.0L - p, n), s = 0;
  for (int j = 0; j <= n; ++j) {
    if (j >= k) s += pmf;
    pmf = pmf * (n - j) / (j + 1) * p / (1 - p);
  }
  return static_cast<double>(s);
}
}  // namespace

TEST(Stats, BinomialTailHandComputed) {
  EXPECT_NEAR(ev::binomial_upper_tail(3, 5, 0.5), 16.0 / 32, 1e-14);  // (10 + 5 + 1) / 32
  EXPECT_NEAR(ev::binomial_upper_tail(1, 10, 0.1), 1 - std::pow(0.9, 10), 1e-14);
  EXPECT_NEAR(ev::binomial_upper_tail(10, 10, 0.02), std::pow(0.02, 10), 1e-28);
  // GOD-style: 50 test classes, chance 1/50. Exact values from rational arithmetic (Python
  // fractions): P(X >= 10) and P(X >= 3).
  EXPECT_NEAR(ev::binomial_upper_tail(10, 50, 0.02) / 5.0606914866309674e-08, 1.0, 1e-10);
  EXPECT_NEAR(ev::binomial_upper_tail(3, 50, 0.02), 0.07842774835096906, 1e-13);
  // Large n in log space (a naive product would underflow): exact P(X >= 650 | 2000, 0.3).
  EXPECT_NEAR(ev::binomial_upper_tail(650, 2000, 0.3) / 0.008187934128713006, 1.0, 1e-9);
  // Edges.
  EXPECT_EQ(ev::binomial_upper_tail(0, 7, 0.3), 1.0);
  EXPECT_EQ(ev::binomial_upper_tail(8, 7, 0.3), 0.0);
  EXPECT_EQ(ev::binomial_upper_tail(1, 7, 0.0), 0.0);
  EXPECT_EQ(ev::binomial_upper_tail(7, 7, 1.0), 1.0);
  EXPECT_THROW(ev::binomial_upper_tail(1, 7, 1.5), brainsem::Error);
}

TEST(Stats, BinomialTailMatchesNaiveSumAndComplement) {
  for (int n : {1, 7, 50, 200})
    for (double p : {0.01, 0.2, 0.5, 0.9})
      for (int k = 0; k <= n; k += std::max(1, n / 9)) {
        EXPECT_NEAR(ev::binomial_upper_tail(k, n, p), naive_upper_tail(k, n, p), 1e-12)
            << "k=" << k << " n=" << n << " p=" << p;
        EXPECT_NEAR(ev::binomial_upper_tail(k, n, p) + ev::binomial_lower_tail(k - 1, n, p), 1.0, 1e-12);
      }
  auto t = ev::binomial_test(10, 50, 0.02);
  EXPECT_EQ(t.p_value, ev::binomial_upper_tail(10, 50, 0.02));
  EXPECT_THROW(ev::binomial_test(51, 50, 0.02), brainsem::Error);
}

TEST(Stats, IncompleteBetaClosedForms) {
  for (double x : {0.0, 0.01, 0.3, 0.5, 0.77, 0.999, 1.0}) {
    EXPECT_NEAR(ev::regularized_incomplete_beta(1, 1, x), x, 1e-14);
    EXPECT_NEAR(ev::regularized_incomplete_beta(3.5, 1, x), std::pow(x, 3.5), 1e-13);
    EXPECT_NEAR(ev::regularized_incomplete_beta(1, 2.5, x), 1 - std::pow(1 - x, 2.5), 1e-13);
  }
  EXPECT_NEAR(ev::regularized_incomplete_beta(7.3, 7.3, 0.5), 0.5, 1e-13);
  // Independent cross-check: P(X >= k | n, p) = I_p(k, n - k + 1).
  for (int k : {1, 5, 17, 40})
    EXPECT_NEAR(ev::regularized_incomplete_beta(k, 50 - k + 1, 0.3), ev::binomial_upper_tail(k, 50, 0.3), 1e-12);
  EXPECT_THROW(ev::regularized_incomplete_beta(0, 1, 0.5), brainsem::Error);
}

TEST(Stats, StudentTClosedForms) {
  for (double t : {0.0, 0.3, 1.0, 2.5, 12.0, -4.0}) {
    EXPECT_NEAR(ev::student_t_two_sided_p(t, 1), 1 - 2 / M_PI * std::atan(std::fabs(t)), 1e-13);
    EXPECT_NEAR(ev::student_t_two_sided_p(t, 2), 1 - std::fabs(t) / std::sqrt(2 + t * t), 1e-13);
  }
  // Large df approaches the normal: 2 (1 - Phi(1.96)) = erfc(1.96 / sqrt 2).
  EXPECT_NEAR(ev::student_t_two_sided_p(1.96, 1e7), std::erfc(1.96 / std::sqrt(2.0)), 1e-7);
}

TEST(Stats, StudentTQuantileTableValues) {
  // Printed t tables (e.g. NIST/SEMATECH e-Handbook 1.3.6.7.2) and the closed forms of df = 1
  // (Cauchy: tan(pi (p - 1/2))) and df = 2 (t = (2p - 1) sqrt(2 / (1 - (2p - 1)^2))).
  EXPECT_NEAR(ev::student_t_quantile(0.975, 4), 2.776445105, 1e-8);
  EXPECT_NEAR(ev::student_t_quantile(0.975, 10), 2.228138852, 1e-8);
  EXPECT_NEAR(ev::student_t_quantile(0.995, 4), 4.604094871, 1e-8);
  EXPECT_NEAR(ev::student_t_quantile(0.975, 1), std::tan(M_PI * 0.475), 1e-9);
  EXPECT_NEAR(ev::student_t_quantile(0.95, 2), 0.9 * std::sqrt(2 / 0.19), 1e-10);
  EXPECT_NEAR(ev::student_t_quantile(0.025, 4), -2.776445105, 1e-8);  // symmetric
  EXPECT_EQ(ev::student_t_quantile(0.5, 3), 0.0);
  EXPECT_NEAR(ev::student_t_quantile(0.975, 1e7), 1.959964, 1e-5);  // the normal limit
  EXPECT_THROW(ev::student_t_quantile(1.0, 4), brainsem::Error);
  EXPECT_THROW(ev::student_t_quantile(0.9, 0), brainsem::Error);
}

TEST(Stats, TMeanCiHandComputed) {
  // {1, 2, 3, 4, 5}: mean 3, sd sqrt(2.5), se sqrt(2.5 / 5) = sqrt(0.5); t_{0.975,4} = 2.776445105,
  // so the half-width is 2.776445105 * 0.7071067812 = 1.963243.
  auto ci = ev::t_mean_ci(vec({1, 2, 3, 4, 5}));
  EXPECT_DOUBLE_EQ(ci.estimate, 3.0);
  EXPECT_DOUBLE_EQ(ci.level, 0.95);
  EXPECT_NEAR(ci.lo, 3 - 1.963243, 1e-6);
  EXPECT_NEAR(ci.hi, 3 + 1.963243, 1e-6);
  // Two values {0.4, 0.6}: sd 0.141421, se 0.1, t_{0.95,1} = tan(0.45 pi) = 6.313752 at level 0.9.
  auto two = ev::t_mean_ci(vec({0.4, 0.6}), 0.9);
  EXPECT_NEAR(two.lo, 0.5 - 0.6313752, 1e-6);
  EXPECT_NEAR(two.hi, 0.5 + 0.6313752, 1e-6);
  auto same = ev::t_mean_ci(vec({0.5, 0.5, 0.5}));
  EXPECT_EQ(same.lo, 0.5);
  EXPECT_EQ(same.hi, 0.5);
  EXPECT_THROW(ev::t_mean_ci(vec({0.5})), brainsem::Error);
  EXPECT_THROW(ev::t_mean_ci(vec({1, 2}), 1.0), brainsem::Error);
}

TEST(Stats, MeanSd) {
  auto m = ev::mean_sd(vec({2, 4, 4, 4, 5, 5, 7, 9}));
  EXPECT_DOUBLE_EQ(m.mean, 5.0);
  EXPECT_NEAR(m.sd, std::sqrt(32.0 / 7), 1e-14);
  EXPECT_EQ(m.n, 8);
  EXPECT_EQ(ev::mean_sd(vec({3})).sd, 0.0);
  EXPECT_THROW(ev::mean_sd(vec({1, NAN})), brainsem::Error);
}

TEST(Stats, BootstrapIsSeededAndCalibrated) {
  torch::manual_seed(1);
  auto v = torch::randn({400}, torch::kDouble) * 2 + 1;
  auto a = ev::bootstrap_mean_ci(v, 4000, 0.95, 7);
  auto b = ev::bootstrap_mean_ci(v, 4000, 0.95, 7);
  auto c = ev::bootstrap_mean_ci(v, 4000, 0.95, 8);
  EXPECT_EQ(a.lo, b.lo);
  EXPECT_EQ(a.hi, b.hi);
  EXPECT_NE(a.lo, c.lo);
  auto ms = ev::mean_sd(v);
  EXPECT_DOUBLE_EQ(a.estimate, ms.mean);
  EXPECT_LT(a.lo, a.estimate);
  EXPECT_GT(a.hi, a.estimate);
  // Normal theory: the 95% interval has width 2 * 1.96 * sd / sqrt(n); the bootstrap agrees to
  // within ~10% for n = 400 and 4000 resamples.
  double expected = 2 * 1.96 * ms.sd / std::sqrt(400.0);
  EXPECT_NEAR((a.hi - a.lo) / expected, 1.0, 0.1);
  auto k = ev::bootstrap_mean_ci(vec({0.5, 0.5, 0.5}), 100, 0.9, 0);
  EXPECT_EQ(k.lo, 0.5);
  EXPECT_EQ(k.hi, 0.5);
  EXPECT_THROW(ev::bootstrap_mean_ci(v, 100, 1.5, 0), brainsem::Error);
}

TEST(Stats, TopkAccuracyAndPermutationNull) {
  const int64_t n = 50;
  auto labels = torch::arange(n);
  auto perfect = torch::eye(n) + 0.01 * torch::rand({n, n});
  EXPECT_DOUBLE_EQ(ev::topk_accuracy(perfect, labels, 1), 1.0);
  // Hand-made 3x3: row 0 ranks its label 2nd, row 1 1st, row 2 3rd.
  auto sim = torch::tensor({{0.5, 0.9, 0.1}, {0.1, 0.8, 0.2}, {0.7, 0.6, 0.1}});
  auto lab = torch::tensor({0, 1, 2}, torch::kLong);
  EXPECT_NEAR(ev::topk_accuracy(sim, lab, 1), 1.0 / 3, 1e-12);
  EXPECT_NEAR(ev::topk_accuracy(sim, lab, 2), 2.0 / 3, 1e-12);
  EXPECT_NEAR(ev::topk_accuracy(sim, lab, 3), 1.0, 1e-12);

  auto r = ev::topk_permutation_null(perfect, labels, 5, 2000, 3);
  EXPECT_DOUBLE_EQ(r.observed, 1.0);
  EXPECT_NEAR(r.p_value, 1.0 / 2001, 1e-15);  // no permutation reaches 100% top-5
  ASSERT_EQ(r.null.size(), 2000u);
  double mean = 0;
  for (double x : r.null) mean += x / 2000;
  EXPECT_NEAR(mean, 5.0 / n, 0.01);  // chance for top-5 of 50
  // Random similarities: the observed accuracy is a chance draw, so p is not small.
  torch::manual_seed(2);
  auto rnd = ev::topk_permutation_null(torch::rand({n, n}), labels, 5, 2000, 3);
  EXPECT_GT(rnd.p_value, 0.01);
  auto again = ev::topk_permutation_null(perfect, labels, 5, 2000, 3);
  EXPECT_EQ(again.null, r.null);
  EXPECT_THROW(ev::topk_accuracy(sim, lab, 4), brainsem::Error);
  EXPECT_THROW(ev::topk_accuracy(sim, torch::tensor({0, 1, 3}, torch::kLong), 1), brainsem::Error);
}

TEST(Stats, McNemarExact) {
  // b = 8 (A right, B wrong), c = 2: p = 2 P(X <= 2 | 10, 1/2) = 2 (1 + 10 + 45) / 1024.
  std::vector<double> a, b;
  for (int i = 0; i < 8; ++i) a.push_back(1), b.push_back(0);
  for (int i = 0; i < 2; ++i) a.push_back(0), b.push_back(1);
  for (int i = 0; i < 30; ++i) a.push_back(i % 2), b.push_back(i % 2);  // concordant: ignored
  auto t = ev::mcnemar_exact(vec(a), vec(b));
  EXPECT_EQ(t.b, 8);
  EXPECT_EQ(t.c, 2);
  EXPECT_NEAR(t.p_value, 112.0 / 1024, 1e-14);
  EXPECT_DOUBLE_EQ(ev::mcnemar_exact(vec(b), vec(a)).p_value, t.p_value);  // symmetric
  EXPECT_NEAR(ev::mcnemar_exact(vec({1, 1, 1, 1, 1}), vec({0, 0, 0, 0, 0})).p_value, 2.0 / 32, 1e-14);
  EXPECT_EQ(ev::mcnemar_exact(vec({1, 0}), vec({1, 0})).p_value, 1.0);
  EXPECT_EQ(ev::mcnemar_exact(vec({1, 0}), vec({0, 1})).p_value, 1.0);
  EXPECT_THROW(ev::mcnemar_exact(vec({1, 0}), vec({1})), brainsem::Error);
}

TEST(Stats, PairedSignFlip) {
  // d = [1, 2, 3]: the 8 sign patterns give sums {±6, ±4, ±2, 0, 0}; |sum| >= 6 in 2 of 8.
  auto t = ev::paired_sign_flip(vec({1, 2, 3}), vec({0, 0, 0}), 10000, 0);
  EXPECT_TRUE(t.exact);
  EXPECT_DOUBLE_EQ(t.statistic, 2.0);
  EXPECT_DOUBLE_EQ(t.p_value, 0.25);
  // d = [1, -1, 2]: sums over sign patterns are {2, -2, 4, 0, 0, -4, 2, -2}; |sum| >= 2 in 6.
  auto u = ev::paired_sign_flip(vec({1, -1, 2}), vec({0, 0, 0}), 10000, 0);
  EXPECT_DOUBLE_EQ(u.p_value, 6.0 / 8);
  // Sampled: a consistently better model on 40 items.
  torch::manual_seed(4);
  auto base = torch::rand({40}, torch::kDouble);
  auto s = ev::paired_sign_flip(base + 0.1, base, 999, 5);
  EXPECT_FALSE(s.exact);
  EXPECT_NEAR(s.statistic, 0.1, 1e-12);
  EXPECT_DOUBLE_EQ(s.p_value, 1.0 / 1000);
  auto same = ev::paired_sign_flip(base, base, 999, 5);
  EXPECT_DOUBLE_EQ(same.p_value, 1.0);
  auto noisy = base + torch::randn({40}, torch::kDouble);
  EXPECT_EQ(ev::paired_sign_flip(noisy, base, 999, 5).p_value,
            ev::paired_sign_flip(noisy, base, 999, 5).p_value);  // seeded
  EXPECT_THROW(ev::paired_sign_flip(vec({1, 2}), vec({1}), 10, 0), brainsem::Error);
}

TEST(Stats, PearsonSpearman) {
  auto c = ev::pearson(vec({1, 2, 3, 4, 5}), vec({2, 4, 5, 4, 5}));
  // r = sqrt(0.6); p from the closed-form t CDF with 3 degrees of freedom (computed in Python).
  EXPECT_NEAR(c.r, 0.7745966692414834, 1e-14);
  EXPECT_NEAR(c.p_value, 0.12402706265755459, 1e-12);
  EXPECT_EQ(c.n, 5);
  auto line = ev::pearson(vec({1, 2, 3}), vec({-2, -4, -6}));
  EXPECT_DOUBLE_EQ(line.r, -1.0);
  EXPECT_EQ(line.p_value, 0.0);
  // Spearman is 1 for any monotone relation and equals Pearson on mid-ranks.
  auto x = vec({0.1, 0.5, 0.2, 3.0, 2.0, 9.0});
  EXPECT_NEAR(ev::spearman(x, x.exp()).r, 1.0, 1e-14);
  EXPECT_TRUE(torch::equal(ev::mid_ranks(vec({10, 20, 20, 5})), vec({2, 3.5, 3.5, 1})));
  auto y = vec({1, 3, 2, 2, 5, 4});
  EXPECT_NEAR(ev::spearman(x, y).r, ev::pearson(ev::mid_ranks(x), ev::mid_ranks(y)).r, 1e-14);
  EXPECT_THROW(ev::pearson(vec({1, 2, 3}), vec({1, 1, 1})), brainsem::Error);
  EXPECT_THROW(ev::pearson(vec({1, 2}), vec({1, 2})), brainsem::Error);
}

TEST(Stats, NoiseCeilingMatchesTheory) {
  // Signal var 1, noise sd 2 per repeat, 8 repeats: reliability of the 8-repeat mean is
  // 1 / (1 + 4/8) = 2/3 (and each 4-repeat half has r = 1/2; Spearman-Brown gives 2/3).
  torch::manual_seed(5);
  auto signal = torch::randn({400, 1, 30}, torch::kDouble);
  auto reps = signal + 2 * torch::randn({400, 8, 30}, torch::kDouble);
  auto nc = ev::split_half_noise_ceiling(reps, 10, 0);
  EXPECT_NEAR(nc.mean, 2.0 / 3, 0.03);
  EXPECT_NEAR(nc.split_half_r, 0.5, 0.03);
  ASSERT_EQ(nc.per_dim.size(0), 30);
  auto noise = ev::split_half_noise_ceiling(torch::randn({400, 8, 30}, torch::kDouble), 10, 0);
  EXPECT_NEAR(noise.mean, 0.0, 0.05);
  EXPECT_EQ(ev::split_half_noise_ceiling(reps, 10, 0).mean, nc.mean);  // deterministic
  EXPECT_THROW(ev::split_half_noise_ceiling(torch::randn({10, 1, 3}), 5, 0), brainsem::Error);
}
