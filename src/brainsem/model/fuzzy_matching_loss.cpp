#include "brainsem/model/fuzzy_matching_loss.h"

#include "brainsem/core/error.h"

namespace F = torch::nn::functional;

namespace brainsem::model {

torch::Tensor fuzzy_targets(const torch::Tensor& classes) {
  auto j = (classes.unsqueeze(1) == classes.unsqueeze(0)).to(torch::kFloat32);  // [N, N]
  return j / j.sum(1, true);
}

torch::Tensor fuzzy_matching_loss(const torch::Tensor& brain, const torch::Tensor& image, const torch::Tensor& classes,
                                  const FuzzyLossOptions& opts) {
  BRAINSEM_CHECK(brain.dim() == 2 && image.sizes() == brain.sizes(), "fuzzy loss: brain ", brain.sizes(), " and image ",
                 image.sizes(), " must both be [N, E]");
  BRAINSEM_CHECK(classes.dim() == 1 && classes.size(0) == brain.size(0), "fuzzy loss: classes must be [N]");
  BRAINSEM_CHECK(opts.temperature > 0, "temperature must be > 0");
  auto b = F::normalize(brain, F::NormalizeFuncOptions().dim(1));
  auto v = F::normalize(image, F::NormalizeFuncOptions().dim(1));
  auto logits = torch::matmul(b, v.t());  // [N, N] cosine similarities
  logits = opts.scale.defined() ? logits * opts.scale : logits / opts.temperature;
  auto target = fuzzy_targets(classes).to(logits.dtype());
  auto loss = -(target * torch::log_softmax(logits, 1)).sum(1).mean();
  if (opts.symmetric) loss = 0.5 * (loss - (target * torch::log_softmax(logits.t(), 1)).sum(1).mean());
  return loss;
}

torch::Tensor centred_cosine_regression_loss(const torch::Tensor& brain, const torch::Tensor& image) {
  BRAINSEM_CHECK(brain.dim() == 2 && image.sizes() == brain.sizes() && brain.size(0) >= 2, "regression loss: brain ",
                 brain.sizes(), " and image ", image.sizes(), " must both be [N, E] with N >= 2");
  auto v = F::normalize(image, F::NormalizeFuncOptions().dim(1));
  auto target = v - v.mean(0, true);  // [N, E]
  return (1 - F::cosine_similarity(brain, target, F::CosineSimilarityFuncOptions().dim(1))).mean();
}

}  // namespace brainsem::model
