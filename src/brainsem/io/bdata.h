#pragma once
// GOD BData HDF5 files (KamitaniLab/bdpy layout; docs/god_format.md §1):
//   /dataset|/dataSet            float64 [n_samples, n_columns]
//   /metadata|/metaData/key      string [n_keys] (fixed-length NULLPAD or variable-length)
//   /metadata/description        string [n_keys]
//   /metadata/value              float64 [n_keys, n_columns] (NaN = not applicable)
// Columns of key K are those where value[row(K), :] == 1, in file order (never by position).
#include <torch/torch.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace brainsem::io {

struct BData {
  torch::Tensor dataset;                  // [N, C] float64
  std::vector<std::string> keys;          // [K]
  std::vector<std::string> descriptions;  // [K]
  torch::Tensor values;                   // [K, C] float64
  std::string source;                     // file path, for error messages

  bool has_key(const std::string& key) const;
  // Row of `key` in keys/values; throws naming the file, the key and the keys present.
  int64_t key_row(const std::string& key) const;
  int64_t num_samples() const;  // N (0 when empty)
  int64_t num_columns() const;  // C (0 when empty)
  // Column indices where value[row(key)] == 1, in file order. Throws naming the file and key.
  std::vector<int64_t> columns(const std::string& key) const;
  // dataset[:, columns(key)] as float64 [N, n].
  torch::Tensor select(const std::string& key) const;
  // Appends columns `data` [N, n] under a new key (value 1 there, NaN elsewhere), like bdpy's add().
  void add(const torch::Tensor& data, const std::string& key);
  // Sets metadata `key` to `value_per_column` [C] (NaN = not applicable), like add_metadata().
  void add_metadata(const std::string& key, const torch::Tensor& value_per_column, const std::string& description);
};

// Reads a BData file. Throws brainsem::Error naming the file for anything malformed. Declared
// shapes are checked against the stored bytes and each other before any array is read, and the
// read is tried first in a child process, so a file that crashes or hangs libhdf5 is reported as
// corrupt instead of killing the program.
BData read_bdata(const std::filesystem::path& path);
// The same, with the time the child may take before the file is called corrupt (libhdf5 loops
// forever on some corrupt global heaps). The default, bdata_read_timeout(), is a minute plus a
// second per 10 MB: a GOD subject (125 MB) reads in 0.25 s here.
BData read_bdata(const std::filesystem::path& path, std::chrono::milliseconds read_timeout);
std::chrono::milliseconds bdata_read_timeout(const std::filesystem::path& path);
// Writes a BData file in bdpy's layout (fixed-length NULLPAD strings), atomically:
//   /dataset f64 [N, C], /metadata/{key, description} fixed-length NULLPAD ASCII [K],
//   /metadata/value f64 [K, C], /header/ctime (scalar vlen str), /header/ctime_epoch, empty /vmap.
// One contiguous write per array, no chunking: 3450 x 4500 doubles (125 MB) write in ~1 s here
// (disk-bound) and read back in 0.25 s.
void write_bdata(const std::filesystem::path& path, const BData& data);

// Variants other BData writers produce (used by tests to check the reader reads them all alike).
struct BDataWriteOptions {
  bool legacy_names = false;             // /dataSet and /metaData (old MATLAB-era files)
  bool variable_length_strings = false;  // keys/descriptions as variable-length UTF-8 strings
};
void write_bdata(const std::filesystem::path& path, const BData& data, const BDataWriteOptions& opts);

// True if `path` is a regular file with an HDF5 signature (never throws, prints nothing).
bool is_hdf5_file(const std::filesystem::path& path);

}  // namespace brainsem::io
