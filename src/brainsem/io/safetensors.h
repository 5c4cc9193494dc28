#pragma once
// A small safetensors reader/writer (format: huggingface/safetensors README "Format"; no Debian
// package provides one for C++). Layout: u64 little-endian header length N, N bytes of JSON
// {name: {dtype, shape, data_offsets:[begin,end]}, "__metadata__": {str: str}}, then the data.
// The reader memory-maps the file and validates everything before handing out a tensor:
// header length bounded and inside the file, dtypes known, shape x dtype size == byte span,
// offsets inside the data, no overlaps and no holes. Tensors are zero-copy views of the map.
#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace brainsem::io {

struct TensorInfo {
  std::string name;
  std::string dtype;            // "F32", "F64", "I64", ...
  std::vector<int64_t> shape;   // empty for a scalar
  uint64_t begin = 0, end = 0;  // byte offsets relative to the start of the data section
};

// The largest header we accept. Real files have a few MB at most (one entry per tensor).
constexpr uint64_t kMaxSafetensorsHeader = 100ull << 20;

// Parses and validates a header (the JSON bytes) against a data section of `data_size` bytes.
// `where` names the file in error messages. Throws brainsem::Error on any violation.
std::pair<std::vector<TensorInfo>, std::map<std::string, std::string>> parse_safetensors_header(
    std::string_view json_text, uint64_t data_size, const std::string& where);

class SafetensorsFile {
 public:
  // Opens and validates `path` (mmap; nothing is copied).
  explicit SafetensorsFile(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return path_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // The metadata value for `key`, or throws naming the file and the key.
  const std::string& metadata_at(const std::string& key) const;
  // Moves the value for `key` out (throws like metadata_at); the key stays, with an empty value.
  // For values a reader turns into its own structures: a million-row store's names are 30 MB.
  std::string take_metadata(const std::string& key);
  bool contains(const std::string& name) const { return index_.count(name) != 0; }
  std::vector<std::string> names() const;  // in file (offset) order
  const TensorInfo& info(const std::string& name) const;

  // A read-only view of the stored tensor in its stored dtype (keeps the mapping alive).
  torch::Tensor tensor(const std::string& name) const;
  // Rows [begin, end) of the first dimension, as a view: reading part of a large store touches
  // only those pages.
  torch::Tensor rows(const std::string& name, int64_t begin, int64_t end) const;

 private:
  struct Mapping;
  std::filesystem::path path_;
  std::shared_ptr<Mapping> map_;
  const char* data_ = nullptr;  // start of the data section
  std::vector<TensorInfo> infos_;
  std::map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
};

// Writes tensors (any of the supported dtypes; made contiguous on CPU) and string metadata.
// The file appears atomically: on error nothing is left at `path`.
void write_safetensors(const std::filesystem::path& path,
                       const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

// dtype name <-> torch scalar type; throws for names we do not know or cannot represent.
torch::ScalarType safetensors_dtype(const std::string& name, const std::string& where);
std::string safetensors_dtype_name(torch::ScalarType type);

}  // namespace brainsem::io
