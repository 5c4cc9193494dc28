#include "brainsem/viz/tsne.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "brainsem/core/error.h"
#include "brainsem/core/progress.h"

namespace brainsem::viz {

namespace {

// Standard normals by Box-Muller from mt19937_64 (whose output the C++ standard fixes;
// std::normal_distribution differs between standard libraries).
torch::Tensor seeded_normal(int64_t rows, int64_t cols, double sd, uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto uniform = [&] { return (static_cast<double>(rng() >> 11) + 0.5) * 0x1.0p-53; };
  auto out = torch::empty({rows, cols}, torch::kFloat);
  float* p = out.data_ptr<float>();
  for (int64_t i = 0; i < rows * cols; ++i) {
    double u = uniform(), v = uniform();
    p[i] = static_cast<float>(sd * std::sqrt(-2 * std::log(u)) * std::cos(2 * M_PI * v));
  }
  return out;
}

torch::Tensor squared_distances(const torch::Tensor& x) {  // [N, D] -> [N, N]
  auto n2 = x.pow(2).sum(1);
  return (n2.unsqueeze(1) + n2.unsqueeze(0) - 2 * x.matmul(x.t())).clamp_min(0);
}

}  // namespace

torch::Tensor tsne_conditional_affinities(const torch::Tensor& sq_dist, double perplexity) {
  const int64_t n = sq_dist.size(0);
  auto d = sq_dist.to(torch::kDouble).contiguous();
  auto p = torch::zeros({n, n}, torch::kDouble);
  const double target = std::log(perplexity);  // entropy in nats
  const double* dd = d.data_ptr<double>();
  double* pp = p.data_ptr<double>();
  std::vector<double> row(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const double* di = dd + i * n;
    double dmin = INFINITY;
    for (int64_t j = 0; j < n; ++j)
      if (j != i) dmin = std::min(dmin, di[j]);
    // Bisection on the precision beta = 1 / (2 sigma^2); entropy falls as beta grows.
    double beta = 1, lo = 0, hi = INFINITY;
    for (int iter = 0; iter < 200; ++iter) {
      double z = 0, ed = 0;
      for (int64_t j = 0; j < n; ++j) {
        // Distances shifted by the row minimum: the same P, no underflow of every term.
        row[j] = j == i ? 0 : std::exp(-(di[j] - dmin) * beta);
        z += row[j];
        ed += row[j] * (di[j] - dmin);
      }
      double entropy = std::log(z) + beta * ed / z;
      if (std::fabs(entropy - target) < 1e-10) break;
      if (entropy > target) {
        lo = beta;
        beta = std::isinf(hi) ? beta * 2 : (beta + hi) / 2;
      } else {
        hi = beta;
        beta = (beta + lo) / 2;
      }
    }
    double z = 0;
    for (int64_t j = 0; j < n; ++j) z += row[j];
    for (int64_t j = 0; j < n; ++j) pp[i * n + j] = row[j] / z;
  }
  return p;
}

TsneResult tsne(const torch::Tensor& x, const TsneOptions& o) {
  BRAINSEM_CHECK(x.dim() == 2, "t-SNE: expected points [N, D], got ", x.sizes());
  const int64_t n = x.size(0);
  BRAINSEM_CHECK(n <= o.max_points, "t-SNE: ", n, " points exceed the exact-t-SNE limit of ", o.max_points,
                 " (O(N^2) memory and time); subsample the points first");
  BRAINSEM_CHECK(o.perplexity >= 1 && 3 * o.perplexity < n - 1, "t-SNE: perplexity ", o.perplexity,
                 " needs at least 3 * perplexity + 1 = ", 3 * o.perplexity + 1, " other points, but there are ", n - 1,
                 "; lower the perplexity");
  BRAINSEM_CHECK(o.dims >= 1 && o.iterations >= 1 && o.learning_rate >= 0,
                 "t-SNE: dims and iterations must be positive, the learning rate >= 0 (0 = auto)");
  const double learning_rate =
      o.learning_rate > 0 ? o.learning_rate : std::max(static_cast<double>(n) / o.early_exaggeration / 4, 50.0);
  auto xd = x.to(torch::kDouble);
  BRAINSEM_CHECK(torch::isfinite(xd).all().item<bool>(), "t-SNE: the points contain NaN or inf");

  auto cond = tsne_conditional_affinities(squared_distances(xd), o.perplexity);
  auto p = ((cond + cond.t()) / (2.0 * n)).clamp_min(1e-12).to(torch::kFloat);  // [N, N]
  p.fill_diagonal_(0);

  auto y = seeded_normal(n, o.dims, 1e-2, o.seed);  // [N, dims]
  auto update = torch::zeros_like(y);
  auto gains = torch::ones_like(y);
  core::Progress bar("t-SNE", o.iterations);
  torch::Tensor q;
  for (int64_t it = 0; it < o.iterations; ++it) {
    bool early = it < o.exaggeration_iterations;
    // num_ij = 1 / (1 + |y_i - y_j|^2), the unnormalised Student-t kernel.
    auto num = 1 / (1 + squared_distances(y));
    num.fill_diagonal_(0);
    q = (num / num.sum()).clamp_min(1e-12);
    // dC/dy_i = 4 sum_j (p_ij - q_ij) num_ij (y_i - y_j).
    auto pq = ((early ? o.early_exaggeration : 1.0) * p - q) * num;
    auto grad = 4 * (pq.sum(1, true) * y - pq.matmul(y));
    // Gains grow where the gradient changes sign relative to the last step, shrink otherwise.
    auto flip = (grad > 0) != (update > 0);
    gains = torch::where(flip, gains + 0.2, gains * 0.8).clamp_min(0.01);
    double momentum = early ? 0.5 : 0.8;
    update = momentum * update - learning_rate * gains * grad;
    y = y + update;
    y = y - y.mean(0, true);
    if (o.progress) bar.update(it + 1);
  }
  if (o.progress) bar.finish();
  // Final KL with the last map's Q (diagonal terms of P are zero and contribute nothing).
  auto num = 1 / (1 + squared_distances(y));
  num.fill_diagonal_(0);
  q = (num / num.sum()).clamp_min(1e-12);
  auto mask = p > 0;
  double kl = (p * (p.clamp_min(1e-12) / q).log()).masked_select(mask).sum().item<double>();
  return {y.contiguous(), kl};
}

}  // namespace brainsem::viz
