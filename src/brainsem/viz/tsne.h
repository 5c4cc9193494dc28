#pragma once
// Exact t-SNE (van der Maaten & Hinton 2008) for the embedding maps of Fig. 5.
//
// P: Gaussian conditional affinities whose bandwidth is found per point by binary search so that
// the row's perplexity matches the target, symmetrised to p_ij = (p_j|i + p_i|j) / 2N.
// Q: Student-t (one degree of freedom) affinities of the map points. Optimisation: gradient
// descent on KL(P || Q) with early exaggeration, momentum and per-coordinate gains.
// The cost is O(N^2) memory and time per iteration, so tsne() refuses more than max_points
// points (default 5000: ~100 MB per N x N float matrix, a few minutes on 2 cores); subsample
// first. Deterministic for a given seed and thread count.
#include <torch/torch.h>

#include <cstdint>

namespace brainsem::viz {

struct TsneOptions {
  double perplexity = 30;
  int64_t iterations = 1000;
  // 0 = automatic, max(N / early_exaggeration / 4, 50) (Belkina et al. 2019, sklearn's "auto"):
  // the classic fixed 200 makes small maps (< ~1000 points) diverge.
  double learning_rate = 0;
  double early_exaggeration = 12;
  int64_t exaggeration_iterations = 250;  // also when momentum switches from 0.5 to 0.8
  int64_t dims = 2;
  uint64_t seed = 0;  // initial map ~ N(0, 1e-4 I) drawn from this seed
  int64_t max_points = 5000;
  bool progress = false;  // draw a core::Progress bar
};

struct TsneResult {
  torch::Tensor coords;      // [N, dims] float32, centred
  double kl_divergence = 0;  // KL(P || Q) at the end (without exaggeration)
};

// x [N, D]: one row per point, any floating dtype.
TsneResult tsne(const torch::Tensor& x, const TsneOptions& options = {});

// The conditional affinities p_j|i of squared distances sq_dist [N, N] (diagonal ignored), each
// row calibrated to the perplexity: [N, N] double, rows sum to 1, zero diagonal. Exposed for
// tests (the entropy of row i is log(perplexity)).
torch::Tensor tsne_conditional_affinities(const torch::Tensor& sq_dist, double perplexity);

}  // namespace brainsem::viz
