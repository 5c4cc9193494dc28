#pragma once
// Numeric matrices users bring as plain files: .npy (io/npy.h) or delimited text (.csv, .tsv,
// .txt). Debian has no small C++ CSV reader for numbers only; this one is a few dozen lines.
//   text: one row per line, fields separated by ',' (.csv), tabs or spaces (.tsv, .txt); no
//   header, no quoting; '#' starts a comment line; blank lines are refused (they hide a missing
//   row); every row has the same number of fields; values are decimal numbers (nan/inf parse, and
//   the callers refuse them with the row and column named).
#include <torch/torch.h>

#include <filesystem>
#include <string_view>

namespace brainsem::io {

// Parses delimited text into a float64 [rows, columns] tensor. `where` names the source in errors,
// which give the line and field.
torch::Tensor parse_text_matrix(std::string_view text, char delimiter, const std::string& where);
// A 2-D matrix from .npy, .csv, .tsv or .txt (by extension), as a float64 tensor. Refuses other
// extensions, non-2-D arrays and non-float npy dtypes, naming the file.
torch::Tensor read_matrix_file(const std::filesystem::path& path);

// `m` [rows, columns] as float32. Throws naming the first cell (`row_what` i, `column_what` j) that
// is NaN/Inf or outside float32's range, which float32 would otherwise turn into Inf or 0
// silently. `fix` says how to repair the input.
torch::Tensor to_finite_float32(const torch::Tensor& m, const std::string& where, const std::string& row_what,
                                const std::string& column_what, const std::string& fix);

}  // namespace brainsem::io
