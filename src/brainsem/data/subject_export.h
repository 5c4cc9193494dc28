#pragma once
// The subject safetensors format written by `brainsem data export` (and `data import`) and read
// back by load_subject (docs/god_format.md §3). Exactly four tensors:
//   train_x            F32 [N_train, R, P]
//   train_stimulus_id  F64 [N_train]   ([0] = ids unknown; then train_names is required)
//   test_x             F32 [N_test, R, P]
//   test_stimulus_id   F64 [N_test]    ([0] = ids unknown; then test_names is required)
// __metadata__ (all values are strings; arrays are JSON text):
//   format "brainsem.subject.v1", rois ["V1",...], roi_sizes [12,...], P "12",
//   train_names/train_classes/test_names/test_classes [...], normalize "none"|"zscore", source.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "brainsem/data/subject.h"
#include "brainsem/io/bdata.h"

namespace brainsem::data {

inline constexpr const char* kSubjectFormat = "brainsem.subject.v1";

// Writes `s` atomically (validate_subject first). `normalize` records what was applied to s.
void write_subject_safetensors(const std::filesystem::path& path, const SubjectData& s, Normalize normalize);
// Reads and validates a subject safetensors file (the rules above).
SubjectData read_subject_safetensors(const std::filesystem::path& path);
// The normalisation recorded in a subject safetensors file ("none" if absent).
Normalize subject_file_normalize(const std::filesystem::path& path);

// What `brainsem data inspect` reports about a BData file.
struct BDataSummary {
  std::string source;
  int64_t samples = 0, columns = 0;
  struct Key {
    std::string key, description;
    int64_t columns = 0;  // how many columns have value == 1
  };
  std::vector<Key> keys;                               // file order
  std::map<int64_t, int64_t> samples_per_datatype;     // DataType -> rows
  std::map<int64_t, int64_t> stimuli_per_datatype;     // DataType -> distinct stimulus_id
  std::vector<std::pair<std::string, int64_t>> rois;   // every ROI_ key (GOD order first): voxels
  std::vector<std::string> packed_rois;                // the ROIs a packed export would use
  int64_t width = 0;                                   // P of those
  int64_t test_repeats_min = 0, test_repeats_max = 0;  // repeats per test stimulus
  int64_t image_index_mismatches = 0;                  // rows where image_index disagrees with the tables
};
// Validates like pack_subject (same errors) and summarises.
BDataSummary summarize_bdata(const io::BData& b, const LoadOptions& opts = {});
nlohmann::json to_json(const BDataSummary& s);
std::string to_text(const BDataSummary& s);

}  // namespace brainsem::data
