#include "brainsem/io/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "brainsem/core/atomic_file.h"
#include "brainsem/core/error.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace brainsem::io {

namespace {

struct DtypeEntry {
  const char* name;
  torch::ScalarType type;
  int size;
};
constexpr DtypeEntry kDtypes[] = {
    {"F64", torch::kFloat64, 8},   {"F32", torch::kFloat32, 4}, {"F16", torch::kFloat16, 2},
    {"BF16", torch::kBFloat16, 2}, {"I64", torch::kInt64, 8},   {"I32", torch::kInt32, 4},
    {"I16", torch::kInt16, 2},     {"I8", torch::kInt8, 1},     {"U8", torch::kUInt8, 1},
    {"BOOL", torch::kBool, 1},
};

int dtype_size(const std::string& name, const std::string& where) {
  for (const auto& d : kDtypes)
    if (name == d.name) return d.size;
  if (name == "U16" || name == "U32" || name == "U64" || name.rfind("F8", 0) == 0)
    fail(where, ": dtype ", name, " is valid safetensors but not supported here; convert it to F32 or I64");
  fail(where, ": unknown dtype '", name, "' (expected one of F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL)");
}

}  // namespace

torch::ScalarType safetensors_dtype(const std::string& name, const std::string& where) {
  dtype_size(name, where);
  for (const auto& d : kDtypes)
    if (name == d.name) return d.type;
  fail(where, ": unknown dtype ", name);
}

std::string safetensors_dtype_name(torch::ScalarType type) {
  for (const auto& d : kDtypes)
    if (d.type == type) return d.name;
  fail("tensor dtype ", c10::toString(type), " cannot be stored in safetensors");
}

namespace {
void check_header_shape(std::string_view json_text, const std::string& where) {
  // A JSON parser's tree costs 5-10 times the text, and far more for nested arrays ("[[[[...",
  // 99 MiB of which took 4 GB). A safetensors header is {name: {dtype, shape: [...],
  // data_offsets: [b, e]}, "__metadata__": {key: string}}: three levels, short arrays, so one pass
  // over the bytes bounds what the parser may build before it starts.
  constexpr int kMaxDepth = 3;
  constexpr int64_t kMaxArray = 64, kMaxInnerKeys = 4096;
  struct Level {
    char kind;
    int64_t items;
  };
  std::vector<Level> stack;
  bool in_string = false, escaped = false;
  for (char c : json_text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      BRAINSEM_CHECK(static_cast<int>(stack.size()) < kMaxDepth, where,
                     ": safetensors header nests deeper than the format's three levels; the file is corrupt or "
                     "not safetensors");
      stack.push_back({c, 1});
    } else if (c == '}' || c == ']') {
      if (!stack.empty()) stack.pop_back();
    } else if (c == ',' && !stack.empty()) {
      Level& top = stack.back();
      ++top.items;
      BRAINSEM_CHECK(top.kind != '[' || top.items <= kMaxArray, where, ": a safetensors header array has more than ",
                     kMaxArray, " entries (shapes have a few dimensions); the file is corrupt or not safetensors");
      BRAINSEM_CHECK(top.kind != '{' || stack.size() == 1 || top.items <= kMaxInnerKeys, where,
                     ": a safetensors header entry has more than ", kMaxInnerKeys,
                     " keys; the file is corrupt or not safetensors");
    }
  }
}
}  // namespace

std::pair<std::vector<TensorInfo>, std::map<std::string, std::string>> parse_safetensors_header(
    std::string_view json_text, uint64_t data_size, const std::string& where) {
  check_header_shape(json_text, where);
  json header;
  try {
    header = json::parse(json_text);
  } catch (const json::exception& e) {
    fail(where, ": safetensors header is not valid JSON (", e.what(), "); the file is corrupt or not safetensors");
  }
  BRAINSEM_CHECK(header.is_object(), where, ": safetensors header must be a JSON object");
  std::vector<TensorInfo> infos;
  std::map<std::string, std::string> metadata;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& key = it.key();
    const json& v = it.value();
    if (key == "__metadata__") {
      BRAINSEM_CHECK(v.is_object(), where, ": __metadata__ must be an object of strings");
      for (auto m = it.value().begin(); m != it.value().end(); ++m) {
        BRAINSEM_CHECK(m.value().is_string(), where, ": __metadata__[\"", m.key(), "\"] is not a string");
        metadata[m.key()] = std::move(m.value().get_ref<std::string&>());  // a store's names: tens of MB
      }
      continue;
    }
    const std::string at = where + ": tensor '" + key + "'";
    BRAINSEM_CHECK(v.is_object() && v.contains("dtype") && v.contains("shape") && v.contains("data_offsets"), at,
                   " needs dtype, shape and data_offsets");
    BRAINSEM_CHECK(v["dtype"].is_string(), at, ": dtype is not a string");
    TensorInfo info;
    info.name = key;
    info.dtype = v["dtype"].get<std::string>();
    int esize = dtype_size(info.dtype, at);
    BRAINSEM_CHECK(v["shape"].is_array(), at, ": shape is not an array");
    uint64_t count = 1;
    for (const auto& d : v["shape"]) {
      BRAINSEM_CHECK(d.is_number_unsigned() || (d.is_number_integer() && d.get<int64_t>() >= 0), at,
                     ": shape entries must be non-negative integers");
      uint64_t n = d.get<uint64_t>();
      BRAINSEM_CHECK(n == 0 || count <= (1ull << 62) / n, at, ": shape overflows");
      count *= n;
      info.shape.push_back(static_cast<int64_t>(n));
    }
    const json& off = v["data_offsets"];
    BRAINSEM_CHECK(off.is_array() && off.size() == 2 && off[0].is_number_unsigned() && off[1].is_number_unsigned(), at,
                   ": data_offsets must be two non-negative integers");
    info.begin = off[0].get<uint64_t>();
    info.end = off[1].get<uint64_t>();
    BRAINSEM_CHECK(info.begin <= info.end, at, ": data_offsets begin ", info.begin, " > end ", info.end);
    BRAINSEM_CHECK(info.end <= data_size, at, ": data_offsets end ", info.end, " is past the end of the data (",
                   data_size, " bytes); the file is truncated or corrupt");
    BRAINSEM_CHECK(info.end - info.begin == count * esize, at, ": shape x dtype size = ", count * esize,
                   " bytes but data_offsets span ", info.end - info.begin, " bytes");
    infos.push_back(std::move(info));
  }
  std::sort(infos.begin(), infos.end(), [](const TensorInfo& a, const TensorInfo& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t cursor = 0;
  for (const auto& info : infos) {
    BRAINSEM_CHECK(info.begin >= cursor, where, ": tensor '", info.name, "' overlaps the tensor before it (offset ",
                   info.begin, " < ", cursor, ")");
    BRAINSEM_CHECK(info.begin == cursor, where, ": hole in the data before tensor '", info.name, "' (bytes ", cursor,
                   "..", info.begin, " are not indexed)");
    cursor = info.end;
  }
  BRAINSEM_CHECK(cursor == data_size, where, ": ", data_size - cursor,
                 " trailing bytes after the last tensor; the file is corrupt");
  return {std::move(infos), std::move(metadata)};
}

struct SafetensorsFile::Mapping {
  void* addr = nullptr;
  size_t size = 0;
  ~Mapping() {
    if (addr != nullptr && addr != MAP_FAILED) munmap(addr, size);
  }
};

SafetensorsFile::SafetensorsFile(const fs::path& path) : path_(path) {
  const std::string where = path.string();
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  BRAINSEM_CHECK(fd >= 0, "cannot open ", where, ": ", std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail(where, " is not a regular file");
  }
  uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size < 8) {
    ::close(fd);
    fail(where, ": ", size, " bytes is too short for safetensors (needs an 8-byte header length); truncated?");
  }
  map_ = std::make_shared<Mapping>();
  map_->size = size;
  map_->addr = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  BRAINSEM_CHECK(map_->addr != MAP_FAILED, "cannot map ", where, ": ", std::strerror(errno));
  const char* base = static_cast<const char*>(map_->addr);
  uint64_t n = 0;
  std::memcpy(&n, base, 8);  // little-endian on every platform we build for
  BRAINSEM_CHECK(n <= kMaxSafetensorsHeader, where, ": header length ", n, " exceeds the ", kMaxSafetensorsHeader,
                 "-byte limit; not a safetensors file?");
  BRAINSEM_CHECK(n <= size - 8, where, ": header length ", n, " runs past the end of the ", size,
                 "-byte file; the file is truncated");
  // Parsed where it lies in the mapping: a million-row store's header is tens of MB.
  auto parsed = parse_safetensors_header(std::string_view(base + 8, n), size - 8 - n, where);
  infos_ = std::move(parsed.first);
  metadata_ = std::move(parsed.second);
  for (size_t i = 0; i < infos_.size(); ++i) index_[infos_[i].name] = i;
  data_ = base + 8 + n;
}

const std::string& SafetensorsFile::metadata_at(const std::string& key) const {
  auto it = metadata_.find(key);
  BRAINSEM_CHECK(it != metadata_.end(), path_.string(), ": metadata key '", key,
                 "' is missing; the file was not written by this program or is from an older version");
  return it->second;
}

std::string SafetensorsFile::take_metadata(const std::string& key) {
  metadata_at(key);
  return std::move(metadata_.at(key));
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> out;
  for (const auto& i : infos_) out.push_back(i.name);
  return out;
}

const TensorInfo& SafetensorsFile::info(const std::string& name) const {
  auto it = index_.find(name);
  BRAINSEM_CHECK(it != index_.end(), path_.string(), ": no tensor named '", name, "'");
  return infos_[it->second];
}

torch::Tensor SafetensorsFile::tensor(const std::string& name) const {
  const TensorInfo& i = info(name);
  auto keep = map_;
  void* ptr = const_cast<char*>(data_ + i.begin);
  auto type = safetensors_dtype(i.dtype, path_.string());
  // Unaligned offsets are legal in safetensors; copy in that rare case.
  int esize = static_cast<int>(c10::elementSize(type));
  if (reinterpret_cast<uintptr_t>(ptr) % esize != 0) {
    auto out = torch::empty(i.shape, torch::TensorOptions().dtype(type));
    if (i.end > i.begin) std::memcpy(out.data_ptr(), ptr, i.end - i.begin);  // empty: no storage, null data_ptr
    return out;
  }
  return torch::from_blob(
      ptr, i.shape, [keep](void*) {}, torch::TensorOptions().dtype(type));
}

torch::Tensor SafetensorsFile::rows(const std::string& name, int64_t begin, int64_t end) const {
  const TensorInfo& i = info(name);
  BRAINSEM_CHECK(!i.shape.empty() && begin >= 0 && begin <= end && end <= i.shape[0], path_.string(), ": rows [", begin,
                 ", ", end, ") out of range for '", name, "'");
  return tensor(name).slice(0, begin, end);
}

void write_safetensors(const fs::path& path, const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<torch::Tensor> blobs;
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    BRAINSEM_CHECK(name != "__metadata__" && !name.empty(), "invalid tensor name '", name, "'");
    BRAINSEM_CHECK(!header.contains(name), "duplicate tensor name '", name, "'");
    torch::Tensor c = t.detach().to(torch::kCPU).contiguous();
    uint64_t bytes = static_cast<uint64_t>(c.numel()) * c.element_size();
    header[name] = {{"dtype", safetensors_dtype_name(c.scalar_type())},
                    {"shape", c.sizes().vec()},
                    {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    blobs.push_back(c);
  }
  std::string text = header.dump();
  while ((text.size() + 8) % 8 != 0) text.push_back(' ');  // keep the data 8-byte aligned
  core::write_atomically(path, [&](const fs::path& tmp) {
    std::ofstream out(tmp, std::ios::binary);
    BRAINSEM_CHECK(out, "cannot open ", tmp, " for writing");
    uint64_t n = text.size();
    out.write(reinterpret_cast<const char*>(&n), 8);
    out.write(text.data(), static_cast<std::streamsize>(n));
    for (const auto& b : blobs)
      out.write(static_cast<const char*>(b.data_ptr()), static_cast<std::streamsize>(b.numel() * b.element_size()));
    out.close();
    BRAINSEM_CHECK(out, "writing ", path, " failed (disk full?)");
  });
}

}  // namespace brainsem::io
