#pragma once
// A split-half identification ceiling on the brain side: how reliably do the test fMRI patterns
// themselves tell the test images apart? For each random split, the trials of every test image are
// divided at random into two halves (floor(n/2) and ceil(n/2) trials, so odd and unequal repeat
// counts are fine), each half is averaged, and half A of image i identifies image i when its
// pattern correlates (Pearson across voxels) with image i's half-B pattern at least as well as
// with every other image's half-B pattern (ranks as eval/ranks.h: ties count against the truth).
// Both directions (A against B, B against A) are scored and everything is averaged over splits.
//
// What this is: a measure of how repeatable the averaged test patterns are, on the same 1-of-N
// identification scale as the decoders' top-1 / top-5. What it is not: a bound proven for every
// decoder. Each half averages about half the repeats, so the full average is more reliable than
// either half; and a decoder compares a brain pattern with image features, not with another brain
// pattern. Read it as "how well the test data can identify its own images", next to the score.
#include <torch/torch.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

namespace brainsem::eval {

struct IdentificationCeiling {
  int64_t images = 0;                        // test images with >= 2 trials: the queries and the candidates
  int64_t excluded_images = 0;               // images with fewer than 2 trials (cannot be split)
  int64_t trials = 0;                        // trials of the included images
  int64_t min_repeats = 0, max_repeats = 0;  // trials per included image
  int64_t splits = 0;
  uint64_t seed = 0;
  double top1 = 0, top5 = 0;                // mean over splits (each split: both directions, all images)
  double top1_sd = 0, top5_sd = 0;          // sd over splits (n - 1), the split-to-split variation
  double chance_top1 = 0, chance_top5 = 0;  // 1 / images, min(1, 5 / images)
  // Voxel-wise split-half reliability: each voxel's half-A and half-B means correlated across
  // images, r averaged over splits, corrected to all repeats by Spearman-Brown 2r / (1 + r) (exact
  // for equal halves; with odd counts the halves differ by one trial), averaged over voxels that
  // vary across images (NaN, null in JSON, when none does).
  double voxel_reliability = 0;
  nlohmann::json to_json() const;
};

// trials [T, V] (one row per test trial, voxels only, no padding), image [T] the test image of
// each trial (any non-negative ids; images need not have the same number of trials).
IdentificationCeiling split_half_identification(const torch::Tensor& trials, const std::vector<int64_t>& image,
                                                int64_t splits = 100, uint64_t seed = 0);

}  // namespace brainsem::eval
