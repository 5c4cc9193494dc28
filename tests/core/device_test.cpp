#include "brainsem/core/device.h"

#include <gtest/gtest.h>

#include "brainsem/core/error.h"

using namespace brainsem;

namespace {
std::string message_of(const std::string& device, const std::string& dtype, bool allow_fp16 = false) {
  try {
    core::parse_compute_target(device, dtype, allow_fp16);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(ComputeTarget, ParsesTheCpuAndEachPrecision) {
  auto t = core::parse_compute_target("cpu", "fp32");
  EXPECT_TRUE(t.device.is_cpu());
  EXPECT_EQ(t.dtype, torch::kFloat32);
  EXPECT_FALSE(t.autocast());
  t = core::parse_compute_target("cpu", "bf16");
  EXPECT_EQ(t.dtype, torch::kBFloat16);
  EXPECT_TRUE(t.autocast());
  EXPECT_EQ(t.describe(), "cpu bf16");
}

TEST(ComputeTarget, RefusesWhatCannotRunNamingTheOptionAndTheAlternative) {
  EXPECT_NE(message_of("gpu", "fp32").find("--device 'gpu' is not a device; use cpu, cuda or cuda:N"),
            std::string::npos);
  EXPECT_NE(message_of("cuda:x", "fp32").find("is not a device"), std::string::npos);
  EXPECT_NE(message_of("cpu", "fp64").find("--dtype 'fp64' is not supported here; use fp32 or bf16"),
            std::string::npos);
  // fp16 only where a command allows it, and then only on CUDA.
  EXPECT_NE(message_of("cpu", "fp16").find("is not supported here"), std::string::npos);
  EXPECT_NE(message_of("cpu", "fp16", true).find("--dtype fp16 needs --device cuda"), std::string::npos);
  if (!torch::cuda::is_available()) {
    EXPECT_NE(message_of("cuda", "fp32").find("--device cuda: CUDA is not available"), std::string::npos);
    EXPECT_NE(message_of("cuda:1", "bf16").find("CUDA is not available"), std::string::npos);
  } else {
    EXPECT_NE(message_of("cuda:999", "fp32").find("this machine has"), std::string::npos);
    EXPECT_TRUE(core::parse_compute_target("cuda", "fp32").device.is_cuda());
  }
}

TEST(ComputeTarget, AutocastRunsMatrixProductsInBf16OnlyInsideItsScope) {
  const auto a = torch::randn({8, 16}), b = torch::randn({16, 4});
  const auto exact = a.matmul(b);
  torch::Tensor inside, nested_exit;
  {
    core::AutocastScope scope(core::parse_compute_target("cpu", "bf16"));
    inside = a.matmul(b);
    { core::AutocastScope nested(core::parse_compute_target("cpu", "bf16")); }
    nested_exit = a.matmul(b);  // leaving an inner scope keeps the outer one on
  }
  EXPECT_EQ(inside.scalar_type(), torch::kBFloat16);
  EXPECT_EQ(nested_exit.scalar_type(), torch::kBFloat16);
  // bf16 keeps 8 mantissa bits: close to float32, but not equal.
  EXPECT_TRUE(torch::allclose(inside.to(torch::kFloat32), exact, 0.05, 0.1));
  EXPECT_FALSE(torch::equal(inside.to(torch::kFloat32), exact));
  EXPECT_EQ(a.matmul(b).scalar_type(), torch::kFloat32);  // off again after the scope
  {
    core::AutocastScope fp32(core::parse_compute_target("cpu", "fp32"));  // a no-op
    EXPECT_TRUE(torch::equal(a.matmul(b), exact));
  }
}

TEST(ComputeTarget, TheProcessTargetStartsAsCpuFloat32) {
  EXPECT_TRUE(core::compute_target().device.is_cpu());
  EXPECT_EQ(core::compute_target().dtype, torch::kFloat32);
}
