// `data import` reads .npy arrays: parse the header and the data, then touch every element.
#include "brainsem/io/npy.h"
#include "fuzz_input.h"

#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  brainsem::fuzz::expect_result_or_refusal([&] {
    torch::Tensor t = brainsem::io::parse_npy(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.npy");
    if (t.numel() > 0) (void)t.to(torch::kFloat64).sum().item<double>();
  });
  return 0;
}
