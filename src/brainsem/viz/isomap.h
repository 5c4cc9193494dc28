#pragma once
// ISOMAP (Tenenbaum et al. 2000; cited by the paper as Balasubramanian & Schwartz 2002) for the
// embedding maps of Fig. 5: a symmetric k-nearest-neighbour graph with Euclidean edge lengths,
// geodesic distances by Dijkstra from every point, then classical MDS of the geodesics.
//
// A disconnected graph has no finite geodesics between its parts. By default isomap() throws,
// naming the component sizes (fix: raise `neighbors`); with largest_component = true it embeds
// the largest component only and reports which rows it kept.
// Cost: O(N^2) memory, O(N^2 k log N) for the paths and O(N^3) for the eigendecomposition;
// refused above max_points.
#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace brainsem::viz {

struct IsomapOptions {
  int64_t neighbors = 10;
  int64_t dims = 2;
  bool largest_component = false;
  int64_t max_points = 5000;
};

struct IsomapResult {
  torch::Tensor coords;       // [M, dims] float32, M = kept.size()
  std::vector<int64_t> kept;  // rows of x embedded, in coords order (all rows when connected)
  torch::Tensor eigenvalues;  // [dims] double, largest first
};

IsomapResult isomap(const torch::Tensor& x, const IsomapOptions& options = {});

// Classical (Torgerson) MDS of a distance matrix dist [N, N]: the top `dims` eigenvectors of
// B = -1/2 J D^2 J scaled by sqrt(eigenvalue). Each axis's sign is fixed so that its
// largest-magnitude coordinate is positive (eigenvectors are otherwise sign-ambiguous).
// Returns coords [N, dims] double; eigenvalues [dims] are written to *eigenvalues if given.
torch::Tensor classical_mds(const torch::Tensor& dist, int64_t dims, torch::Tensor* eigenvalues = nullptr);

}  // namespace brainsem::viz
