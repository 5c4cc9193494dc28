#include "brainsem/io/matrix_file.h"

#include <charconv>
#include <vector>

#include "brainsem/core/atomic_file.h"
#include "brainsem/core/error.h"
#include "brainsem/io/npy.h"

namespace brainsem::io {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

// The fields of one line: split at `delimiter`, or at runs of blanks when delimiter is ' '.
std::vector<std::string_view> split_fields(std::string_view line, char delimiter) {
  std::vector<std::string_view> fields;
  if (delimiter == ' ') {
    size_t i = 0;
    while (i < line.size()) {
      while (i < line.size() && is_space(line[i])) ++i;
      if (i == line.size()) break;
      size_t j = i;
      while (j < line.size() && !is_space(line[j])) ++j;
      fields.push_back(line.substr(i, j - i));
      i = j;
    }
    return fields;
  }
  size_t start = 0;
  for (;;) {
    size_t at = line.find(delimiter, start);
    std::string_view f = line.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start);
    while (!f.empty() && is_space(f.front())) f.remove_prefix(1);
    while (!f.empty() && is_space(f.back())) f.remove_suffix(1);
    fields.push_back(f);
    if (at == std::string_view::npos) return fields;
    start = at + 1;
  }
}

}  // namespace

torch::Tensor parse_text_matrix(std::string_view text, char delimiter, const std::string& where) {
  std::vector<double> values;
  int64_t columns = -1, rows = 0, line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    std::string_view line = text.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    pos = end == std::string_view::npos ? text.size() : end + 1;
    ++line_no;
    size_t first = 0;
    while (first < line.size() && is_space(line[first])) ++first;
    if (first < line.size() && line[first] == '#') continue;
    BRAINSEM_CHECK(first < line.size(), where, ": line ", line_no,
                   " is empty; every row of the matrix is one line (remove the blank line, or mark it with '#')");
    auto fields = split_fields(line, delimiter);
    if (columns < 0) columns = static_cast<int64_t>(fields.size());
    BRAINSEM_CHECK(static_cast<int64_t>(fields.size()) == columns, where, ": line ", line_no, " has ", fields.size(),
                   " fields but the first row has ", columns, "; every row needs the same number of columns");
    for (size_t c = 0; c < fields.size(); ++c) {
      std::string_view f = fields[c];
      if (!f.empty() && f.front() == '+') f.remove_prefix(1);
      double v = 0;
      auto [ptr, ec] = std::from_chars(f.data(), f.data() + f.size(), v);
      BRAINSEM_CHECK(!f.empty() && ec != std::errc::invalid_argument && ptr == f.data() + f.size(), where, ": line ",
                     line_no, ", column ", c + 1, ": '", fields[c],
                     "' is not a number (a header row or quoted values? this reader takes numbers only)");
      BRAINSEM_CHECK(ec != std::errc::result_out_of_range, where, ": line ", line_no, ", column ", c + 1, ": '",
                     fields[c], "' is out of the range of a double");
      values.push_back(v);
    }
    ++rows;
  }
  BRAINSEM_CHECK(rows > 0 && columns > 0, where, ": no rows; expected one line of numbers per matrix row");
  return torch::from_blob(values.data(), {rows, columns}, torch::kFloat64).clone();
}

torch::Tensor read_matrix_file(const std::filesystem::path& path) {
  const std::string where = path.string();
  const std::string ext = path.extension().string();
  torch::Tensor m;
  if (ext == ".npy") {
    m = read_npy(path);
    BRAINSEM_CHECK(m.is_floating_point(), where, ": expected float32 or float64 values, got ", m.scalar_type(),
                   "; save it with x.astype(np.float32)");
  } else if (ext == ".csv" || ext == ".tsv" || ext == ".txt") {
    m = parse_text_matrix(core::read_text_file(path), ext == ".csv" ? ',' : ' ', where);
  } else {
    fail(where, ": unknown matrix format '", ext,
         "'; give a .npy, .csv (comma-separated), .tsv or .txt (tab or "
         "space-separated) file");
  }
  BRAINSEM_CHECK(m.dim() == 2, where, ": expected a 2-D matrix, got shape ", m.sizes());
  return m.to(torch::kFloat64).contiguous();
}

torch::Tensor to_finite_float32(const torch::Tensor& m, const std::string& where, const std::string& row_what,
                                const std::string& column_what, const std::string& fix) {
  auto m64 = m.to(torch::kFloat64);  // [rows, columns]
  auto bad = (~torch::isfinite(m64)).nonzero();
  if (bad.size(0) > 0)
    fail(where, ": ", bad.size(0), " non-finite values (NaN/Inf); first at ", row_what, " ", bad[0][0].item<int64_t>(),
         ", ", column_what, " ", bad[0][1].item<int64_t>(), "; ", fix);
  constexpr double kFloat32Max = 3.4028234663852886e38;
  auto huge = (m64.abs() > kFloat32Max).nonzero();
  if (huge.size(0) > 0) {
    const int64_t r = huge[0][0].item<int64_t>(), c = huge[0][1].item<int64_t>();
    fail(where, ": ", huge.size(0), " values outside float32's range; first at ", row_what, " ", r, ", ", column_what,
         " ", c, " (", m64[r][c].item<double>(), "); rescale the data");
  }
  return m64.to(torch::kFloat32).contiguous();
}

}  // namespace brainsem::io
