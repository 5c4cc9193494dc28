// `data import`: plain files -> subject safetensors, read back by load_subject (round trip against
// a hand-packed oracle), and every bad input refused with a message and no output file.
#include <gtest/gtest.h>

#include <fstream>
#include <limits>

#include "brainsem/core/error.h"
#include "brainsem/data/dataset_import.h"
#include "brainsem/data/subject.h"
#include "brainsem/io/npy.h"
#include "testing/paths.h"

namespace fs = std::filesystem;
using namespace brainsem;

namespace {

void write_lines(const fs::path& p, const std::vector<std::string>& lines) {
  std::ofstream f(p);
  for (const auto& l : lines) f << l << "\n";
}

// 6 samples x 7 voxels; ROIs by column: A A B C C C B -> tokens A(0,1) B(2,6) C(3,4,5), P = 3.
struct Files {
  brainsem::testing::TempDir dir;
  torch::Tensor x = torch::arange(1, 43, torch::kFloat64).view({6, 7}) * 0.5;
  data::ImportInputs in;
  Files() {
    io::write_npy(dir / "x.npy", x);
    write_lines(dir / "rois.txt", {"A", "A", "B", "C", "C", "C", "B"});
    write_lines(dir / "classes.txt", {"dog", "cat", "dog", "owl", "owl", "cat"});
    write_lines(dir / "names.txt", {"d1", "c1", "d2", "o1", "o2", "c2"});
    write_lines(dir / "split.txt", {"train", "train", "test", "test", "train", "train"});
    in = {dir / "x.npy", dir / "rois.txt", dir / "classes.txt", dir / "names.txt", dir / "split.txt"};
  }
};

// The oracle: token r of row i holds the voxels of ROI r in column order, then zeros.
torch::Tensor pack_row(const torch::Tensor& x, int64_t i) {
  auto t = torch::zeros({3, 3}, torch::kFloat32);
  auto r = x[i].to(torch::kFloat32);
  t[0][0] = r[0], t[0][1] = r[1];
  t[1][0] = r[2], t[1][1] = r[6];
  t[2][0] = r[3], t[2][1] = r[4], t[2][2] = r[5];
  return t;
}

void expect_refused(const data::ImportInputs& in, const fs::path& out, const std::string& needle) {
  try {
    data::import_dataset_file(in, out);
    FAIL() << "expected an error containing '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(out)) << "a failed import must leave no output";
}

}  // namespace

TEST(DatasetImport, RoundTripMatchesHandPackedTokens) {
  Files f;
  auto out = f.dir / "d.safetensors";
  data::import_dataset_file(f.in, out);
  auto s = data::load_subject(out);
  EXPECT_EQ(s.roi_names, (std::vector<std::string>{"A", "B", "C"}));
  EXPECT_EQ(s.roi_sizes, (std::vector<int64_t>{2, 2, 3}));
  ASSERT_EQ(s.train_x.sizes(), (std::vector<int64_t>{4, 3, 3}));
  ASSERT_EQ(s.test_x.sizes(), (std::vector<int64_t>{2, 3, 3}));
  const std::vector<int64_t> tr{0, 1, 4, 5}, te{2, 3};
  for (size_t i = 0; i < tr.size(); ++i)
    EXPECT_TRUE(torch::equal(s.train_x[i], pack_row(f.x, tr[i]))) << "train row " << i;
  for (size_t i = 0; i < te.size(); ++i)
    EXPECT_TRUE(torch::equal(s.test_x[i], pack_row(f.x, te[i]))) << "test row " << i;
  EXPECT_EQ(s.train_names, (std::vector<std::string>{"d1", "c1", "o2", "c2"}));
  EXPECT_EQ(s.train_classes, (std::vector<std::string>{"dog", "cat", "owl", "cat"}));
  EXPECT_EQ(s.test_names, (std::vector<std::string>{"d2", "o1"}));
  EXPECT_EQ(s.test_classes, (std::vector<std::string>{"dog", "owl"}));
  // ROI subsets by name work on imported files too (P shrinks to the widest kept).
  data::LoadOptions lo;
  lo.rois = {"B", "A"};
  auto sub = data::load_subject(out, lo);
  ASSERT_EQ(sub.train_x.sizes(), (std::vector<int64_t>{4, 2, 2}));
  EXPECT_FLOAT_EQ(sub.train_x[0][0][1].item<float>(), f.x[0][6].item<float>());
}

TEST(DatasetImport, Float32WithoutSplitOrNamesIsAllTraining) {
  Files f;
  io::write_npy(f.dir / "x32.npy", f.x.to(torch::kFloat32));
  data::ImportInputs in{f.dir / "x32.npy", f.dir / "rois.txt", f.dir / "classes.txt", {}, {}};
  auto out = f.dir / "all.safetensors";
  data::import_dataset_file(in, out);
  auto s = data::load_subject(out);
  EXPECT_EQ(s.train_x.size(0), 6);
  EXPECT_EQ(s.test_x.size(0), 0);
  EXPECT_EQ(s.train_names[5], "sample5");
  for (int64_t i = 0; i < 6; ++i) EXPECT_TRUE(torch::equal(s.train_x[i], pack_row(f.x, i)));
}

TEST(DatasetImport, OneRoiManySamplesPerClassAndManyRois) {
  brainsem::testing::TempDir dir;
  // 12 ROIs of sizes 1..12 interleaved, 30 samples of 3 classes.
  std::vector<std::string> rois;
  for (int r = 0; r < 12; ++r)
    for (int v = 0; v <= r; ++v) rois.push_back("roi" + std::to_string(r));
  std::vector<std::string> classes;
  for (int i = 0; i < 30; ++i) classes.push_back("c" + std::to_string(i % 3));
  auto x = torch::randn({30, static_cast<int64_t>(rois.size())}, torch::kFloat64);
  io::write_npy(dir / "x.npy", x);
  write_lines(dir / "rois.txt", rois);
  write_lines(dir / "classes.txt", classes);
  data::import_dataset_file({dir / "x.npy", dir / "rois.txt", dir / "classes.txt", {}, {}}, dir / "o.safetensors");
  auto s = data::load_subject(dir / "o.safetensors");
  EXPECT_EQ(s.roi_names.size(), 12u);
  EXPECT_EQ(s.width(), 12);
  EXPECT_EQ(s.roi_sizes[4], 5);
  EXPECT_NEAR(s.train_x.select(1, 11).sum().item<double>(), x.narrow(1, 66, 12).sum().item<double>(), 1e-3);
}

TEST(DatasetImport, BadInputIsRefusedWithoutOutput) {
  Files f;
  auto out = f.dir / "bad.safetensors";
  auto in = f.in;
  // Row count mismatch between the matrix and the class labels.
  write_lines(f.dir / "classes5.txt", {"dog", "cat", "dog", "owl", "owl"});
  in.classes = f.dir / "classes5.txt";
  expect_refused(in, out, "5 class names but");
  in = f.in;
  write_lines(f.dir / "rois6.txt", {"A", "A", "B", "C", "C", "C"});
  in.rois = f.dir / "rois6.txt";
  expect_refused(in, out, "6 ROI names but");
  // Empty (unknown) ROI name and a name that is not one token.
  in = f.in;
  write_lines(f.dir / "rois_empty.txt", {"A", "A", "", "C", "C", "C", "B"});
  in.rois = f.dir / "rois_empty.txt";
  expect_refused(in, out, "line 3 is empty");
  write_lines(f.dir / "rois_space.txt", {"A", "A", "B", "C", "C", "C", "V1 V2"});
  in.rois = f.dir / "rois_space.txt";
  expect_refused(in, out, "line 7: ROI name 'V1 V2'");
  // NaN voxels: the message names the sample row and the voxel column.
  in = f.in;
  auto x = f.x.clone();
  x[4][3] = std::numeric_limits<double>::quiet_NaN();
  io::write_npy(f.dir / "nan.npy", x);
  in.x = f.dir / "nan.npy";
  expect_refused(in, out, "first at sample row 4, voxel column 3");
  // Split values and a split with no training sample.
  in = f.in;
  write_lines(f.dir / "split_bad.txt", {"train", "train", "val", "test", "train", "train"});
  in.split = f.dir / "split_bad.txt";
  expect_refused(in, out, "line 3: 'val' is not 'train' or 'test'");
  write_lines(f.dir / "split_test.txt", std::vector<std::string>(6, "test"));
  in.split = f.dir / "split_test.txt";
  expect_refused(in, out, "at least one must be 'train'");
  // A 1-D or integer matrix.
  in = f.in;
  io::write_npy(f.dir / "int.npy", torch::zeros({6, 7}, torch::kInt64));
  in.x = f.dir / "int.npy";
  expect_refused(in, out, "expected float32 or float64");
  io::write_npy(f.dir / "vec.npy", torch::zeros({6}, torch::kFloat32));
  in.x = f.dir / "vec.npy";
  expect_refused(in, out, "expected a 2-D matrix");
}
