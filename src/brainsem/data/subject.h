#pragma once
// One subject's fMRI in the packed form the model uses (issue 2 §2):
//   train_x [N_train, R, P] float32, rows in file order
//   test_x  [N_test,  R, P] float32, the mean over the repeats of each test image, rows in
//           ascending stimulus_id
// R = number of ROI tokens (7 for GOD: V1 V2 V3 V4 LOC FFA PPA), P = the widest ROI; each ROI
// token is zero-padded at its end.
#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <vector>

namespace brainsem::data {

enum class Normalize { none, zscore };

struct SubjectData {
  torch::Tensor train_x;                         // [N_train, R, P] float32
  torch::Tensor test_x;                          // [N_test, R, P] float32
  torch::Tensor train_stimulus_id;               // [N_train] float64 (GOD ids; may be empty)
  torch::Tensor test_stimulus_id;                // [N_test] float64
  std::vector<std::string> train_names, test_names;      // stimulus names, e.g. n01518878_10042
  std::vector<std::string> train_classes, test_classes;  // class ids (synsets)
  std::vector<std::string> roi_names;            // [R]
  std::vector<int64_t> roi_sizes;                // [R] voxels per ROI (<= P)
  std::string source;                            // where it came from

  int64_t width() const { return train_x.size(2); }
};

// The GOD ROI order.
const std::vector<std::string>& god_rois();

// Loads a subject from a GOD BData .h5 or from a `brainsem data export` / `data import`
// safetensors file (chosen by content). Validates shapes and finiteness.
SubjectData load_subject(const std::filesystem::path& path, Normalize normalize = Normalize::none);

}  // namespace brainsem::data
