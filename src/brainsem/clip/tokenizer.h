#pragma once
// CLIP's byte-level BPE tokenizer (the algorithm of openai/CLIP simple_tokenizer.py, written anew;
// docs/clip_text.md). The vocabulary (bpe_simple_vocab_16e6.txt.gz, MIT, data/clip/) is compiled
// into the binary. Text is cleaned (HTML entities unescaped, Unicode NFC, whitespace runs -> one
// space, trimmed), lower-cased (full Unicode case mapping, ICU), split into words with CLIP's
// pattern (special tokens | 's 't 're 've 'm 'll 'd | letters+ | one digit | other non-space+),
// each word's UTF-8 bytes mapped to printable characters and merged by BPE rank.
// ftfy.fix_text is not reproduced (no C++ port); for already clean text it changes nothing.
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace brainsem::clip {

class ClipTokenizer {
 public:
  static constexpr int64_t kStartOfText = 49406;
  static constexpr int64_t kEndOfText = 49407;
  static constexpr int64_t kVocabSize = 49408;
  static constexpr int kContextLength = 77;

  // The embedded vocabulary, parsed once (thread-safe).
  static const ClipTokenizer& builtin();
  // From the merges text (the decompressed .txt: a header line, then "a b" merge lines).
  explicit ClipTokenizer(std::string_view merges_text);
  // From a .txt or .txt.gz file.
  static ClipTokenizer from_file(const std::filesystem::path& path);

  // BPE token ids of `text` (UTF-8), without start/end tokens. Throws on invalid UTF-8.
  std::vector<int64_t> encode(std::string_view text) const;
  // As openai/CLIP clip.tokenize for one text: [SOT] + encode(text) + [EOT], cut to
  // `context_length` keeping EOT as the last token. Not padded.
  std::vector<int64_t> tokenize(std::string_view text, int context_length = kContextLength) const;
  // [N, L] int64, L = the longest tokenized text (<= context_length), zero padded on the right
  // like clip.tokenize (the causal text tower never looks past the end token).
  torch::Tensor tokenize_batch(const std::vector<std::string>& texts, int context_length = kContextLength) const;
  // Ids back to text (the inverse byte mapping; "</w>" becomes a space). For tests and messages.
  std::string decode(const std::vector<int64_t>& ids) const;

  // The text as the tokenizer sees it before splitting: cleaned, whitespace collapsed, lower-cased.
  static std::string normalize(std::string_view text);
  // The pre-tokenizer's words (after normalize()).
  static std::vector<std::string> split_words(std::string_view normalized);

 private:
  std::vector<std::string> bpe(const std::string& word) const;
  std::unordered_map<std::string, int64_t> encoder_;
  std::vector<std::string> decoder_;
  std::unordered_map<std::string, int> ranks_;  // "a b" -> merge rank
  std::string byte_char_[256];                  // byte -> UTF-8 of its printable stand-in
  std::unordered_map<std::string, uint8_t> char_byte_;
};

}  // namespace brainsem::clip
