#include "brainsem/io/bdata.h"

#include <gtest/gtest.h>
#include <hdf5.h>

#include <algorithm>
#include <fstream>
#include <limits>
#include <numeric>
#include <random>
#include <set>

#include "brainsem/core/error.h"
#include "testing/paths.h"

namespace fs = std::filesystem;
using brainsem::io::BData;
using brainsem::io::BDataWriteOptions;
using brainsem::io::read_bdata;
using brainsem::io::write_bdata;

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();

fs::path fixture() { return brainsem::testing::shared_dir() / "god/synthetic_god_like_Subject.h5"; }

std::string error_of(const fs::path& p) {
  try {
    read_bdata(p);
  } catch (const brainsem::Error& e) {
    return e.what();
  }
  return "";
}

bool same(const torch::Tensor& a, const torch::Tensor& b) {
  return a.sizes() == b.sizes() && torch::allclose(a, b, 0.0, 0.0, /*equal_nan=*/true);
}

// A small BData by hand: 4 samples, 2 voxel columns + 1 label column.
BData tiny() {
  BData b;
  b.add(torch::tensor({{1.0, 2.0}, {3.0, 4.0}, {5.0, 6.0}, {7.0, 8.0}}, torch::kFloat64), "VoxelData");
  b.add(torch::tensor({{10.0}, {20.0}, {30.0}, {40.0}}, torch::kFloat64), "Label");
  b.add_metadata("ROI_V1", torch::tensor({1.0, 0.0, kNaN}, torch::kFloat64), "1 = ROI V1");
  return b;
}

}  // namespace

TEST(BData, ReadsTheSharedGodLikeFixture) {
  BRAINSEM_REQUIRE_SHARED("god/synthetic_god_like_Subject.h5");
  BData b = read_bdata(fixture());
  EXPECT_EQ(b.dataset.sizes(), (std::vector<int64_t>{3450, 61}));
  EXPECT_EQ(b.keys.size(), 21u);
  EXPECT_EQ(b.values.sizes(), (std::vector<int64_t>{21, 61}));
  EXPECT_EQ(b.keys.front(), "VoxelData");
  EXPECT_EQ(b.descriptions.front(), "1 = VoxelData");  // fixed-length NULLPAD, trimmed at the first NUL
  EXPECT_EQ(b.keys.back(), "voxel_z");
  const std::vector<std::pair<std::string, int64_t>> sizes = {{"ROI_V1", 12}, {"ROI_V2", 10},  {"ROI_V3", 9},
                                                              {"ROI_V4", 7},  {"ROI_LOC", 6},  {"ROI_FFA", 5},
                                                              {"ROI_PPA", 4}, {"ROI_HVC", 17}, {"ROI_VC", 55}};
  for (const auto& [k, n] : sizes) EXPECT_EQ(static_cast<int64_t>(b.columns(k).size()), n) << k;
  // LOC and FFA share exactly one voxel (the fixture's design).
  auto loc = b.columns("ROI_LOC"), ffa = b.columns("ROI_FFA");
  std::vector<int64_t> shared;
  std::set_intersection(loc.begin(), loc.end(), ffa.begin(), ffa.end(), std::back_inserter(shared));
  EXPECT_EQ(shared.size(), 1u);
  auto dt = b.select("DataType");
  ASSERT_EQ(dt.size(1), 1);
  EXPECT_EQ((dt == 1).sum().item<int64_t>(), 1200);
  EXPECT_EQ((dt == 2).sum().item<int64_t>(), 1750);
  EXPECT_EQ((dt == 3).sum().item<int64_t>(), 500);
  EXPECT_EQ(b.select("Label").size(1), 3);
  // The first training row's stimulus id is one of the GOD training ids (> 1e6, 6 decimals).
  double sid = b.select("stimulus_id")[0][0].item<double>();
  EXPECT_GT(sid, 1e6);
}

TEST(BData, ColumnsAreThoseWhereValueIsExactlyOne) {
  BData b = tiny();
  EXPECT_EQ(b.columns("VoxelData"), (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(b.columns("Label"), (std::vector<int64_t>{2}));
  EXPECT_EQ(b.columns("ROI_V1"), (std::vector<int64_t>{0}));  // 0 and NaN are not members
  EXPECT_TRUE(same(b.select("ROI_V1"), torch::tensor({{1.0}, {3.0}, {5.0}, {7.0}}, torch::kFloat64)));
  EXPECT_EQ(b.descriptions[0], "1 = VoxelData");
  // add() gives NaN to the new columns of older keys and NaN to the old columns of the new key.
  EXPECT_TRUE(std::isnan(b.values[0][2].item<double>()));
  EXPECT_TRUE(std::isnan(b.values[1][0].item<double>()));
  b.source = "mem.h5";
  try {
    b.columns("ROI_XYZ");
    FAIL() << "no throw";
  } catch (const brainsem::Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("mem.h5"), std::string::npos) << m;
    EXPECT_NE(m.find("ROI_XYZ"), std::string::npos) << m;
  }
  EXPECT_THROW(b.add(torch::zeros({3, 1}, torch::kFloat64), "Bad"), brainsem::Error);  // wrong row count
  EXPECT_THROW(b.add_metadata("x", torch::zeros({2}, torch::kFloat64), ""), brainsem::Error);
}

TEST(BData, RoundTripsTheFixtureThroughOurWriter) {
  BRAINSEM_REQUIRE_SHARED("god/synthetic_god_like_Subject.h5");
  brainsem::testing::TempDir dir;
  BData a = read_bdata(fixture());
  write_bdata(dir / "copy.h5", a);
  BData b = read_bdata(dir / "copy.h5");
  EXPECT_TRUE(same(a.dataset, b.dataset));  // includes the NaN image_index of imagery rows
  EXPECT_TRUE(same(a.values, b.values));
  EXPECT_EQ(a.keys, b.keys);
  EXPECT_EQ(a.descriptions, b.descriptions);
  EXPECT_EQ(b.source, (dir / "copy.h5").string());
  EXPECT_TRUE(brainsem::io::is_hdf5_file(dir / "copy.h5"));
}

TEST(BData, ReadsVariantsOfOtherWritersAlike) {
  BRAINSEM_REQUIRE_SHARED("god/synthetic_god_like_Subject.h5");
  brainsem::testing::TempDir dir;
  BData a = read_bdata(fixture());
  const int64_t C = a.dataset.size(1), K = a.values.size(0);
  // Shuffle columns and keys, add an extra key, use variable-length strings and legacy names.
  std::vector<int64_t> perm(C), kperm(K);
  std::iota(perm.begin(), perm.end(), 0);
  std::iota(kperm.begin(), kperm.end(), 0);
  std::mt19937 rng(7);
  std::shuffle(perm.begin(), perm.end(), rng);
  std::shuffle(kperm.begin(), kperm.end(), rng);
  auto p = torch::tensor(perm, torch::kInt64), kp = torch::tensor(kperm, torch::kInt64);
  BData v;
  v.dataset = a.dataset.index_select(1, p);
  v.values = a.values.index_select(1, p).index_select(0, kp);
  for (int64_t k : kperm) {
    v.keys.push_back(a.keys[k]);
    v.descriptions.push_back(a.descriptions[k] + " (a much longer description from another writer)");
  }
  v.add_metadata("Session", torch::full({C}, 1.0, torch::kFloat64), "extra key");
  for (const auto& opts :
       {BDataWriteOptions{true, false}, BDataWriteOptions{false, true}, BDataWriteOptions{true, true}}) {
    write_bdata(dir / "v.h5", v, opts);
    BData b = read_bdata(dir / "v.h5");
    ASSERT_EQ(b.keys.size(), a.keys.size() + 1);
    for (const auto& key : a.keys) {
      // The same original columns, found by key (not by position), in the new file order.
      std::vector<int64_t> orig;
      for (int64_t c : b.columns(key)) orig.push_back(perm[c]);
      std::vector<int64_t> sorted = orig;
      std::sort(sorted.begin(), sorted.end());
      EXPECT_EQ(sorted, a.columns(key)) << key << " legacy=" << opts.legacy_names;
      EXPECT_TRUE(same(b.select(key), a.dataset.index_select(1, torch::tensor(orig, torch::kInt64)))) << key;
    }
    EXPECT_EQ(b.columns("Session").size(), static_cast<size_t>(C));
  }
}

TEST(BData, EmptyStringsAndLongKeysSurvive) {
  brainsem::testing::TempDir dir;
  BData b = tiny();
  b.add_metadata(std::string(300, 'k'), torch::full({3}, 2.0, torch::kFloat64), "");
  for (bool vl : {false, true}) {
    write_bdata(dir / "t.h5", b, BDataWriteOptions{false, vl});
    BData r = read_bdata(dir / "t.h5");
    EXPECT_EQ(r.keys, b.keys);
    EXPECT_EQ(r.descriptions, b.descriptions);
    EXPECT_TRUE(same(r.values, b.values));
    EXPECT_TRUE(same(r.dataset, b.dataset));
  }
}

TEST(BData, RejectsMissingNonHdf5AndTruncatedFilesNamingThem) {
  BRAINSEM_REQUIRE_SHARED("god/synthetic_god_like_Subject.h5");
  brainsem::testing::TempDir dir;
  std::string m = error_of(dir / "absent.h5");
  EXPECT_NE(m.find("absent.h5"), std::string::npos) << m;
  EXPECT_NE(m.find("not found"), std::string::npos) << m;

  std::ofstream(dir / "text.h5") << "hello, not hdf5\n";
  m = error_of(dir / "text.h5");
  EXPECT_NE(m.find("text.h5"), std::string::npos) << m;
  EXPECT_NE(m.find("not an HDF5 file"), std::string::npos) << m;

  // The first 4 KiB of a valid file: the signature is there, the data is not.
  {
    std::ifstream in(fixture(), std::ios::binary);
    std::string head(4096, '\0');
    in.read(head.data(), head.size());
    std::ofstream(dir / "cut.h5", std::ios::binary) << head;
  }
  m = error_of(dir / "cut.h5");
  EXPECT_NE(m.find("cut.h5"), std::string::npos) << m;
  EXPECT_FALSE(m.empty());
}

TEST(BData, WriterLeavesNothingBehindOnError) {
  brainsem::testing::TempDir dir;
  BData b = tiny();
  b.descriptions.pop_back();  // inconsistent: 3 keys, 2 descriptions
  EXPECT_THROW(write_bdata(dir / "bad.h5", b), brainsem::Error);
  EXPECT_FALSE(fs::exists(dir / "bad.h5"));
  EXPECT_TRUE(fs::is_empty(dir.path()));
}

namespace {
// Replaces dataset `name` of an HDF5 file by a chunked float64 one of shape `dims` whose chunks
// are never written: a few bytes on disk that declare any size.
void replace_with_unallocated(const fs::path& file, const std::string& name, std::vector<hsize_t> dims) {
  hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  ASSERT_GE(H5Ldelete(f, name.c_str(), H5P_DEFAULT), 0);
  hid_t space = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
  hid_t plist = H5Pcreate(H5P_DATASET_CREATE);
  std::vector<hsize_t> chunk(dims.size(), 1);
  H5Pset_chunk(plist, static_cast<int>(chunk.size()), chunk.data());
  hid_t d = H5Dcreate2(f, name.c_str(), H5T_IEEE_F64LE, space, H5P_DEFAULT, plist, H5P_DEFAULT);
  ASSERT_GE(d, 0);
  H5Dclose(d);
  H5Pclose(plist);
  H5Sclose(space);
  H5Fclose(f);
}
}  // namespace

TEST(BData, DeclaredSizesAreCheckedBeforeAnythingIsAllocated) {
  brainsem::testing::TempDir dir;
  // 10^6 x 10^5 float64 = 800 GB declared, nothing stored: refused from the shape, not by the allocator.
  write_bdata(dir / "huge.h5", tiny());
  replace_with_unallocated(dir / "huge.h5", "dataset", {1000000, 100000});
  std::string m = error_of(dir / "huge.h5");
  EXPECT_NE(m.find("dataset 'dataset' declares shape [1000000, 100000]"), std::string::npos) << m;
  EXPECT_NE(m.find("the file is corrupt or truncated"), std::string::npos) << m;
  // The metadata's value array disagreeing with the data's columns is refused before the data is read.
  write_bdata(dir / "cols.h5", tiny());
  replace_with_unallocated(dir / "cols.h5", "metadata/value", {3, 7});
  m = error_of(dir / "cols.h5");
  EXPECT_NE(m.find("/metadata/value has shape [3, 7] but expected [keys, columns] = [3, 3]"), std::string::npos) << m;
}

TEST(BData, AFileThatCrashesLibhdf5IsReportedAsCorrupt) {
  // Written by write_bdata with variable-length strings, then two bytes of its global heap changed
  // (offsets 6290 and 6314): libhdf5 1.10 dereferences a wild pointer in H5HG_read reading the keys.
  const fs::path file = brainsem::testing::source_dir() / "tests/io/fixtures/bdata_corrupt_global_heap.h5";
  ASSERT_TRUE(fs::exists(file));
  std::string m = error_of(file);
  EXPECT_NE(m.find("bdata_corrupt_global_heap.h5: corrupt HDF5 file: the HDF5 library crashed reading it"),
            std::string::npos)
      << m;
}

TEST(BData, AFileThatHangsLibhdf5IsReportedAsCorruptInBoundedTime) {
  // Found by fuzz/fuzz_bdata: a mutation of the crashing fixture (global heap and header bytes) makes
  // libhdf5 1.10 loop forever in H5HG_read. The child's read is stopped at the time limit.
  const fs::path file = brainsem::testing::source_dir() / "tests/io/fixtures/bdata_libhdf5_loops.h5";
  ASSERT_TRUE(fs::exists(file));
  try {
    brainsem::io::read_bdata(file, std::chrono::milliseconds(1500));
    ADD_FAILURE() << "read";
  } catch (const brainsem::Error& e) {
    EXPECT_NE(std::string(e.what()).find(
                  "bdata_libhdf5_loops.h5: corrupt HDF5 file: the HDF5 library did not finish reading it in 1.5 s"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(brainsem::io::bdata_read_timeout(file), std::chrono::seconds(60));
}
