#include "brainsem/io/npy.h"

#include <cstring>
#include <fstream>
#include <regex>

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
}  // namespace

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
  std::string header(bytes.substr(header_start, header_len));
  std::smatch m;
  BRAINSEM_CHECK(std::regex_search(header, m, std::regex("'descr':\\s*'([^']+)'")), where, ": .npy header has no descr");
  std::string descr = m[1];
  BRAINSEM_CHECK(std::regex_search(header, m, std::regex("'fortran_order':\\s*(True|False)")), where,
                 ": .npy header has no fortran_order");
  BRAINSEM_CHECK(m[1] == "False", where, ": Fortran-order .npy is not supported; save with np.ascontiguousarray");
  BRAINSEM_CHECK(std::regex_search(header, m, std::regex("'shape':\\s*\\(([^)]*)\\)")), where, ": .npy header has no shape");
  std::vector<int64_t> shape;
  std::string dims = m[1];
  std::regex num("\\d+");
  for (auto it = std::sregex_iterator(dims.begin(), dims.end(), num); it != std::sregex_iterator(); ++it)
    shape.push_back(std::stoll(it->str()));
  torch::ScalarType type = torch::kFloat32;
  bool found = false;
  for (const auto& t : kNpyTypes)
    if (descr == t.descr || (descr.size() == 3 && descr[0] == '=' && descr.substr(1) == std::string(t.descr).substr(1))) {
      type = t.type;
      found = true;
    }
  BRAINSEM_CHECK(found, where, ": .npy dtype '", descr, "' is not supported (use little-endian float32/float64/int)");
  auto out = torch::empty(shape, torch::TensorOptions().dtype(type));
  size_t nbytes = static_cast<size_t>(out.numel()) * out.element_size();
  size_t data_start = header_start + header_len;
  BRAINSEM_CHECK(bytes.size() - data_start == nbytes, where, ": .npy data is ", bytes.size() - data_start,
                 " bytes but the header's shape needs ", nbytes, "; the file is truncated or corrupt");
  std::memcpy(out.data_ptr(), bytes.data() + data_start, nbytes);
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
