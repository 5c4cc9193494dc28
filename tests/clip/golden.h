#pragma once
// Golden comparisons for the clip tests: max |a-b| with where and the first differing values.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <sstream>
#include <string>

namespace brainsem::testing {

// Returns a failure naming max |delta|, its flat index and the first values that differ by more
// than `tol`, or success.
inline ::testing::AssertionResult all_close(const torch::Tensor& got_in, const torch::Tensor& want_in, double tol) {
  auto got = got_in.to(torch::kFloat64).contiguous().cpu();
  auto want = want_in.to(torch::kFloat64).contiguous().cpu();
  if (got.sizes() != want.sizes())
    return ::testing::AssertionFailure() << "shape " << got.sizes() << " != expected " << want.sizes();
  auto diff = (got - want).abs().flatten();
  const int64_t at = diff.argmax().item<int64_t>();
  const double maxd = diff[at].item<double>();
  if (maxd <= tol) return ::testing::AssertionSuccess() << "max |delta| " << maxd;
  std::ostringstream os;
  os << "max |delta| " << maxd << " > " << tol << " at flat index " << at << " (of shape " << got.sizes()
     << "); first differing values:";
  auto bad = (diff > tol).nonzero().flatten();
  auto g = got.flatten(), w = want.flatten();
  for (int64_t i = 0; i < std::min<int64_t>(5, bad.size(0)); ++i) {
    const int64_t j = bad[i].item<int64_t>();
    os << " [" << j << "] got " << g[j].item<double>() << " want " << w[j].item<double>();
  }
  os << " (" << bad.size(0) << " values differ)";
  return ::testing::AssertionFailure() << os.str();
}

}  // namespace brainsem::testing
