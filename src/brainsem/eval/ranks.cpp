#include "brainsem/eval/ranks.h"

#include <limits>

#include "brainsem/core/error.h"

namespace brainsem::eval {

torch::Tensor rankable_similarity(const torch::Tensor& similarity) {
  auto s = similarity.to(torch::kFloat64);
  return torch::where(torch::isfinite(s), s, torch::full({}, -std::numeric_limits<double>::infinity(), s.options()));
}

torch::Tensor true_ranks(const torch::Tensor& similarity, const torch::Tensor& true_index) {
  BRAINSEM_CHECK(similarity.dim() >= 1 && similarity.size(-1) >= 1, "ranks: similarity ", similarity.sizes(),
                 " needs a last dimension of candidates");
  BRAINSEM_CHECK(true_index.dim() == similarity.dim() - 1 &&
                     true_index.sizes() == similarity.sizes().slice(0, similarity.dim() - 1),
                 "ranks: true index ", true_index.sizes(), " does not match similarity ", similarity.sizes());
  auto s = rankable_similarity(similarity);
  auto idx = true_index.to(torch::kInt64);
  if (idx.numel() > 0) {
    const int64_t lo = idx.min().item<int64_t>(), hi = idx.max().item<int64_t>();
    BRAINSEM_CHECK(lo >= 0 && hi < s.size(-1), "ranks: true index outside [0, ", s.size(-1), "): ", lo < 0 ? lo : hi);
  }
  auto own = s.gather(-1, idx.unsqueeze(-1));  // [..., 1]
  // The true column itself satisfies >=, which supplies the "1 +".
  return (s >= own).sum(-1).to(torch::kInt64);
}

std::vector<int64_t> true_ranks(const torch::Tensor& similarity, const std::vector<int64_t>& truth) {
  BRAINSEM_CHECK(similarity.dim() == 2, "ranks: similarity ", similarity.sizes(), " must be [N, C]");
  BRAINSEM_CHECK(static_cast<int64_t>(truth.size()) == similarity.size(0), "ranks: ", truth.size(), " labels for ",
                 similarity.size(0), " rows");
  for (size_t i = 0; i < truth.size(); ++i)
    BRAINSEM_CHECK(truth[i] >= 0 && truth[i] < similarity.size(1), "ranks: label ", truth[i], " of row ", i,
                   " is outside [0, ", similarity.size(1), ")");
  if (truth.empty()) return {};
  auto r = true_ranks(similarity, torch::tensor(truth, torch::kInt64)).contiguous();
  return std::vector<int64_t>(r.data_ptr<int64_t>(), r.data_ptr<int64_t>() + r.numel());
}

}  // namespace brainsem::eval
