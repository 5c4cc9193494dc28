#pragma once
// NumPy .npy reader/writer (format 1.0-3.0, little-endian, C order). Debian ships no C++ npy
// library apart from xtensor; this is ~100 lines, so it is written here.
#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace brainsem::io {

struct NpyHeader {
  std::string descr;  // numpy dtype string, e.g. "<f4"
  bool fortran_order = false;
  std::vector<int64_t> shape;  // () is a scalar
};
// Parses the header dict (the text after the length field); refuses anything numpy would not
// write: unknown or repeated keys, signs or letters in the shape, trailing text.
NpyHeader parse_npy_header(std::string_view header, const std::string& where);

// Parses .npy bytes (f2 f4 f8 i1 i2 i4 i8 u1 b1). `where` names the source in errors.
torch::Tensor parse_npy(std::string_view bytes, const std::string& where);
torch::Tensor read_npy(const std::filesystem::path& path);
// Writes a CPU tensor (float32/float64/int64/int32/uint8/bool) atomically.
void write_npy(const std::filesystem::path& path, const torch::Tensor& tensor);

}  // namespace brainsem::io
