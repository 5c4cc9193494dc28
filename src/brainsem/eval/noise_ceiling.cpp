#include "brainsem/eval/noise_ceiling.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <random>

#include "brainsem/core/error.h"
#include "brainsem/eval/ranks.h"

using nlohmann::json;

namespace brainsem::eval {

json IdentificationCeiling::to_json() const {
  return json{{"kind", "split-half brain-side identification ceiling"},
              {"images", images},
              {"excluded_images", excluded_images},
              {"trials", trials},
              {"min_repeats", min_repeats},
              {"max_repeats", max_repeats},
              {"splits", splits},
              {"seed", seed},
              {"top1", top1},
              {"top5", top5},
              {"top1_sd", top1_sd},
              {"top5_sd", top5_sd},
              {"chance_top1", chance_top1},
              {"chance_top5", chance_top5},
              {"voxel_reliability", voxel_reliability}};
}

namespace {

// Rows centred and scaled to unit norm, so that a @ b.T is the Pearson correlation of rows.
// A constant row becomes NaN, which ranks last.
torch::Tensor unit_centred_rows(const torch::Tensor& x) {
  auto d = x - x.mean(1, true);
  return d / d.norm(2, 1, true);
}

double sd_of(const std::vector<double>& v, double mean) {
  if (v.size() < 2) return 0;
  double ss = 0;
  for (double x : v) ss += (x - mean) * (x - mean);
  return std::sqrt(ss / static_cast<double>(v.size() - 1));
}

}  // namespace

IdentificationCeiling split_half_identification(const torch::Tensor& trials, const std::vector<int64_t>& image,
                                                int64_t splits, uint64_t seed) {
  BRAINSEM_CHECK(trials.defined() && trials.dim() == 2, "split-half identification: trials must be [T, V], got ",
                 trials.defined() ? trials.sizes() : torch::IntArrayRef{});
  BRAINSEM_CHECK(static_cast<int64_t>(image.size()) == trials.size(0), "split-half identification: ", image.size(),
                 " image ids for ", trials.size(0), " trials");
  BRAINSEM_CHECK(splits >= 1, "split-half identification: splits=", splits, " must be >= 1");
  auto x = trials.to(torch::kFloat64).contiguous();
  BRAINSEM_CHECK(torch::isfinite(x).all().item<bool>(), "split-half identification: trials contain NaN or infinity");

  // Trials of each image (ascending id), keeping only images that can be split.
  std::map<int64_t, std::vector<int64_t>> by_image;
  for (size_t t = 0; t < image.size(); ++t) {
    BRAINSEM_CHECK(image[t] >= 0, "split-half identification: trial ", t, " has image id ", image[t]);
    by_image[image[t]].push_back(static_cast<int64_t>(t));
  }
  IdentificationCeiling c;
  c.splits = splits;
  c.seed = seed;
  std::vector<std::vector<int64_t>> groups;
  for (auto& [id, rows] : by_image) {
    if (rows.size() < 2) {
      ++c.excluded_images;
      continue;
    }
    const auto n = static_cast<int64_t>(rows.size());
    c.min_repeats = groups.empty() ? n : std::min(c.min_repeats, n);
    c.max_repeats = std::max(c.max_repeats, n);
    c.trials += n;
    groups.push_back(rows);
  }
  c.images = static_cast<int64_t>(groups.size());
  BRAINSEM_CHECK(c.images >= 2, "split-half identification: needs at least 2 test images with 2 or more trials, found ",
                 c.images, "; a noise ceiling needs trial-level (unaveraged) test data");
  c.chance_top1 = 1.0 / static_cast<double>(c.images);
  c.chance_top5 = std::min(1.0, 5.0 / static_cast<double>(c.images));

  const int64_t m = c.images, voxels = x.size(1);
  std::mt19937_64 rng(seed);
  std::vector<int64_t> row_of;  // trials used, in group order
  std::vector<int64_t> target;  // 2 * image + half for each of them
  std::vector<double> count(static_cast<size_t>(2 * m));
  std::vector<double> top1s, top5s;
  auto truth = torch::arange(m, torch::kInt64);
  auto voxel_r = torch::zeros({voxels}, torch::kFloat64);
  for (int64_t s = 0; s < splits; ++s) {
    row_of.clear();
    target.clear();
    for (int64_t i = 0; i < m; ++i) {
      auto rows = groups[static_cast<size_t>(i)];
      for (size_t k = rows.size(); k > 1; --k) std::swap(rows[k - 1], rows[rng() % k]);  // Fisher-Yates
      const size_t half = rows.size() / 2;  // half A gets floor(n/2) trials, half B the rest
      for (size_t k = 0; k < rows.size(); ++k) {
        row_of.push_back(rows[k]);
        target.push_back(2 * i + (k < half ? 0 : 1));
      }
      count[static_cast<size_t>(2 * i)] = static_cast<double>(half);
      count[static_cast<size_t>(2 * i + 1)] = static_cast<double>(rows.size() - half);
    }
    auto sums = torch::zeros({2 * m, voxels}, torch::kFloat64)
                    .index_add_(0, torch::tensor(target, torch::kInt64),
                                x.index_select(0, torch::tensor(row_of, torch::kInt64)));
    auto means = (sums / torch::tensor(count, torch::kFloat64).unsqueeze(1)).view({m, 2, voxels});
    auto a = means.select(1, 0), b = means.select(1, 1);                // [m, V] each
    auto corr = unit_centred_rows(a).matmul(unit_centred_rows(b).t());  // [m, m]: A queries x B candidates
    auto ranks = torch::cat({true_ranks(corr, truth), true_ranks(corr.t(), truth)});  // [2m]
    top1s.push_back((ranks == 1).to(torch::kFloat64).mean().item<double>());
    top5s.push_back((ranks <= 5).to(torch::kFloat64).mean().item<double>());
    // Each voxel across images (NaN where a voxel is constant in a half).
    auto ac = a - a.mean(0), bc = b - b.mean(0);
    voxel_r += (ac * bc).sum(0) / (ac.pow(2).sum(0) * bc.pow(2).sum(0)).sqrt();
  }
  for (double v : top1s) c.top1 += v;
  for (double v : top5s) c.top5 += v;
  c.top1 /= static_cast<double>(splits);
  c.top5 /= static_cast<double>(splits);
  c.top1_sd = sd_of(top1s, c.top1);
  c.top5_sd = sd_of(top5s, c.top5);
  auto r = voxel_r / static_cast<double>(splits);
  auto corrected = 2 * r / (1 + r);
  auto finite = torch::isfinite(corrected);
  c.voxel_reliability = finite.any().item<bool>() ? corrected.masked_select(finite).mean().item<double>()
                                                  : std::numeric_limits<double>::quiet_NaN();
  return c;
}

}  // namespace brainsem::eval
