// A run directory's checkpoint.safetensors (`eval --run`, `retrieve`, `report`, `train --resume`):
// format, metadata, configuration JSON, names, dtypes, shapes and finiteness.
#include "brainsem/train/checkpoint.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = brainsem::fuzz::input_file(data, size, ".safetensors");
  brainsem::fuzz::expect_result_or_refusal([&] {
    brainsem::train::CheckpointState s = brainsem::train::read_checkpoint(path);
    for (const auto& [name, t] : s.model) (void)t.sum().item<float>();
    (void)brainsem::train::read_checkpoint_step(path);
  });
  return 0;
}
