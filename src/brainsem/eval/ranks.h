#pragma once
// The one ranking rule of the program. Zero-shot scores, cross-validation, retrieval, statistics
// and ablations all ask "where does the true candidate rank?", and all answer it here:
//   rank = 1 + #{other candidates whose similarity is >= the true one's}
// so ties count against the truth (a constant predictor never scores), similarities are compared
// in float64, and a non-finite similarity (NaN, +-Inf) is the worst possible value, never the
// best: a NaN true similarity ranks last, and a NaN competitor never beats a finite truth.
#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace brainsem::eval {

// similarity [..., C] (any floating dtype), true_index [...] int64 in [0, C).
// Returns [...] int64 ranks in [1, C].
torch::Tensor true_ranks(const torch::Tensor& similarity, const torch::Tensor& true_index);

// Convenience for the common [N, C] case with labels in a vector; checks the labels' range.
std::vector<int64_t> true_ranks(const torch::Tensor& similarity, const std::vector<int64_t>& truth);

// similarity with every non-finite entry replaced by -Inf, as float64: the order true_ranks uses.
// For callers that must sort candidates (top-k lists) consistently with the ranks.
torch::Tensor rankable_similarity(const torch::Tensor& similarity);

}  // namespace brainsem::eval
