#pragma once
// An ensemble of trained runs of one study: each member's test predictions are scaled to unit
// length and averaged, so every member has the same say in the cosine ranking whatever its scale
// (the fuzzy loss and the ridge start leave encoders at arbitrary norms). `brainsem eval --run
// A,B,...` scores the result like a single run.
#include <torch/torch.h>

#include <string>
#include <vector>

#include "brainsem/experiment/study.h"

namespace brainsem::experiment {

// members: each [N, E] (the same test items in the same order) -> [N, E], the mean of the
// row-normalised members. Refused when empty or when the shapes differ.
torch::Tensor ensemble_embedding(const std::vector<torch::Tensor>& members);

// Refuses `member` (named `member_name` in the message) unless its test set is `first`'s: the same
// test classes and truth, and the same normalised test fMRI, token for token. Runs of another
// subject, other ROIs or another normalisation fail here.
void check_same_test_set(const LoadedStudy& first, const LoadedStudy& member, const std::string& first_name,
                         const std::string& member_name);

}  // namespace brainsem::experiment
