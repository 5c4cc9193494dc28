// BData HDF5 reader/writer over the HDF5 C API (Debian libhdf5-dev). The layout follows bdpy's
// BData.__save_h5/__load_h5 (docs/god_format.md §1-2); the code is our own.
#include "brainsem/io/bdata.h"

#include <hdf5.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>
#include <fstream>
#include <limits>
#include <map>

#include "brainsem/core/atomic_file.h"
#include "brainsem/core/error.h"

namespace fs = std::filesystem;

namespace brainsem::io {
namespace {

// HDF5 prints its whole error stack to stderr by default; we report our own messages instead.
void silence_hdf5() {
  static const bool done = [] {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    return true;
  }();
  (void)done;
}

// Owns an HDF5 identifier and closes it with the matching function.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  Handle(hid_t id, Closer close) : id_(id), close_(close) {}
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle(Handle&& o) noexcept : id_(o.id_), close_(o.close_) { o.id_ = -1; }
  Handle& operator=(Handle&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = o.id_;
      close_ = o.close_;
      o.id_ = -1;
    }
    return *this;
  }
  ~Handle() { reset(); }
  void reset() {
    if (id_ >= 0 && close_ != nullptr) close_(id_);
    id_ = -1;
  }
  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }

 private:
  hid_t id_ = -1;
  Closer close_ = nullptr;
};

bool link_exists(hid_t loc, const char* name) { return H5Lexists(loc, name, H5P_DEFAULT) > 0; }

// The first of `names` that exists under `loc`, or "" if none.
std::string first_existing(hid_t loc, std::initializer_list<const char*> names) {
  for (const char* n : names)
    if (link_exists(loc, n)) return n;
  return "";
}

std::vector<hsize_t> dims_of(hid_t dset) {
  Handle space(H5Dget_space(dset), H5Sclose);
  int rank = H5Sget_simple_extent_ndims(space.get());
  std::vector<hsize_t> dims(std::max(rank, 0));
  if (rank > 0) H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  return dims;
}

// The dimensions `name` declares, checked against what the file stores before anything is
// allocated for it: a corrupt or hostile file may declare terabytes in a few bytes (an
// unallocated chunked dataset, or changed dimensions), and reading it would allocate them first.
std::vector<hsize_t> checked_dims(hid_t loc, const std::string& name, const std::string& where) {
  Handle dset(H5Dopen2(loc, name.c_str(), H5P_DEFAULT), H5Dclose);
  BRAINSEM_CHECK(dset.valid(), where, ": cannot open dataset '", name, "'");
  Handle type(H5Dget_type(dset.get()), H5Tclose);
  auto dims = dims_of(dset.get());
  long double declared = static_cast<long double>(H5Tget_size(type.get()));
  for (hsize_t d : dims) declared *= static_cast<long double>(d);
  const long double stored = static_cast<long double>(H5Dget_storage_size(dset.get()));
  // Compression could shrink real fMRI data a few times, never a thousand; small arrays pass.
  constexpr long double kMaxRatio = 1000, kSmall = 1 << 20;
  BRAINSEM_CHECK(
      declared <= kSmall || declared <= kMaxRatio * stored, where, ": dataset '", name, "' declares shape [",
      [&] {
        std::string t;
        for (size_t i = 0; i < dims.size(); ++i) t += (i ? ", " : "") + std::to_string(dims[i]);
        return t;
      }(),
      "] (", static_cast<double>(declared), " bytes) but the file stores ", static_cast<double>(stored),
      " bytes of it; the file is corrupt or truncated");
  return dims;
}

// Reads a numeric dataset of any integer/float type as float64 [dims...] (HDF5 converts).
torch::Tensor read_numeric(hid_t loc, const std::string& name, const std::string& where) {
  Handle dset(H5Dopen2(loc, name.c_str(), H5P_DEFAULT), H5Dclose);
  BRAINSEM_CHECK(dset.valid(), where, ": cannot open dataset '", name, "'");
  Handle type(H5Dget_type(dset.get()), H5Tclose);
  H5T_class_t cls = H5Tget_class(type.get());
  BRAINSEM_CHECK(cls == H5T_FLOAT || cls == H5T_INTEGER, where, ": dataset '", name,
                 "' is not numeric (HDF5 type class ", static_cast<int>(cls), "); BData stores float64 arrays");
  auto dims = dims_of(dset.get());
  std::vector<int64_t> shape(dims.begin(), dims.end());
  auto out = torch::empty(shape, torch::kFloat64);
  if (out.numel() > 0) {
    herr_t rc = H5Dread(dset.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data_ptr<double>());
    BRAINSEM_CHECK(rc >= 0, where, ": cannot read dataset '", name, "' (corrupt or truncated file?)");
  }
  return out;
}

// Reads a 1-D array of strings, fixed-length (trimmed at the first NUL; trailing spaces of
// SPACEPAD strings dropped) or variable-length.
std::vector<std::string> read_strings(hid_t loc, const std::string& name, const std::string& where) {
  Handle dset(H5Dopen2(loc, name.c_str(), H5P_DEFAULT), H5Dclose);
  BRAINSEM_CHECK(dset.valid(), where, ": cannot open dataset '", name, "'");
  Handle ftype(H5Dget_type(dset.get()), H5Tclose);
  BRAINSEM_CHECK(H5Tget_class(ftype.get()) == H5T_STRING, where, ": '", name,
                 "' is not a string array; BData keys and descriptions are HDF5 strings");
  auto dims = checked_dims(loc, name, where);
  BRAINSEM_CHECK(dims.size() <= 1, where, ": '", name, "' has rank ", dims.size(), "; expected a 1-D string array");
  size_t n = dims.empty() ? 1 : dims[0];
  std::vector<std::string> out;
  out.reserve(n);
  if (n == 0) return out;
  if (H5Tis_variable_str(ftype.get()) > 0) {
    Handle mtype(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(mtype.get(), H5T_VARIABLE);
    H5Tset_cset(mtype.get(), H5Tget_cset(ftype.get()));
    std::vector<char*> ptrs(n, nullptr);
    herr_t rc = H5Dread(dset.get(), mtype.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data());
    if (rc >= 0)
      for (char* p : ptrs) out.emplace_back(p ? p : "");
    // Frees the strings the read allocated, also those of a read that failed part of the way.
    Handle space(H5Dget_space(dset.get()), H5Sclose);
#if H5_VERSION_GE(1, 12, 0)
    H5Treclaim(mtype.get(), space.get(), H5P_DEFAULT, ptrs.data());
#else
    H5Dvlen_reclaim(mtype.get(), space.get(), H5P_DEFAULT, ptrs.data());
#endif
    BRAINSEM_CHECK(rc >= 0, where, ": cannot read strings '", name, "'");
  } else {
    size_t len = H5Tget_size(ftype.get());
    BRAINSEM_CHECK(len > 0, where, ": '", name, "' has zero-size strings");
    Handle mtype(H5Tcopy(ftype.get()), H5Tclose);
    std::vector<char> buf(n * len);
    herr_t rc = H5Dread(dset.get(), mtype.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data());
    BRAINSEM_CHECK(rc >= 0, where, ": cannot read strings '", name, "'");
    bool spacepad = H5Tget_strpad(ftype.get()) == H5T_STR_SPACEPAD;
    for (size_t i = 0; i < n; ++i) {
      const char* s = buf.data() + i * len;
      size_t k = 0;
      while (k < len && s[k] != '\0') ++k;
      std::string str(s, k);
      if (spacepad)
        while (!str.empty() && str.back() == ' ') str.pop_back();
      out.push_back(std::move(str));
    }
  }
  return out;
}

void check_h5(herr_t rc, const std::string& where, const std::string& what) {
  BRAINSEM_CHECK(rc >= 0, where, ": HDF5 failed to ", what, " (disk full or path not writable?)");
}

hid_t check_id(hid_t id, const std::string& where, const std::string& what) {
  BRAINSEM_CHECK(id >= 0, where, ": HDF5 failed to ", what, " (disk full or path not writable?)");
  return id;
}

void write_f64(hid_t loc, const char* name, const torch::Tensor& t, const std::string& where) {
  auto c = t.to(torch::kFloat64).contiguous();
  std::vector<hsize_t> dims(c.sizes().begin(), c.sizes().end());
  Handle space(
      check_id(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), where, "create a dataspace"),
      H5Sclose);
  Handle dset(check_id(H5Dcreate2(loc, name, H5T_IEEE_F64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), where,
                       cat("create '", name, "'")),
              H5Dclose);
  if (c.numel() > 0)
    check_h5(H5Dwrite(dset.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, c.data_ptr<double>()), where,
             cat("write '", name, "'"));
}

void write_scalar_f64(hid_t loc, const char* name, double v, const std::string& where) {
  Handle space(check_id(H5Screate(H5S_SCALAR), where, "create a dataspace"), H5Sclose);
  Handle dset(check_id(H5Dcreate2(loc, name, H5T_IEEE_F64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), where,
                       cat("create '", name, "'")),
              H5Dclose);
  check_h5(H5Dwrite(dset.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, &v), where,
           cat("write '", name, "'"));
}

// A 1-D string array: fixed-length NULLPAD ASCII of the longest string (as numpy 'S' / bdpy), or
// variable-length UTF-8 (as other writers do).
void write_strings(hid_t loc, const char* name, const std::vector<std::string>& strs, bool variable,
                   const std::string& where) {
  hsize_t n = strs.size();
  Handle space(check_id(H5Screate_simple(1, &n, nullptr), where, "create a dataspace"), H5Sclose);
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  if (variable) {
    H5Tset_size(type.get(), H5T_VARIABLE);
    H5Tset_cset(type.get(), H5T_CSET_UTF8);
    std::vector<const char*> ptrs;
    for (const auto& s : strs) ptrs.push_back(s.c_str());
    Handle dset(check_id(H5Dcreate2(loc, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), where,
                         cat("create '", name, "'")),
                H5Dclose);
    if (n > 0)
      check_h5(H5Dwrite(dset.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()), where,
               cat("write '", name, "'"));
    return;
  }
  size_t len = 1;
  for (const auto& s : strs) len = std::max(len, s.size());
  H5Tset_size(type.get(), len);
  H5Tset_strpad(type.get(), H5T_STR_NULLPAD);
  H5Tset_cset(type.get(), H5T_CSET_ASCII);
  std::vector<char> buf(n * len, '\0');
  for (size_t i = 0; i < n; ++i) std::memcpy(buf.data() + i * len, strs[i].data(), strs[i].size());
  Handle dset(check_id(H5Dcreate2(loc, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), where,
                       cat("create '", name, "'")),
              H5Dclose);
  if (n > 0)
    check_h5(H5Dwrite(dset.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()), where,
             cat("write '", name, "'"));
}

// A scalar variable-length string (bdpy's /header/ctime).
void write_scalar_string(hid_t loc, const char* name, const std::string& s, const std::string& where) {
  Handle space(check_id(H5Screate(H5S_SCALAR), where, "create a dataspace"), H5Sclose);
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), H5T_VARIABLE);
  H5Tset_cset(type.get(), H5T_CSET_UTF8);
  Handle dset(check_id(H5Dcreate2(loc, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), where,
                       cat("create '", name, "'")),
              H5Dclose);
  const char* p = s.c_str();
  check_h5(H5Dwrite(dset.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, &p), where, cat("write '", name, "'"));
}

std::string key_list(const std::vector<std::string>& keys, size_t max = 40) {
  std::string s;
  for (size_t i = 0; i < keys.size() && i < max; ++i) s += (i ? ", " : "") + keys[i];
  if (keys.size() > max) s += cat(", ... (", keys.size(), " in all)");
  return s;
}

}  // namespace

bool is_hdf5_file(const fs::path& path) {
  silence_hdf5();
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return false;
  return H5Fis_hdf5(path.c_str()) > 0;
}

bool BData::has_key(const std::string& key) const { return std::find(keys.begin(), keys.end(), key) != keys.end(); }

int64_t BData::key_row(const std::string& key) const {
  auto it = std::find(keys.begin(), keys.end(), key);
  BRAINSEM_CHECK(it != keys.end(), source.empty() ? "BData" : source, ": metadata key '", key,
                 "' not found; keys present: ", key_list(keys));
  return it - keys.begin();
}

std::vector<int64_t> BData::columns(const std::string& key) const {
  int64_t r = key_row(key);
  auto row = values[r].contiguous();
  const double* v = row.data_ptr<double>();
  std::vector<int64_t> cols;
  for (int64_t c = 0; c < row.size(0); ++c)
    if (v[c] == 1.0) cols.push_back(c);  // NaN never compares equal
  return cols;
}

torch::Tensor BData::select(const std::string& key) const {
  auto cols = columns(key);
  return dataset.index_select(1, torch::tensor(cols, torch::kInt64));
}

int64_t BData::num_samples() const { return dataset.defined() ? dataset.size(0) : 0; }
int64_t BData::num_columns() const { return dataset.defined() ? dataset.size(1) : 0; }

void BData::add(const torch::Tensor& data, const std::string& key) {
  const std::string where = source.empty() ? "BData" : source;
  BRAINSEM_CHECK(data.dim() == 2, where, ": add('", key, "') needs a 2-D [samples, columns] tensor, got ", data.dim(),
                 "-D");
  auto x = data.to(torch::kFloat64).contiguous();
  // An empty BData takes its row count from the first add().
  if (!dataset.defined() || (dataset.size(0) == 0 && dataset.size(1) == 0))
    dataset = torch::empty({x.size(0), 0}, torch::kFloat64);
  if (!values.defined()) values = torch::empty({static_cast<int64_t>(keys.size()), dataset.size(1)}, torch::kFloat64);
  BRAINSEM_CHECK(x.size(0) == dataset.size(0), where, ": add('", key, "') has ", x.size(0),
                 " rows but the dataset has ", dataset.size(0));
  const int64_t old_c = dataset.size(1), n = x.size(1);
  dataset = torch::cat({dataset, x}, 1);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  values = torch::cat({values, torch::full({values.size(0), n}, nan, torch::kFloat64)}, 1);
  auto it = std::find(keys.begin(), keys.end(), key);
  if (it == keys.end()) {
    auto row = torch::full({1, old_c + n}, nan, torch::kFloat64);
    row.slice(1, old_c).fill_(1.0);
    values = torch::cat({values, row}, 0);
    keys.push_back(key);
    descriptions.push_back("1 = " + key);
  } else {
    values[it - keys.begin()].slice(0, old_c).fill_(1.0);  // an existing key grows to the new columns
  }
}

void BData::add_metadata(const std::string& key, const torch::Tensor& value_per_column,
                         const std::string& description) {
  const std::string where = source.empty() ? "BData" : source;
  auto v = value_per_column.to(torch::kFloat64).contiguous().reshape({-1});
  BRAINSEM_CHECK(v.size(0) == num_columns(), where, ": add_metadata('", key, "') has ", v.size(0),
                 " values but the dataset has ", num_columns(), " columns");
  if (!values.defined()) values = torch::empty({static_cast<int64_t>(keys.size()), num_columns()}, torch::kFloat64);
  auto it = std::find(keys.begin(), keys.end(), key);
  if (it == keys.end()) {
    values = torch::cat({values, v.unsqueeze(0)}, 0);
    keys.push_back(key);
    descriptions.push_back(description);
  } else {
    values[it - keys.begin()].copy_(v);
    descriptions[it - keys.begin()] = description;
  }
}

// The read itself, with no protection against libhdf5 crashing (read_bdata adds it).
BData read_bdata_in_process(const fs::path& path);

namespace {

// libhdf5 trusts the bytes of its own structures: two changed bytes in a file's global heap make
// H5Dread dereference a wild pointer (tests/io/fixtures/bdata_corrupt_global_heap.h5). The whole
// read is therefore tried first in a child process; if the library crashes or hangs there, the
// program reports the file instead of dying. A file that reads cleanly is then read here (twice
// the read time: about 0.25 s for a GOD subject).
// The child's exit status for a file the reader refused with a message (0: read cleanly).
constexpr int kChildRefusedFile = 117;

void read_in_child_first(const fs::path& path, const std::string& where, std::chrono::milliseconds timeout) {
  std::fflush(nullptr);  // nothing buffered is written twice
  const pid_t child = fork();
  if (child < 0) return;  // cannot fork: read in-process, unprotected, as before
  if (child == 0) {
    // A crash must end the child by its signal, whatever handlers the parent installed (a
    // sanitizer's or a fuzzer's would report and exit normally, and the parent would then read).
    for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) signal(sig, SIG_DFL);
    int code = 0;
    try {
      read_bdata_in_process(path);
    } catch (...) {
      code = kChildRefusedFile;  // the parent's own read reports the error
    }
    _exit(code);
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  for (;;) {
    const pid_t done = waitpid(child, &status, WNOHANG);
    if (done == child) break;
    if (done < 0) return;
    if (std::chrono::steady_clock::now() >= deadline) {
      kill(child, SIGKILL);
      waitpid(child, &status, 0);
      fail(where, ": corrupt HDF5 file: the HDF5 library did not finish reading it in ",
           std::chrono::duration<double>(timeout).count(), " s; re-download or re-export the file");
    }
    usleep(5000);
  }
  if (WIFSIGNALED(status))
    fail(where, ": corrupt HDF5 file: the HDF5 library crashed reading it (", strsignal(WTERMSIG(status)),
         "); re-download the file or re-save it with bdpy (h5py)");
  // Any other exit than these two is the library (or a sanitizer watching it) giving up.
  if (WIFEXITED(status) && WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != kChildRefusedFile)
    fail(where, ": corrupt HDF5 file: the HDF5 library crashed reading it (the reading process exited with status ",
         WEXITSTATUS(status), "); re-download the file or re-save it with bdpy (h5py)");
}

}  // namespace

std::chrono::milliseconds bdata_read_timeout(const fs::path& path) {
  std::error_code ec;
  const auto bytes = fs::file_size(path, ec);
  const int64_t per_10mb = ec ? 0 : static_cast<int64_t>(bytes / 10'000'000);
  return std::chrono::seconds(60 + per_10mb);
}

BData read_bdata(const fs::path& path) { return read_bdata(path, bdata_read_timeout(path)); }

BData read_bdata(const fs::path& path, std::chrono::milliseconds read_timeout) {
  const std::string where = path.string();
  std::error_code ec;
  BRAINSEM_CHECK(fs::exists(path, ec), where, ": file not found");
  read_in_child_first(path, where, read_timeout);
  return read_bdata_in_process(path);
}

BData read_bdata_in_process(const fs::path& path) {
  silence_hdf5();
  const std::string where = path.string();
  std::error_code ec;
  BRAINSEM_CHECK(fs::exists(path, ec), where, ": file not found");
  BRAINSEM_CHECK(fs::is_regular_file(path, ec), where, ": not a regular file");
  {
    std::ifstream probe(path, std::ios::binary);
    BRAINSEM_CHECK(probe.good(), where, ": cannot be opened for reading (permissions?)");
  }
  BRAINSEM_CHECK(H5Fis_hdf5(path.c_str()) > 0, where,
                 ": not an HDF5 file (no HDF5 signature); expected a BData .h5 file such as GOD's Subject1.h5");
  Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  BRAINSEM_CHECK(file.valid(), where, ": HDF5 could not open the file (truncated or corrupt?)");

  std::string dname = first_existing(file.get(), {"dataset", "dataSet"});
  BRAINSEM_CHECK(!dname.empty(), where, ": no /dataset (or legacy /dataSet) in this HDF5 file; not a BData file");
  std::string mname = first_existing(file.get(), {"metadata", "metaData"});
  BRAINSEM_CHECK(!mname.empty(), where, ": no /metadata (or legacy /metaData) group; not a BData file");
  Handle meta(H5Gopen2(file.get(), mname.c_str(), H5P_DEFAULT), H5Gclose);
  BRAINSEM_CHECK(meta.valid(), where, ": /", mname, " is not a group");

  BData b;
  b.source = where;
  // Every declared shape is checked (against the storage and against each other) before any
  // array is read, so a file that would be refused never costs its declared size in memory.
  const auto ddims = checked_dims(file.get(), dname, where);
  BRAINSEM_CHECK(ddims.size() == 2, where, ": /", dname, " has rank ", ddims.size(),
                 "; BData stores a 2-D [samples, columns] array");

  BRAINSEM_CHECK(link_exists(meta.get(), "key"), where, ": /", mname, "/key is missing");
  BRAINSEM_CHECK(link_exists(meta.get(), "value"), where, ": /", mname, "/value is missing");
  b.keys = read_strings(meta.get(), "key", where + ":/" + mname);
  if (link_exists(meta.get(), "description")) {
    b.descriptions = read_strings(meta.get(), "description", where + ":/" + mname);
    BRAINSEM_CHECK(b.descriptions.size() == b.keys.size(), where, ": /", mname, "/description has ",
                   b.descriptions.size(), " entries but /", mname, "/key has ", b.keys.size());
  } else {
    b.descriptions.assign(b.keys.size(), "");
  }
  const int64_t K = static_cast<int64_t>(b.keys.size()), C = static_cast<int64_t>(ddims[1]);
  const auto vdims = checked_dims(meta.get(), "value", where + ":/" + mname);
  if (K > 0) {
    const std::vector<int64_t> shape(vdims.begin(), vdims.end());
    BRAINSEM_CHECK(shape.size() == 2 && shape[0] == K && shape[1] == C, where, ": /", mname, "/value has shape ",
                   c10::IntArrayRef(shape), " but expected [keys, columns] = [", K, ", ", C,
                   "] (row-major BData; a MATLAB-transposed file must be re-saved with bdpy)");
  }
  b.dataset = read_numeric(file.get(), dname, where);
  b.values = K == 0 ? torch::empty({0, C}, torch::kFloat64) : read_numeric(meta.get(), "value", where + ":/" + mname);
  std::map<std::string, int> seen;
  for (const auto& k : b.keys)
    BRAINSEM_CHECK(++seen[k] == 1, where, ": metadata key '", k, "' appears twice in /", mname, "/key");
  return b;
}

void write_bdata(const fs::path& path, const BData& data) { write_bdata(path, data, BDataWriteOptions{}); }

void write_bdata(const fs::path& path, const BData& data, const BDataWriteOptions& opts) {
  silence_hdf5();
  const std::string where = path.string();
  BRAINSEM_CHECK(data.dataset.defined() && data.dataset.dim() == 2, where, ": write_bdata needs a 2-D dataset");
  const int64_t K = static_cast<int64_t>(data.keys.size()), C = data.dataset.size(1);
  BRAINSEM_CHECK(data.descriptions.size() == data.keys.size(), where, ": ", data.keys.size(), " keys but ",
                 data.descriptions.size(), " descriptions");
  torch::Tensor values = data.values.defined() ? data.values : torch::empty({0, C}, torch::kFloat64);
  if (K == 0 && values.numel() == 0) values = torch::empty({0, C}, torch::kFloat64);
  BRAINSEM_CHECK(values.dim() == 2 && values.size(0) == K && values.size(1) == C, where,
                 ": metadata values have shape ", values.sizes(), " but expected [", K, ", ", C, "]");
  core::write_atomically(path, [&](const fs::path& tmp) {
    Handle file(check_id(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), where, "create the file"),
                H5Fclose);
    const char* dname = opts.legacy_names ? "dataSet" : "dataset";
    const char* mname = opts.legacy_names ? "metaData" : "metadata";
    write_f64(file.get(), dname, data.dataset, where);
    Handle meta(check_id(H5Gcreate2(file.get(), mname, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), where, "create a group"),
                H5Gclose);
    write_strings(meta.get(), "key", data.keys, opts.variable_length_strings, where);
    write_strings(meta.get(), "description", data.descriptions, opts.variable_length_strings, where);
    write_f64(meta.get(), "value", values, where);
    meta.reset();
    Handle header(
        check_id(H5Gcreate2(file.get(), "header", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), where, "create a group"),
        H5Gclose);
    std::time_t now = std::time(nullptr);
    char buf[64];
    std::tm tm{};
    localtime_r(&now, &tm);
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
    write_scalar_string(header.get(), "ctime", buf, where);
    write_scalar_f64(header.get(), "ctime_epoch", static_cast<double>(now), where);
    header.reset();
    Handle vmap(
        check_id(H5Gcreate2(file.get(), "vmap", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), where, "create a group"),
        H5Gclose);
    vmap.reset();
    check_h5(H5Fflush(file.get(), H5F_SCOPE_LOCAL), where, "flush the file");
    file.reset();
  });
}

}  // namespace brainsem::io
