#pragma once
// The synthetic world's oracle (data/synth.h): the best a decoder that sees CLIP features could do.
#include <torch/torch.h>

#include "brainsem/experiment/study.h"

namespace brainsem::experiment {

// Oracle from the synthetic generator's true parameters: ranks the candidate test images by the
// Gaussian likelihood of the raw averaged test response under the true model given each image's
// semantics (its CLIP feature), with the unknowable per-image low-level drive treated as noise:
// the best a decoder that sees CLIP features could do. Requires inputs.truth.
// Returns [N_test, C_test] log-likelihoods.
torch::Tensor oracle_similarity(const LoadedStudy& study);

}  // namespace brainsem::experiment
