#include "brainsem/io/npy.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <limits>
#include <utility>

#include "brainsem/core/atomic_file.h"
#include "brainsem/core/error.h"

namespace brainsem::io {

namespace {
struct NpyType {
  const char* descr;
  torch::ScalarType type;
};
constexpr NpyType kNpyTypes[] = {{"<f2", torch::kFloat16}, {"<f4", torch::kFloat32}, {"<f8", torch::kFloat64},
                                 {"|i1", torch::kInt8},    {"<i2", torch::kInt16},   {"<i4", torch::kInt32},
                                 {"<i8", torch::kInt64},   {"|u1", torch::kUInt8},   {"|b1", torch::kBool}};
std::string shape_text(const std::vector<int64_t>& shape) {
  std::string t = "(";
  for (size_t i = 0; i < shape.size(); ++i) t += (i ? ", " : "") + std::to_string(shape[i]);
  return t + (shape.size() == 1 ? ",)" : ")");
}

// The header is a Python dict literal with exactly the keys 'descr' (a string), 'fortran_order'
// (True or False) and 'shape' (a tuple of non-negative integers), as numpy writes it. Parsed
// by this small recursive reader, not matched: anything else is refused, naming what was found.
class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::string& where) : t_(text), where_(where) {}

  NpyHeader parse() {
    NpyHeader h;
    bool seen_descr = false, seen_order = false, seen_shape = false;
    expect('{');
    while (skip_space(), peek() != '}') {
      const std::string key = string_literal();
      expect(':');
      if (key == "descr") {
        check(!seen_descr, "'descr' appears twice");
        h.descr = string_literal();
        seen_descr = true;
      } else if (key == "fortran_order") {
        check(!seen_order, "'fortran_order' appears twice");
        h.fortran_order = boolean();
        seen_order = true;
      } else if (key == "shape") {
        check(!seen_shape, "'shape' appears twice");
        h.shape = tuple();
        seen_shape = true;
      } else {
        fail_here("unknown key '" + key + "' (a .npy header has descr, fortran_order and shape)");
      }
      skip_space();
      if (peek() == ',')
        ++pos_;
      else
        check(peek() == '}', "expected ',' or '}'");
    }
    ++pos_;
    skip_space();
    check(pos_ == t_.size(), "text after the closing '}'");
    check(seen_descr && seen_order && seen_shape, "the header must have descr, fortran_order and shape");
    return h;
  }

 private:
  char peek() const { return pos_ < t_.size() ? t_[pos_] : '\0'; }
  void skip_space() {
    while (pos_ < t_.size() && (t_[pos_] == ' ' || t_[pos_] == '\n' || t_[pos_] == '\t' || t_[pos_] == '\r')) ++pos_;
  }
  [[noreturn]] void fail_here(const std::string& what) const {
    fail(where_, ": malformed .npy header at byte ", pos_, ": ", what, " (header: ", std::string(t_.substr(0, 120)),
         ")");
  }
  void check(bool ok, const char* what) const {
    if (!ok) fail_here(what);
  }
  void expect(char c) {
    skip_space();
    if (peek() != c) fail_here(std::string("expected '") + c + "'");
    ++pos_;
  }
  std::string string_literal() {
    skip_space();
    const char quote = peek();
    check(quote == '\'' || quote == '"', "expected a quoted string");
    const size_t end = t_.find(quote, ++pos_);
    check(end != std::string_view::npos, "unterminated string");
    std::string s(t_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return s;
  }
  bool boolean() {
    skip_space();
    for (const auto& [word, value] : {std::pair<std::string_view, bool>{"True", true}, {"False", false}})
      if (t_.substr(pos_, word.size()) == word) {
        pos_ += word.size();
        return value;
      }
    fail_here("fortran_order must be True or False");
  }
  std::vector<int64_t> tuple() {
    expect('(');
    std::vector<int64_t> dims;
    skip_space();
    while (peek() != ')') {
      check(peek() >= '0' && peek() <= '9', "a shape holds non-negative integers only");
      int64_t d = 0;
      while (peek() >= '0' && peek() <= '9') {
        check(d <= (std::numeric_limits<int64_t>::max() - 9) / 10, "a dimension is too large");
        d = d * 10 + (t_[pos_++] - '0');
      }
      dims.push_back(d);
      skip_space();
      if (peek() == ',') {
        ++pos_;
        skip_space();
      } else {
        check(peek() == ')', "expected ',' or ')' in the shape");
      }
    }
    ++pos_;
    check(dims.size() <= 32, "more than 32 dimensions");
    return dims;
  }

  std::string_view t_;
  const std::string& where_;
  size_t pos_ = 0;
};
}  // namespace

NpyHeader parse_npy_header(std::string_view header, const std::string& where) {
  return HeaderParser(header, where).parse();
}

torch::Tensor parse_npy(std::string_view bytes, const std::string& where) {
  BRAINSEM_CHECK(bytes.size() >= 10 && bytes.substr(0, 6) == "\x93NUMPY", where,
                 ": not a .npy file (missing the \\x93NUMPY magic)");
  uint8_t major = static_cast<uint8_t>(bytes[6]);
  size_t header_len = 0, header_start = 0;
  if (major == 1) {
    header_len = static_cast<uint8_t>(bytes[8]) | (static_cast<uint8_t>(bytes[9]) << 8);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    BRAINSEM_CHECK(bytes.size() >= 12, where, ": truncated .npy header");
    uint32_t n;
    std::memcpy(&n, bytes.data() + 8, 4);
    header_len = n;
    header_start = 12;
  } else {
    fail(where, ": unsupported .npy format version ", int(major));
  }
  BRAINSEM_CHECK(header_start + header_len <= bytes.size(), where, ": .npy header runs past the end of the file");
  const NpyHeader h = parse_npy_header(bytes.substr(header_start, header_len), where);
  const std::string& descr = h.descr;
  BRAINSEM_CHECK(!h.fortran_order, where, ": Fortran-order .npy is not supported; save with np.ascontiguousarray");
  const std::vector<int64_t>& shape = h.shape;
  torch::ScalarType type = torch::kFloat32;
  bool found = false;
  for (const auto& t : kNpyTypes)
    if (descr == t.descr ||
        (descr.size() == 3 && descr[0] == '=' && descr.substr(1) == std::string(t.descr).substr(1))) {
      type = t.type;
      found = true;
    }
  BRAINSEM_CHECK(found, where, ": .npy dtype '", descr, "' is not supported (use little-endian float32/float64/int)");
  // The size the shape implies, checked against the file before anything is allocated; a product
  // that overflows cannot match any file.
  const size_t data_start = header_start + header_len, available = bytes.size() - data_start;
  // Even an empty array's other dimensions must multiply to a size an array can have (LibTorch
  // refuses `(0, 2**40, 2**40)`).
  unsigned __int128 extent = c10::elementSize(type);
  for (int64_t d : shape) {
    if (d > 0) extent *= static_cast<uint64_t>(d);
    if (extent > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) break;
  }
  BRAINSEM_CHECK(extent <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()), where, ": the header's shape ",
                 shape_text(shape), " is larger than any array can be; the file is corrupt");
  const bool empty = std::find(shape.begin(), shape.end(), int64_t{0}) != shape.end();
  unsigned __int128 nbytes = empty ? 0 : c10::elementSize(type);
  for (int64_t d : shape) {
    nbytes *= static_cast<uint64_t>(d);
    if (nbytes > available) break;
  }
  BRAINSEM_CHECK(
      nbytes == available, where, ": .npy data is ", available, " bytes but the header's shape ", shape_text(shape),
      " needs ",
      nbytes > available ? std::string("more than that") : std::to_string(static_cast<uint64_t>(nbytes)) + " bytes",
      "; the file is truncated or corrupt");
  auto out = torch::empty(shape, torch::TensorOptions().dtype(type));
  // An empty array has no storage (data_ptr() is null), and memcpy's pointers must not be null.
  if (nbytes > 0) std::memcpy(out.data_ptr(), bytes.data() + data_start, static_cast<size_t>(nbytes));
  return out;
}

torch::Tensor read_npy(const std::filesystem::path& path) {
  std::string bytes = core::read_text_file(path);
  return parse_npy(bytes, path.string());
}

void write_npy(const std::filesystem::path& path, const torch::Tensor& tensor) {
  torch::Tensor c = tensor.detach().to(torch::kCPU).contiguous();
  const char* descr = nullptr;
  for (const auto& t : kNpyTypes)
    if (t.type == c.scalar_type()) descr = t.descr;
  BRAINSEM_CHECK(descr != nullptr, "cannot write dtype ", c10::toString(c.scalar_type()), " to .npy");
  std::string shape;
  for (auto d : c.sizes()) shape += std::to_string(d) + ", ";
  if (c.dim() > 1) shape.resize(shape.size() - 1);  // "(3, 4)" but "(3,)"
  if (c.dim() > 1) shape.pop_back();
  std::string header = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': (" + shape + "), }";
  while ((10 + header.size() + 1) % 64 != 0) header.push_back(' ');
  header.push_back('\n');
  core::write_atomically(path, [&](const std::filesystem::path& tmp) {
    std::ofstream out(tmp, std::ios::binary);
    out.write("\x93NUMPY\x01\x00", 8);
    uint16_t n = static_cast<uint16_t>(header.size());
    out.write(reinterpret_cast<const char*>(&n), 2);
    out << header;
    out.write(static_cast<const char*>(c.data_ptr()), static_cast<std::streamsize>(c.numel() * c.element_size()));
    BRAINSEM_CHECK(out, "writing ", path, " failed");
  });
}

}  // namespace brainsem::io
