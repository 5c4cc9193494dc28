#include "brainsem/clip/tokenizer.h"

#include <unicode/locid.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <zlib.h>

#include <algorithm>
#include <climits>
#include <fstream>
#include <sstream>

#include "brainsem/core/error.h"
#include "brainsem/core/resources.h"

namespace brainsem::clip {

namespace {

// Number of merges openai/CLIP uses from the file: 49152 - 256 - 2 (its vocabulary is 49408 =
// 256 bytes + 256 bytes with "</w>" + 48894 merges + 2 special tokens).
constexpr int kMerges = 49152 - 256 - 2;

// gzip (RFC 1952) -> bytes with zlib's inflate (windowBits 16+MAX_WBITS selects the gzip wrapper).
std::string gunzip(std::string_view gz, const std::string& where) {
  z_stream zs{};
  BRAINSEM_CHECK(inflateInit2(&zs, 16 + MAX_WBITS) == Z_OK, where, ": zlib inflateInit2 failed");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  zs.avail_in = static_cast<uInt>(gz.size());
  std::string out;
  char buf[1 << 16];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof(buf);
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&zs);
      fail(where, ": not a valid gzip stream (zlib error ", rc, "); the vocabulary file is damaged");
    }
    out.append(buf, sizeof(buf) - zs.avail_out);
    if (rc == Z_OK && zs.avail_in == 0 && zs.avail_out != 0) {
      inflateEnd(&zs);
      fail(where, ": truncated gzip stream; the vocabulary file is damaged");
    }
  }
  inflateEnd(&zs);
  return out;
}

void append_utf8(std::string& out, UChar32 c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

// Strict UTF-8 decoding (no overlongs, surrogates or values above U+10FFFF), as Python's
// bytes.decode("utf-8") would insist.
std::vector<UChar32> decode_utf8(std::string_view s) {
  std::vector<UChar32> cps;
  cps.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    int len = b0 < 0x80 ? 1 : (b0 >> 5) == 6 ? 2 : (b0 >> 4) == 14 ? 3 : (b0 >> 3) == 30 ? 4 : 0;
    BRAINSEM_CHECK(len > 0 && i + len <= s.size(), "text is not valid UTF-8 (byte ", i, "); save it as UTF-8");
    UChar32 c = len == 1 ? b0 : len == 2 ? (b0 & 0x1F) : len == 3 ? (b0 & 0x0F) : (b0 & 0x07);
    for (int k = 1; k < len; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      BRAINSEM_CHECK((b & 0xC0) == 0x80, "text is not valid UTF-8 (byte ", i + k, "); save it as UTF-8");
      c = (c << 6) | (b & 0x3F);
    }
    const UChar32 min = len == 1 ? 0 : len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
    BRAINSEM_CHECK(c >= min && c <= 0x10FFFF && !(c >= 0xD800 && c <= 0xDFFF), "text is not valid UTF-8 (byte ", i,
                   "); save it as UTF-8");
    cps.push_back(c);
    i += len;
  }
  return cps;
}

std::string encode_utf8(const std::vector<UChar32>& cps, size_t begin, size_t end) {
  std::string out;
  for (size_t i = begin; i < end; ++i) append_utf8(out, cps[i]);
  return out;
}

// Python's str.isspace (what re's \s matches): Unicode White_Space plus the separators 0x1C-0x1F.
bool is_space(UChar32 c) { return u_isUWhiteSpace(c) || (c >= 0x1C && c <= 0x1F); }
bool is_letter(UChar32 c) { return (U_GET_GC_MASK(c) & U_GC_L_MASK) != 0; }  // \p{L}
bool is_number(UChar32 c) { return (U_GET_GC_MASK(c) & U_GC_N_MASK) != 0; }  // \p{N}

// Python's html.unescape for numeric references and the common named ones (&amp; &lt; &gt;
// &quot; &apos; &nbsp;); the other ~2200 HTML5 names are left as they are.
std::string html_unescape(const std::string& s) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] != '&') {
      out += s[i++];
      continue;
    }
    const size_t semi = s.find(';', i);
    if (semi != std::string::npos && semi - i <= 12) {
      const std::string name = s.substr(i + 1, semi - i - 1);
      static const std::pair<const char*, UChar32> named[] = {{"amp", '&'},  {"lt", '<'},    {"gt", '>'},
                                                              {"quot", '"'}, {"apos", '\''}, {"nbsp", 0xA0}};
      bool done = false;
      for (const auto& [n, c] : named)
        if (name == n) {
          append_utf8(out, c);
          done = true;
        }
      if (!done && name.size() >= 2 && name[0] == '#') {
        const bool hex = name[1] == 'x' || name[1] == 'X';
        const std::string digits = name.substr(hex ? 2 : 1);
        const bool ok = !digits.empty() && std::all_of(digits.begin(), digits.end(), [&](char ch) {
          return hex ? std::isxdigit(static_cast<unsigned char>(ch)) : std::isdigit(static_cast<unsigned char>(ch));
        });
        if (ok && digits.size() <= 8) {
          long v = std::stol(digits, nullptr, hex ? 16 : 10);
          // As html.unescape: invalid code points and surrogates become U+FFFD.
          if (v == 0 || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) v = 0xFFFD;
          append_utf8(out, static_cast<UChar32>(v));
          done = true;
        }
      }
      if (done) {
        i = semi + 1;
        continue;
      }
    }
    out += s[i++];
  }
  return out;
}

icu::UnicodeString to_icu(const std::vector<UChar32>& cps) {
  return icu::UnicodeString::fromUTF32(cps.data(), static_cast<int32_t>(cps.size()));
}

std::vector<UChar32> from_icu(const icu::UnicodeString& us) {
  std::vector<UChar32> cps;
  for (int32_t i = 0; i < us.length(); i = us.moveIndex32(i, 1)) cps.push_back(us.char32At(i));
  return cps;
}

bool matches_at(const std::vector<UChar32>& cps, size_t i, std::string_view lit) {
  if (i + lit.size() > cps.size()) return false;
  for (size_t k = 0; k < lit.size(); ++k)
    if (cps[i + k] != static_cast<UChar32>(lit[k])) return false;
  return true;
}

// The contraction alternatives 's 't 're 've 'm 'll 'd (IGNORECASE: long s U+017F matches 's').
size_t contraction_length(const std::vector<UChar32>& cps, size_t i) {
  if (cps[i] != '\'' || i + 1 >= cps.size()) return 0;
  const UChar32 a = cps[i + 1];
  if (a == 's' || a == 0x017F || a == 't' || a == 'm' || a == 'd') return 2;
  if (i + 2 < cps.size()) {
    const UChar32 b = cps[i + 2];
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
  }
  return 0;
}

}  // namespace

ClipTokenizer::ClipTokenizer(std::string_view merges_text) {
  // bytes_to_unicode: printable Latin-1 bytes stand for themselves, the others map to U+0100...
  std::vector<int> order;
  bool printable[256] = {};
  for (int b = '!'; b <= '~'; ++b) printable[b] = true;
  for (int b = 0xA1; b <= 0xAC; ++b) printable[b] = true;
  for (int b = 0xAE; b <= 0xFF; ++b) printable[b] = true;
  for (int b = 0; b < 256; ++b)
    if (printable[b]) order.push_back(b);
  int extra = 0;
  UChar32 stand_in[256];
  for (int b = 0; b < 256; ++b) stand_in[b] = printable[b] ? b : 256 + extra++;
  for (int b = 0; b < 256; ++b)
    if (!printable[b]) order.push_back(b);
  for (int b = 0; b < 256; ++b) {
    append_utf8(byte_char_[b], stand_in[b]);
    char_byte_[byte_char_[b]] = static_cast<uint8_t>(b);
  }
  for (int b : order) decoder_.push_back(byte_char_[b]);
  for (int b : order) decoder_.push_back(byte_char_[b] + "</w>");

  // Merge lines: skip the header line, then take kMerges lines "a b".
  size_t pos = merges_text.find('\n');
  BRAINSEM_CHECK(pos != std::string_view::npos, "CLIP BPE vocabulary: no merge lines (expected a header line, then ",
                 kMerges, " lines 'a b')");
  ++pos;
  for (int r = 0; r < kMerges; ++r) {
    BRAINSEM_CHECK(pos < merges_text.size(), "CLIP BPE vocabulary: only ", r, " merge lines, expected ", kMerges,
                   "; use bpe_simple_vocab_16e6.txt(.gz) from openai/CLIP");
    size_t eol = merges_text.find('\n', pos);
    if (eol == std::string_view::npos) eol = merges_text.size();
    const std::string_view line = merges_text.substr(pos, eol - pos);
    const size_t sp = line.find(' ');
    BRAINSEM_CHECK(sp != std::string_view::npos && sp > 0 && sp + 1 < line.size() &&
                       line.find(' ', sp + 1) == std::string_view::npos,
                   "CLIP BPE vocabulary: merge line ", r + 2, " is not 'a b': '", line, "'");
    const std::string a(line.substr(0, sp)), b(line.substr(sp + 1));
    ranks_.emplace(a + " " + b, r);
    decoder_.push_back(a + b);
    pos = eol + 1;
  }
  decoder_.push_back("<|startoftext|>");
  decoder_.push_back("<|endoftext|>");
  BRAINSEM_CHECK(static_cast<int64_t>(decoder_.size()) == kVocabSize, "CLIP BPE vocabulary: ", decoder_.size(),
                 " tokens, expected ", kVocabSize);
  for (size_t i = 0; i < decoder_.size(); ++i) encoder_.emplace(decoder_[i], static_cast<int64_t>(i));
}

const ClipTokenizer& ClipTokenizer::builtin() {
  static const ClipTokenizer tok(gunzip(core::resource("clip_bpe_vocab"), "embedded bpe_simple_vocab_16e6.txt.gz"));
  return tok;
}

ClipTokenizer ClipTokenizer::from_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  BRAINSEM_CHECK(in, path.string(), ": cannot read the BPE vocabulary");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string bytes = ss.str();
  if (bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1F && static_cast<unsigned char>(bytes[1]) == 0x8B)
    bytes = gunzip(bytes, path.string());
  return ClipTokenizer(bytes);
}

std::string ClipTokenizer::normalize(std::string_view text) {
  // basic_clean: (ftfy: only its final NFC step) then html.unescape twice.
  UErrorCode err = U_ZERO_ERROR;
  const icu::Normalizer2* nfc = icu::Normalizer2::getNFCInstance(err);
  BRAINSEM_CHECK(U_SUCCESS(err), "ICU: cannot load the NFC normaliser (", u_errorName(err), ")");
  auto cps = decode_utf8(text);
  icu::UnicodeString us = nfc->normalize(to_icu(cps), err);
  BRAINSEM_CHECK(U_SUCCESS(err), "ICU: NFC normalisation failed (", u_errorName(err), ")");
  std::string s;
  us.toUTF8String(s);
  s = html_unescape(html_unescape(s));
  // whitespace_clean: runs of whitespace -> one space, then strip.
  cps = decode_utf8(s);
  std::vector<UChar32> clean;
  for (UChar32 c : cps) {
    if (is_space(c)) {
      if (!clean.empty() && clean.back() != ' ') clean.push_back(' ');
    } else {
      clean.push_back(c);
    }
  }
  if (!clean.empty() && clean.back() == ' ') clean.pop_back();
  // .lower(): full Unicode lower-casing (language-independent, as Python's str.lower).
  icu::UnicodeString lower = to_icu(clean);
  lower.toLower(icu::Locale::getRoot());
  const auto lowered = from_icu(lower);
  return encode_utf8(lowered, 0, lowered.size());
}

std::vector<std::string> ClipTokenizer::split_words(std::string_view normalized) {
  const auto cps = decode_utf8(normalized);
  std::vector<std::string> words;
  size_t i = 0;
  while (i < cps.size()) {
    const UChar32 c = cps[i];
    size_t j = i;
    if (matches_at(cps, i, "<|startoftext|>")) {
      j = i + 15;
    } else if (matches_at(cps, i, "<|endoftext|>")) {
      j = i + 13;
    } else if (size_t n = contraction_length(cps, i)) {
      j = i + n;
    } else if (is_letter(c)) {
      while (j < cps.size() && is_letter(cps[j])) ++j;
    } else if (is_number(c)) {
      j = i + 1;
    } else if (is_space(c)) {
      ++i;  // whitespace belongs to no word
      continue;
    } else {
      while (j < cps.size() && !is_space(cps[j]) && !is_letter(cps[j]) && !is_number(cps[j])) ++j;
    }
    words.push_back(encode_utf8(cps, i, j));
    i = j;
  }
  return words;
}

std::vector<std::string> ClipTokenizer::bpe(const std::string& word) const {
  // Symbols: one per byte, as their printable stand-ins; the last one carries "</w>".
  std::vector<std::string> sym;
  for (unsigned char b : word) sym.push_back(byte_char_[b]);
  if (sym.empty()) return sym;
  sym.back() += "</w>";
  while (sym.size() > 1) {
    int best = INT_MAX;
    size_t best_i = 0;
    for (size_t i = 0; i + 1 < sym.size(); ++i) {
      auto it = ranks_.find(sym[i] + " " + sym[i + 1]);
      if (it != ranks_.end() && it->second < best) {
        best = it->second;
        best_i = i;
      }
    }
    if (best == INT_MAX) break;
    const std::string first = sym[best_i], second = sym[best_i + 1];
    // Merge every occurrence of the pair, left to right, without overlaps.
    std::vector<std::string> merged;
    for (size_t i = 0; i < sym.size();) {
      if (i + 1 < sym.size() && sym[i] == first && sym[i + 1] == second) {
        merged.push_back(first + second);
        i += 2;
      } else {
        merged.push_back(sym[i++]);
      }
    }
    sym.swap(merged);
  }
  return sym;
}

std::vector<int64_t> ClipTokenizer::encode(std::string_view text) const {
  std::vector<int64_t> ids;
  for (const auto& w : split_words(normalize(text))) {
    if (w == "<|startoftext|>" || w == "<|endoftext|>") {
      ids.push_back(encoder_.at(w));
      continue;
    }
    for (const auto& piece : bpe(w)) {
      auto it = encoder_.find(piece);
      BRAINSEM_CHECK(it != encoder_.end(), "CLIP tokenizer: BPE piece '", piece, "' of '", w,
                     "' is not in the vocabulary (damaged vocabulary file?)");
      ids.push_back(it->second);
    }
  }
  return ids;
}

std::vector<int64_t> ClipTokenizer::tokenize(std::string_view text, int context_length) const {
  BRAINSEM_CHECK(context_length >= 2, "CLIP tokenizer: context length ", context_length,
                 " leaves no room for the start and end tokens");
  std::vector<int64_t> ids{kStartOfText};
  const auto body = encode(text);
  ids.insert(ids.end(), body.begin(), body.end());
  ids.push_back(kEndOfText);
  if (static_cast<int>(ids.size()) > context_length) {
    ids.resize(context_length);
    ids.back() = kEndOfText;  // as clip.tokenize(truncate=True)
  }
  return ids;
}

torch::Tensor ClipTokenizer::tokenize_batch(const std::vector<std::string>& texts, int context_length) const {
  std::vector<std::vector<int64_t>> all;
  size_t longest = 0;
  for (const auto& t : texts) {
    all.push_back(tokenize(t, context_length));
    longest = std::max(longest, all.back().size());
  }
  auto out = torch::zeros({static_cast<int64_t>(texts.size()), static_cast<int64_t>(longest)}, torch::kInt64);
  auto* p = out.data_ptr<int64_t>();
  for (size_t i = 0; i < all.size(); ++i) std::copy(all[i].begin(), all[i].end(), p + i * longest);
  return out;
}

std::string ClipTokenizer::decode(const std::vector<int64_t>& ids) const {
  std::string chars;
  for (int64_t id : ids) {
    BRAINSEM_CHECK(id >= 0 && id < kVocabSize, "CLIP tokenizer: id ", id, " outside the vocabulary [0, ", kVocabSize,
                   ")");
    chars += decoder_[id];
  }
  // Back from stand-in characters to bytes; "</w>" marks a word end.
  std::string out;
  const auto cps = decode_utf8(chars);
  for (size_t i = 0; i < cps.size(); ++i) {
    if (matches_at(cps, i, "</w>")) {
      out += ' ';
      i += 3;
      continue;
    }
    std::string ch;
    append_utf8(ch, cps[i]);
    auto it = char_byte_.find(ch);
    if (it != char_byte_.end())
      out += static_cast<char>(it->second);
    else
      out += ch;  // special tokens' characters are plain ASCII stand-ins already
  }
  return out;
}

}  // namespace brainsem::clip
