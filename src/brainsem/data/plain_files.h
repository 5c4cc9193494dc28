#pragma once
// The program's data formats to and from plain files, so that nobody writes safetensors by hand
// and every file the program writes opens without our readers (docs/generic_data.md §2):
//   import  a matrix (.npy, .csv, .tsv, .txt; io/matrix_file.h) plus text files of names (one per
//           row) -> a feature store or a class-embedding table, validated like every other input;
//   export  a feature store, class-embedding table or subject file -> DIR/<tensor>.npy for each
//           tensor and DIR/metadata.json:
//             {"format": "brainsem.plain_export", "version": 1, "source": FILE,
//              "source_format": "brainsem.features.v1",
//              "tensors": {"features": {"file": "features.npy", "dtype": "F32", "shape": [N, E]}},
//              "metadata": {KEY: value}}      (values that are JSON arrays/objects are kept as JSON)
//           The directory appears whole or not at all.
#include <filesystem>
#include <string>
#include <vector>

#include "brainsem/data/class_embeddings.h"
#include "brainsem/data/feature_store.h"

namespace brainsem::data {

inline constexpr const char* kPlainExportFormat = "brainsem.plain_export";
inline constexpr int kPlainExportVersion = 1;

struct FeatureImportInputs {
  std::filesystem::path x;        // [N, E] features, one row per image
  std::filesystem::path names;    // N lines: image names (unique)
  std::filesystem::path classes;  // N lines: the class of each image
  std::string encoder;            // what produced the features; stores are only mixed with the same id
  std::string preprocessing = "unknown";
};
// Throws naming the file and row for: count mismatches, duplicate names, NaN/Inf or values
// outside float32's range, an empty encoder id.
FeatureStore import_features(const FeatureImportInputs& in);

struct ClassEmbeddingImportInputs {
  std::filesystem::path x;        // [C, E], one row per class
  std::filesystem::path classes;  // C lines: class names (unique)
  std::string encoder = "unknown";
};
// Throws as import_features does, and for duplicate class names (validate_class_embeddings).
ClassEmbeddings import_class_embeddings(const ClassEmbeddingImportInputs& in);

// Which of the program's formats `file` holds (its metadata "format"), or "" when it is not a
// safetensors file the program wrote.
std::string safetensors_format(const std::filesystem::path& file);

// Validates `file` with its format's reader (refusing it unless its format is one of
// `accepted`), then writes the export directory `out` described above. `out` must not exist
// unless `force` (then it is replaced). Returns the tensors written.
std::vector<std::string> export_plain(const std::filesystem::path& file, const std::filesystem::path& out,
                                      const std::vector<std::string>& accepted, bool force);

}  // namespace brainsem::data
