// Plain-text and .npy matrices: exact values, every delimiter, and refusals that name the line and field.
#include <gtest/gtest.h>

#include <fstream>

#include "brainsem/io/matrix_file.h"
#include "brainsem/io/npy.h"
#include "brainsem/core/atomic_file.h"
#include "testing/errors.h"
#include "testing/paths.h"

using namespace brainsem;
using brainsem::testing::error_of;

TEST(MatrixFile, CsvTsvAndSpacesParseToTheSameDoubles) {
  auto expected = torch::tensor({1.5, -2.0, 1e-3, 4.0, 0.1, -7.25}, torch::kFloat64).view({2, 3});
  EXPECT_TRUE(torch::equal(io::parse_text_matrix("1.5,-2,1e-3\n4, 0.1 ,-7.25\n", ',', "t"), expected));
  EXPECT_TRUE(torch::equal(io::parse_text_matrix("# comment\n1.5\t-2\t1e-3\r\n+4 0.1   -7.25", ' ', "t"), expected));
  // 0.1 is the double nearest 0.1, as numpy.loadtxt gives.
  EXPECT_EQ(io::parse_text_matrix("0.1", ',', "t").item<double>(), 0.1);
}

TEST(MatrixFile, RefusalsNameTheLineAndField) {
  EXPECT_NE(error_of([] { io::parse_text_matrix("1,2\n3\n", ',', "x.csv"); }).find("x.csv: line 2 has 1 fields"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              io::parse_text_matrix("a,b\n1,2\n", ',', "x.csv");
            }).find("line 1, column 1: 'a' is not a number (a header row"),
            std::string::npos);
  EXPECT_NE(error_of([] { io::parse_text_matrix("1,2\n\n3,4\n", ',', "x.csv"); }).find("line 2 is empty"),
            std::string::npos);
  EXPECT_NE(error_of([] { io::parse_text_matrix("1,,2\n", ',', "x.csv"); }).find("column 2: '' is not a number"),
            std::string::npos);
  EXPECT_NE(error_of([] { io::parse_text_matrix("1,2x\n", ',', "x.csv"); }).find("'2x' is not a number"),
            std::string::npos);
  EXPECT_NE(error_of([] { io::parse_text_matrix("1e999\n", ',', "x.csv"); }).find("out of the range"),
            std::string::npos);
  EXPECT_NE(error_of([] { io::parse_text_matrix("\n", ',', "x.csv"); }).find("line 1 is empty"), std::string::npos);
}

TEST(MatrixFile, ReadsByExtensionAndRefusesOthers) {
  brainsem::testing::TempDir dir;
  brainsem::core::write_text_atomically(dir / "m.csv", "1,2\n3,4\n");
  brainsem::core::write_text_atomically(dir / "m.txt", "1 2\n3 4\n");
  io::write_npy(dir / "m.npy", torch::tensor({1.f, 2.f, 3.f, 4.f}).view({2, 2}));
  io::write_npy(dir / "i.npy", torch::tensor({1, 2}, torch::kInt64).view({1, 2}));
  io::write_npy(dir / "v.npy", torch::tensor({1.f, 2.f}));
  auto a = io::read_matrix_file(dir / "m.csv");
  EXPECT_EQ(a.scalar_type(), torch::kFloat64);
  EXPECT_TRUE(torch::equal(a, io::read_matrix_file(dir / "m.txt")));
  EXPECT_TRUE(torch::equal(a, io::read_matrix_file(dir / "m.npy")));
  brainsem::core::write_text_atomically(dir / "m.xlsx", "");
  EXPECT_NE(error_of([&] { io::read_matrix_file(dir / "m.xlsx"); }).find("unknown matrix format '.xlsx'"),
            std::string::npos);
  EXPECT_NE(error_of([&] { io::read_matrix_file(dir / "i.npy"); }).find("expected float32 or float64"),
            std::string::npos);
  EXPECT_NE(error_of([&] { io::read_matrix_file(dir / "v.npy"); }).find("expected a 2-D matrix"), std::string::npos);
}

TEST(MatrixFile, Float32ConversionNamesNonFiniteAndOutOfRangeCells) {
  auto m = torch::tensor({1.0, 2.0, 3.0, 4.0}, torch::kFloat64).view({2, 2});
  EXPECT_TRUE(torch::equal(io::to_finite_float32(m, "m", "row", "col", "fix"), m.to(torch::kFloat32)));
  m[1][0] = 1e300;  // float32 would make this Inf silently
  auto e = error_of([&] { io::to_finite_float32(m, "m.csv", "sample row", "voxel column", "fix"); });
  EXPECT_NE(e.find("outside float32's range; first at sample row 1, voxel column 0"), std::string::npos) << e;
  m[0][1] = std::nan("");
  e = error_of([&] { io::to_finite_float32(m, "m.csv", "sample row", "voxel column", "drop it"); });
  EXPECT_NE(e.find("non-finite values (NaN/Inf); first at sample row 0, voxel column 1; drop it"), std::string::npos)
      << e;
}
