#include "brainsem/viz/points_csv.h"

#include <cstdio>

#include "brainsem/core/atomic_file.h"
#include "brainsem/core/error.h"

namespace brainsem::viz {

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

void write_points_csv(const std::filesystem::path& file, const torch::Tensor& coords,
                      const std::vector<std::string>& names, const std::vector<std::string>& categories) {
  BRAINSEM_CHECK(coords.dim() == 2, "points CSV ", file, ": expected coordinates [N, dims], got ", coords.sizes());
  const auto n = static_cast<size_t>(coords.size(0));
  BRAINSEM_CHECK(names.empty() || names.size() == n, "points CSV ", file, ": ", names.size(), " names for ", n,
                 " points");
  BRAINSEM_CHECK(categories.empty() || categories.size() == n, "points CSV ", file, ": ", categories.size(),
                 " categories for ", n, " points");
  auto c = coords.to(torch::kDouble).contiguous();
  auto a = c.accessor<double, 2>();
  const int64_t dims = c.size(1);
  std::string out = "name,category";
  for (int64_t d = 0; d < dims; ++d) out += dims == 2 ? (d == 0 ? ",x" : ",y") : ",c" + std::to_string(d);
  out += "\n";
  char buf[32];
  for (size_t i = 0; i < n; ++i) {
    out += (names.empty() ? "" : csv_field(names[i])) + "," + (categories.empty() ? "" : csv_field(categories[i]));
    for (int64_t d = 0; d < dims; ++d) {
      std::snprintf(buf, sizeof buf, ",%.9g", a[static_cast<int64_t>(i)][d]);
      out += buf;
    }
    out += "\n";
  }
  core::write_text_atomically(file, out);
}

}  // namespace brainsem::viz
