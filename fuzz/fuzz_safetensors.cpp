// Feature stores, CLIP weights and checkpoints are safetensors files: open one (header parsed and
// checked against the file), then read every tensor whole and by rows, touching every byte.
#include "brainsem/io/safetensors.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = brainsem::fuzz::input_file(data, size, ".safetensors");
  brainsem::fuzz::expect_result_or_refusal([&] {
    brainsem::io::SafetensorsFile file(path);
    for (const auto& name : file.names()) {
      torch::Tensor t = file.tensor(name);
      if (t.numel() > 0 && t.is_floating_point()) (void)t.to(torch::kFloat64).sum().item<double>();
      if (t.dim() > 0 && t.size(0) > 0) (void)file.rows(name, 0, 1).sum();
    }
    for (const auto& [key, value] : file.metadata()) (void)file.metadata_at(key).size();
  });
  return 0;
}
