#include "brainsem/eval/zero_shot.h"

#include "brainsem/core/error.h"
#include "brainsem/eval/ranks.h"

namespace F = torch::nn::functional;

namespace brainsem::eval {

ZeroShotResult zero_shot(const torch::Tensor& predicted, const torch::Tensor& prototypes,
                         const std::vector<int64_t>& truth) {
  BRAINSEM_CHECK(predicted.dim() == 2 && prototypes.dim() == 2 && predicted.size(1) == prototypes.size(1),
                 "zero-shot: predicted ", predicted.sizes(), " and prototypes ", prototypes.sizes(),
                 " must be [N, E] and [C, E]");
  BRAINSEM_CHECK(static_cast<int64_t>(truth.size()) == predicted.size(0), "zero-shot: ", truth.size(), " labels for ",
                 predicted.size(0), " predictions");
  const int64_t c = prototypes.size(0);
  for (size_t i = 0; i < truth.size(); ++i)
    BRAINSEM_CHECK(truth[i] >= 0 && truth[i] < c, "zero-shot: label ", truth[i], " of row ", i, " is outside [0, ", c,
                   ")");
  ZeroShotResult r;
  auto p = F::normalize(predicted.to(torch::kFloat64), F::NormalizeFuncOptions().dim(1));
  auto q = F::normalize(prototypes.to(torch::kFloat64), F::NormalizeFuncOptions().dim(1));
  auto sim = p.matmul(q.t());  // [N, C] float64
  r.similarity = sim;
  r.rank = true_ranks(sim, truth);
  if (sim.size(0) > 0) {
    auto best = rankable_similarity(sim).argmax(1).contiguous();
    r.predicted.assign(best.data_ptr<int64_t>(), best.data_ptr<int64_t>() + best.numel());
  }
  int64_t hit1 = 0, hit5 = 0;
  double rank_sum = 0;
  for (auto rank : r.rank) {
    hit1 += rank == 1;
    hit5 += rank <= 5;
    rank_sum += static_cast<double>(rank);
  }
  const double n = static_cast<double>(sim.size(0));
  r.top1 = hit1 / n;
  r.top5 = hit5 / n;
  r.mean_rank = rank_sum / n;
  return r;
}

torch::Tensor class_prototypes(const torch::Tensor& features, const std::vector<int64_t>& row_class,
                               int64_t num_classes) {
  BRAINSEM_CHECK(features.size(0) == static_cast<int64_t>(row_class.size()), "class prototypes: ", row_class.size(),
                 " labels for ", features.size(0), " rows");
  auto f = F::normalize(features.to(torch::kFloat32), F::NormalizeFuncOptions().dim(1));
  auto sums = torch::zeros({num_classes, f.size(1)});
  auto counts = torch::zeros({num_classes});
  auto idx = torch::tensor(row_class, torch::kInt64);
  sums.index_add_(0, idx, f);
  counts.index_add_(0, idx, torch::ones({f.size(0)}));
  BRAINSEM_CHECK(counts.min().item<float>() > 0, "class prototypes: some class has no rows");
  return F::normalize(sums / counts.unsqueeze(1), F::NormalizeFuncOptions().dim(1));
}

}  // namespace brainsem::eval
