#pragma once
// Statistics for the paper's results: exact binomial tests against chance, bootstrap
// intervals, permutation nulls, paired tests, correlations with p-values, and a split-half noise
// ceiling. Formulas and conventions are written out in docs/statistics.md.
//
// Inputs are 1-D tensors of any numeric dtype (converted to double); computation is in double.
// Everything random takes a seed and uses std::mt19937_64, whose output sequence the C++ standard
// fixes, so results are identical across machines and thread counts.
#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace brainsem::eval {

// ---- distributions -------------------------------------------------------------------------

// P(X >= k) for X ~ Binomial(n, p), exact, summed in log space (no underflow for large n).
double binomial_upper_tail(int64_t k, int64_t n, double p);
// P(X <= k) for X ~ Binomial(n, p).
double binomial_lower_tail(int64_t k, int64_t n, double p);
// Regularized incomplete beta I_x(a, b), a, b > 0, 0 <= x <= 1 (continued fraction; Debian has
// no small C++ special-functions library we want to link, so it is written here).
double regularized_incomplete_beta(double a, double b, double x);
// Two-sided p-value of Student's t with `df` degrees of freedom: P(|T| >= |t|).
double student_t_two_sided_p(double t, double df);
// Quantile of Student's t: the t with P(T <= t) = p, for 0 < p < 1 (the CDF inverted by
// bisection on student_t_two_sided_p, to about 1e-12 relative).
double student_t_quantile(double p, double df);

// ---- summaries -----------------------------------------------------------------------------

struct MeanSd {
  double mean = 0, sd = 0;  // sd with the n-1 denominator (0 when n == 1)
  int64_t n = 0;
};
MeanSd mean_sd(const torch::Tensor& values);  // values [n], n >= 1

struct Interval {
  double estimate = 0;  // the statistic on the original sample
  double lo = 0, hi = 0;
  double level = 0.95;
};
// Percentile bootstrap interval of the mean of `values` [n] (resampling items with replacement).
// Use per-item scores for an interval over test items; for a mean over a few subjects use t_mean_ci.
Interval bootstrap_mean_ci(const torch::Tensor& values, int64_t resamples = 10000, double level = 0.95,
                           uint64_t seed = 0);
// Student-t interval of the mean of values [n], n >= 2: mean ± t_{(1+level)/2, n-1} sd / sqrt(n).
// For a mean over a few subjects: a percentile bootstrap over 5 values covers about 84 % at a
// nominal 95 % (it ignores that the sd itself is estimated from 5 values); this one is exact
// under normality.
Interval t_mean_ci(const torch::Tensor& values, double level = 0.95);

// ---- tests ---------------------------------------------------------------------------------

struct BinomialTest {
  int64_t successes = 0, trials = 0;
  double chance = 0;   // p under the null
  double p_value = 1;  // one-sided, P(X >= successes)
};
// Is accuracy = successes/trials above chance? One-sided exact binomial test.
BinomialTest binomial_test(int64_t successes, int64_t trials, double chance);

// Top-k accuracy of a similarity matrix: row i is correct when labels[i] is among the k columns
// with the largest similarity. sim [N, C], labels [N] int64 in [0, C).
double topk_accuracy(const torch::Tensor& sim, const torch::Tensor& labels, int64_t k);

struct PermutationNull {
  double observed = 0;
  std::vector<double> null;  // the statistic under each permutation
  double p_value = 1;        // (1 + #{null >= observed}) / (1 + permutations)
};
// Label-permutation null for top-k accuracy: the labels are shuffled across items, which keeps
// the similarity matrix and the label frequencies but breaks the item-label pairing.
PermutationNull topk_permutation_null(const torch::Tensor& sim, const torch::Tensor& labels, int64_t k,
                                      int64_t permutations = 10000, uint64_t seed = 0);

struct PairedTest {
  double statistic = 0;  // McNemar: b - c; sign flip: mean(a - b)
  double p_value = 1;    // two-sided
  int64_t b = 0, c = 0;  // McNemar only: #(A right, B wrong), #(A wrong, B right)
  bool exact = false;    // sign flip: every one of the 2^n sign patterns was enumerated
};
// Exact McNemar test for two models scored on the same items; correct_a/correct_b [N] bool.
PairedTest mcnemar_exact(const torch::Tensor& correct_a, const torch::Tensor& correct_b);
// Paired sign-flip permutation test of mean(a - b) == 0 for continuous per-item scores a, b [N].
// Enumerates all 2^N sign patterns when that is no more than `permutations`, else samples.
PairedTest paired_sign_flip(const torch::Tensor& a, const torch::Tensor& b, int64_t permutations = 10000,
                            uint64_t seed = 0);

// ---- correlation ---------------------------------------------------------------------------

struct Correlation {
  double r = 0;
  double p_value = 1;  // two-sided, from t = r sqrt((n-2)/(1-r^2)) with n-2 degrees of freedom
  int64_t n = 0;
};
Correlation pearson(const torch::Tensor& x, const torch::Tensor& y);   // x, y [n], n >= 3
Correlation spearman(const torch::Tensor& x, const torch::Tensor& y);  // Pearson on mid-ranks
// Ranks 1..n, ties get the mean of the ranks they span. x [n] -> [n] double.
torch::Tensor mid_ranks(const torch::Tensor& x);

// ---- reliability ---------------------------------------------------------------------------

struct NoiseCeiling {
  torch::Tensor per_dim;    // [dims] Spearman-Brown corrected split-half r of each dimension
  double mean = 0;          // mean of per_dim over dimensions with nonzero variance
  double split_half_r = 0;  // mean uncorrected split-half r (before Spearman-Brown)
  int64_t splits = 0;
};
// Split-half reliability of repeated measurements repeats [n_items, n_repeats, dims]: for each
// random split of the repeats into two halves, average each half, correlate the two half-means
// across items for every dimension (voxel), average r over splits, and correct to the full
// number of repeats with Spearman-Brown: r_full = 2 r / (1 + r).
NoiseCeiling split_half_noise_ceiling(const torch::Tensor& repeats, int64_t splits = 20, uint64_t seed = 0);

}  // namespace brainsem::eval
