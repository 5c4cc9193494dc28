// CLIP's BPE tokenizer against openai/CLIP's own output (golden/clip_tokenizer/tokenizer_cases.json).
#include "brainsem/clip/tokenizer.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "brainsem/core/atomic_file.h"
#include "brainsem/core/error.h"
#include "testing/paths.h"

using brainsem::clip::ClipTokenizer;
using brainsem::testing::shared_dir;

namespace {
std::string join(const std::vector<int64_t>& v) {
  std::string s;
  for (auto x : v) s += std::to_string(x) + " ";
  return s;
}
}  // namespace

TEST(ClipTokenizer, MatchesOpenAiOnEveryGoldenCase) {
  BRAINSEM_REQUIRE_SHARED("golden/clip_tokenizer/tokenizer_cases.json");
  const auto j = nlohmann::json::parse(
      brainsem::core::read_text_file(shared_dir() / "golden/clip_tokenizer/tokenizer_cases.json"));
  ASSERT_EQ(j["sot"].get<int64_t>(), ClipTokenizer::kStartOfText);
  ASSERT_EQ(j["eot"].get<int64_t>(), ClipTokenizer::kEndOfText);
  const auto& tok = ClipTokenizer::builtin();
  int checked = 0;
  for (const auto& c : j["cases"]) {
    const auto text = c["text"].get<std::string>();
    const auto want = c["ids"].get<std::vector<int64_t>>();
    EXPECT_EQ(join(tok.tokenize(text)), join(want)) << "text: '" << text << "'";
    ++checked;
  }
  EXPECT_GE(checked, 100);
}

TEST(ClipTokenizer, EmbeddedVocabularyEqualsTheSharedFile) {
  BRAINSEM_REQUIRE_SHARED("golden/clip_tokenizer/bpe_simple_vocab_16e6.txt.gz");
  const auto from_file = ClipTokenizer::from_file(shared_dir() / "golden/clip_tokenizer/bpe_simple_vocab_16e6.txt.gz");
  const std::string text = "The quick brown fox jumps over 13 lazy dogs; don't panic!";
  EXPECT_EQ(from_file.tokenize(text), ClipTokenizer::builtin().tokenize(text));
}

TEST(ClipTokenizer, KnownIdsWithoutSharedFixtures) {
  // Ids from openai/CLIP for "a photo of a dog." (also in the golden file).
  const auto& tok = ClipTokenizer::builtin();
  EXPECT_EQ(tok.tokenize("a photo of a Dog."), (std::vector<int64_t>{49406, 320, 1125, 539, 320, 1929, 269, 49407}));
  // Whitespace runs, tabs and newlines collapse; case folds.
  EXPECT_EQ(tok.tokenize("  A\tPHOTO \n of a   dog. "), tok.tokenize("a photo of a dog."));
  EXPECT_EQ(tok.tokenize(""), (std::vector<int64_t>{49406, 49407}));
}

TEST(ClipTokenizer, PreTokenizerSplitsLikeClipsPattern) {
  using V = std::vector<std::string>;
  EXPECT_EQ(ClipTokenizer::split_words("don't stop"), (V{"don", "'t", "stop"}));
  EXPECT_EQ(ClipTokenizer::split_words("we're 12ab!?"), (V{"we", "'re", "1", "2", "ab", "!?"}));
  // A punctuation run swallows an apostrophe that starts no contraction, and special tokens.
  EXPECT_EQ(ClipTokenizer::split_words("x!'s <|endoftext|>"), (V{"x", "!'", "s", "<|endoftext|>"}));
  // Non-ASCII letters and digits (Unicode categories L and N).
  EXPECT_EQ(ClipTokenizer::split_words("naïve ١٢ 東京"), (V{"naïve", "١", "٢", "東京"}));
}

TEST(ClipTokenizer, NormalizeCleansHtmlNfcWhitespaceAndCase) {
  EXPECT_EQ(ClipTokenizer::normalize("  Fish &amp; CHIPS &#38;amp; &#x41;\u00A0 "), "fish & chips & a");
  // Decomposed e + combining acute becomes the composed character (NFC) before splitting.
  EXPECT_EQ(ClipTokenizer::normalize("Cafe\xCC\x81"), "caf\xC3\xA9");
  EXPECT_EQ(ClipTokenizer::normalize("ΣΟΦΟΣ"), "σοφος");  // final sigma, as Python's str.lower
}

TEST(ClipTokenizer, TruncatesTo77KeepingTheEndToken) {
  const auto& tok = ClipTokenizer::builtin();
  std::string text;
  for (int i = 0; i < 100; ++i) text += "dog ";
  const auto ids = tok.tokenize(text);
  ASSERT_EQ(ids.size(), 77u);
  EXPECT_EQ(ids.front(), ClipTokenizer::kStartOfText);
  EXPECT_EQ(ids.back(), ClipTokenizer::kEndOfText);
  EXPECT_EQ(ids[75], 1929);  // "dog</w>"
  const auto short_ids = tok.tokenize(text, 16);
  ASSERT_EQ(short_ids.size(), 16u);
  EXPECT_EQ(short_ids.back(), ClipTokenizer::kEndOfText);
}

TEST(ClipTokenizer, BatchIsZeroPaddedAndDecodeRoundTrips) {
  const auto& tok = ClipTokenizer::builtin();
  auto t = tok.tokenize_batch({"a dog.", "a photo of a dog."});
  ASSERT_EQ(t.sizes(), (std::vector<int64_t>{2, 8}));
  EXPECT_EQ(t[0][4].item<int64_t>(), ClipTokenizer::kEndOfText);
  EXPECT_EQ(t[0][5].item<int64_t>(), 0);
  EXPECT_EQ(t.argmax(1)[0].item<int64_t>(), 4);  // the end token is the largest id: OpenAI's pooling rule
  EXPECT_EQ(tok.decode(tok.encode("Hello, wörld! 3.5")), "hello , wörld ! 3 . 5 ");
}

TEST(ClipTokenizer, BadInputFailsClearly) {
  const auto& tok = ClipTokenizer::builtin();
  try {
    tok.encode("bad \xC3\x28 bytes");
    FAIL() << "invalid UTF-8 accepted";
  } catch (const brainsem::Error& e) {
    EXPECT_NE(std::string(e.what()).find("UTF-8"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ClipTokenizer("#version\na b\n"), brainsem::Error);  // far too few merges
  EXPECT_THROW(tok.decode({ClipTokenizer::kVocabSize}), brainsem::Error);
}
