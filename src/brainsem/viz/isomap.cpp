#include "brainsem/viz/isomap.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <queue>

#include "brainsem/core/error.h"

namespace brainsem::viz {

namespace {

struct Edge {
  int64_t to;
  double length;
};

// Symmetric kNN graph: i-j is an edge when j is among i's k nearest or i among j's.
std::vector<std::vector<Edge>> knn_graph(const torch::Tensor& x, int64_t k) {
  const int64_t n = x.size(0);
  auto n2 = x.pow(2).sum(1);
  auto d = (n2.unsqueeze(1) + n2.unsqueeze(0) - 2 * x.matmul(x.t())).clamp_min(0).sqrt();
  d.fill_diagonal_(std::numeric_limits<double>::infinity());
  auto nn = std::get<1>(d.topk(k, 1, /*largest=*/false)).contiguous();  // [N, k]
  auto da = d.accessor<double, 2>();
  auto na = nn.accessor<int64_t, 2>();
  std::vector<std::vector<Edge>> g(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t t = 0; t < k; ++t) {
      int64_t j = na[i][t];
      g[i].push_back({j, da[i][j]});
      g[j].push_back({i, da[i][j]});
    }
  return g;  // duplicate edges are harmless for Dijkstra
}

// Connected-component id of every node (ids in order of first node).
std::vector<int64_t> components(const std::vector<std::vector<Edge>>& g, int64_t* count) {
  std::vector<int64_t> comp(g.size(), -1);
  int64_t c = 0;
  for (size_t s = 0; s < g.size(); ++s) {
    if (comp[s] >= 0) continue;
    std::vector<size_t> stack{s};
    comp[s] = c;
    while (!stack.empty()) {
      size_t u = stack.back();
      stack.pop_back();
      for (const Edge& e : g[u])
        if (comp[e.to] < 0) comp[e.to] = c, stack.push_back(static_cast<size_t>(e.to));
    }
    ++c;
  }
  *count = c;
  return comp;
}

void dijkstra(const std::vector<std::vector<Edge>>& g, int64_t source, double* dist) {
  const auto n = static_cast<int64_t>(g.size());
  std::fill(dist, dist + n, std::numeric_limits<double>::infinity());
  using Item = std::pair<double, int64_t>;
  std::priority_queue<Item, std::vector<Item>, std::greater<Item>> heap;
  dist[source] = 0;
  heap.push({0, source});
  while (!heap.empty()) {
    auto [du, u] = heap.top();
    heap.pop();
    if (du > dist[u]) continue;
    for (const Edge& e : g[u])
      if (du + e.length < dist[e.to]) {
        dist[e.to] = du + e.length;
        heap.push({dist[e.to], e.to});
      }
  }
}

}  // namespace

torch::Tensor classical_mds(const torch::Tensor& dist, int64_t dims, torch::Tensor* eigenvalues) {
  BRAINSEM_CHECK(dist.dim() == 2 && dist.size(0) == dist.size(1),
                 "classical MDS: expected a "
                 "square distance matrix, got ",
                 dist.sizes());
  BRAINSEM_CHECK(dims >= 1 && dims < dist.size(0), "classical MDS: dims=", dims,
                 " must be in [1, N) with N=", dist.size(0));
  auto d2 = dist.to(torch::kDouble).pow(2);
  // Double centring: B = -1/2 (D2 - row means - column means + grand mean).
  auto b = -0.5 * (d2 - d2.mean(1, true) - d2.mean(0, true) + d2.mean());
  b = (b + b.t()) / 2;                                  // exact symmetry for eigh
  auto [values, vectors] = torch::linalg_eigh(b, "L");  // ascending
  const int64_t n = b.size(0);
  auto top = torch::arange(n - 1, n - 1 - dims, -1);
  auto lam = values.index_select(0, top);
  auto vec = vectors.index_select(1, top);  // [N, dims]
  auto idx = vec.abs().argmax(0);
  auto sign = vec.gather(0, idx.unsqueeze(0)).sign();
  sign = torch::where(sign == 0, torch::ones_like(sign), sign);
  if (eigenvalues) *eigenvalues = lam;
  return vec * sign * lam.clamp_min(0).sqrt();
}

IsomapResult isomap(const torch::Tensor& x, const IsomapOptions& o) {
  BRAINSEM_CHECK(x.dim() == 2, "ISOMAP: expected points [N, D], got ", x.sizes());
  const int64_t n = x.size(0);
  BRAINSEM_CHECK(n <= o.max_points, "ISOMAP: ", n, " points exceed the limit of ", o.max_points,
                 " (O(N^2) memory, O(N^3) eigendecomposition); subsample the points first");
  BRAINSEM_CHECK(o.neighbors >= 1 && o.neighbors < n, "ISOMAP: neighbors=", o.neighbors,
                 " must be in [1, N) with N=", n);
  BRAINSEM_CHECK(o.dims >= 1 && o.dims < n, "ISOMAP: dims=", o.dims, " must be in [1, N)");
  auto xd = x.to(torch::kDouble);
  BRAINSEM_CHECK(torch::isfinite(xd).all().item<bool>(), "ISOMAP: the points contain NaN or inf");
  auto graph = knn_graph(xd, o.neighbors);

  int64_t count = 0;
  auto comp = components(graph, &count);
  IsomapResult r;
  if (count > 1) {
    std::vector<int64_t> sizes(static_cast<size_t>(count), 0);
    for (int64_t c : comp) ++sizes[c];
    int64_t biggest = std::max_element(sizes.begin(), sizes.end()) - sizes.begin();
    if (!o.largest_component) {
      std::string list;
      for (int64_t s : sizes) list += (list.empty() ? "" : ", ") + std::to_string(s);
      fail("ISOMAP: the ", o.neighbors, "-nearest-neighbour graph has ", count, " disconnected components (sizes ",
           list,
           "), so geodesic distances between them are "
           "undefined; raise the number of neighbors, or embed the largest component only");
    }
    for (int64_t i = 0; i < n; ++i)
      if (comp[i] == biggest) r.kept.push_back(i);
    auto sub = xd.index_select(0, torch::tensor(r.kept));
    IsomapOptions again = o;
    again.largest_component = false;
    auto inner = isomap(sub, again);
    inner.kept = r.kept;
    return inner;
  }
  for (int64_t i = 0; i < n; ++i) r.kept.push_back(i);

  auto geo = torch::empty({n, n}, torch::kDouble);
  double* g = geo.data_ptr<double>();
  // Sources are independent, so the result does not depend on the thread split.
  at::parallel_for(0, n, 1, [&](int64_t begin, int64_t end) {
    for (int64_t s = begin; s < end; ++s) dijkstra(graph, s, g + s * n);
  });
  geo = (geo + geo.t()) / 2;  // identical up to rounding; exact symmetry for MDS
  r.coords = classical_mds(geo, o.dims, &r.eigenvalues).to(torch::kFloat);
  return r;
}

}  // namespace brainsem::viz
