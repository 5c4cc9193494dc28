// CLIP's tokenizer over arbitrary bytes (`embed-text` prompts and class names): cleaning, ICU case
// mapping, word splitting, BPE, and the ids decoded back.
#include "brainsem/clip/tokenizer.h"
#include "fuzz_input.h"

#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  brainsem::fuzz::expect_result_or_refusal([&] {
    const auto& tokenizer = brainsem::clip::ClipTokenizer::builtin();
    const auto ids = tokenizer.tokenize(text);
    if (ids.size() > static_cast<size_t>(brainsem::clip::ClipTokenizer::kContextLength)) std::abort();
    (void)tokenizer.decode(ids);
  });
  return 0;
}
