#pragma once
// Map coordinates as CSV, so that any plotting tool can redraw a figure.
#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <vector>

namespace brainsem::viz {

// Header name,category,x,y for 2-D maps (name,category,c0,c1,... otherwise);
// one row per point; names/categories may be empty (empty fields) or have one entry per row.
// Fields with commas, quotes or newlines are quoted (RFC 4180). Written atomically.
void write_points_csv(const std::filesystem::path& file, const torch::Tensor& coords,
                      const std::vector<std::string>& names = {}, const std::vector<std::string>& categories = {});

// RFC 4180 quoting of one field.
std::string csv_field(const std::string& s);

}  // namespace brainsem::viz
