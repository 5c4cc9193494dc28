// Image files for `embed` (JPEG through libjpeg-turbo, PNG through libpng): decode under a small
// pixel limit (the program's limit is Pillow's 89.5 Mpx; a smaller one keeps fuzzing fast and
// exercises the same check), then convert to RGB as the preprocessing does.
#include "brainsem/clip/image.h"
#include "fuzz_input.h"

#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<uint8_t> bytes(data, data + size);
  brainsem::fuzz::expect_result_or_refusal([&] {
    constexpr int64_t kFuzzMaxPixels = 4 << 20;
    const auto image = brainsem::clip::decode_image(bytes, "fuzz-image", kFuzzMaxPixels);
    const auto rgb = brainsem::clip::to_rgb(image);
    if (rgb.pixels.size() != static_cast<size_t>(rgb.width) * rgb.height * 3) std::abort();
  });
  return 0;
}
