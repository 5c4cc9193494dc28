#pragma once
// Virtual brain activity (the paper's Eq. 1, "neuro-semantic re-organisation").
// A new sample of class c from its K real samples x_1..x_K (in a random order):
//   X^c = l_1 x_1 + I_1 l_2 x_2 + ... + I_{K-1} l_K x_K,   l = softmax(alpha), alpha_i ~ U(-1, 1),
//   I_i ~ Bernoulli(0.5).
// Read literally, the weights of the dropped samples still take part in the softmax's
// denominator, so sum(l_i I_i) < 1. The paper calls the result a point "in a convex region";
// mode "paper" therefore renormalises over the kept samples (a masked softmax: a convex
// combination). Mode "literal" keeps Eq. 1's unnormalised weights. Mode "released" is the
// authors' code: a random subset of size U{1..K-1}, softmax(U(-1,1)) weights over it.
#include <torch/torch.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

namespace brainsem::model {

enum class VirtualMode { paper, literal, released };
VirtualMode parse_virtual_mode(const std::string& name);
std::string to_string(VirtualMode mode);
// JSON: the mode's name; an unknown name is refused (parse_virtual_mode), never mapped to a default.
void to_json(nlohmann::json& j, VirtualMode mode);
void from_json(const nlohmann::json& j, VirtualMode& mode);

// Mixing weights [K] for one virtual sample (sum 1 except in literal mode). Uses only `rng`, so
// a seeded std::mt19937_64 makes it reproducible.
std::vector<float> virtual_weights(int64_t k, VirtualMode mode, std::mt19937_64& rng);

// Builds a batch of virtual samples. samples [N, R, P]; rows_of_class[c] lists the rows of
// class c; batch_classes[b] is the class of output row b. Returns [B, R, P].
torch::Tensor virtual_batch(const torch::Tensor& samples, const std::vector<std::vector<int64_t>>& rows_of_class,
                            const std::vector<int64_t>& batch_classes, VirtualMode mode, std::mt19937_64& rng);

}  // namespace brainsem::model
