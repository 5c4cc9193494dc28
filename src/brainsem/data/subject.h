#pragma once
// One subject's fMRI in the packed form the model uses:
//   train_x [N_train, R, P] float32, rows in file order
//   test_x  [N_test,  R, P] float32, the mean over the repeats of each test image, rows in
//           ascending stimulus_id
// R = number of ROI tokens (7 for GOD: V1 V2 V3 V4 LOC FFA PPA), P = the widest ROI; each ROI
// token is zero-padded at its end.
#include <torch/torch.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "brainsem/io/bdata.h"

namespace brainsem::data {

enum class Normalize { none, zscore };

struct SubjectData {
  torch::Tensor train_x;                                 // [N_train, R, P] float32
  torch::Tensor test_x;                                  // [N_test, R, P] float32
  torch::Tensor train_stimulus_id;                       // [N_train] float64 (GOD ids; may be empty)
  torch::Tensor test_stimulus_id;                        // [N_test] float64
  std::vector<std::string> train_names, test_names;      // stimulus names, e.g. n01518878_10042
  std::vector<std::string> train_classes, test_classes;  // class ids (synsets)
  std::vector<std::string> roi_names;                    // [R]
  std::vector<int64_t> roi_sizes;                        // [R] voxels per ROI (<= P)
  std::string source;                                    // where it came from
  // The unaveraged test trials behind test_x, for reliability (noise-ceiling) estimates. Only a
  // BData file holds them (GOD: 35 repeats per test image); empty otherwise. Normalised like test_x.
  torch::Tensor test_trials_x;            // [N_test_trials, R, P] float32, or undefined
  std::vector<int64_t> test_trial_image;  // [N_test_trials] the test_x row of each trial

  bool has_test_trials() const { return test_trials_x.defined() && test_trials_x.size(0) > 0; }

  int64_t width() const { return train_x.size(2); }
};

// The GOD ROI order.
const std::vector<std::string>& god_rois();

// Loads a subject from a GOD BData .h5 or from a `brainsem data export` / `data import`
// safetensors file (chosen by content). Validates shapes and finiteness.
SubjectData load_subject(const std::filesystem::path& path, Normalize normalize = Normalize::none);

// ---- additions (docs/god_format.md describes the rules) ----

struct LoadOptions {
  Normalize normalize = Normalize::none;
  // ROI tokens to pack, by name without "ROI_" (e.g. "V1", "LVC"); empty = god_rois(). A name the
  // file lacks is an error that lists the ROIs it has.
  std::vector<std::string> rois;
};
SubjectData load_subject(const std::filesystem::path& path, const LoadOptions& opts);

// Packs a GOD-layout BData: splits by DataType (1 train, 2 test; 3 imagery unused), ROI columns by
// metadata key, names decoded from stimulus_id (image_index cross-checked against the GOD tables),
// test rows averaged per stimulus_id (the rows themselves kept in test_trials_x). Throws naming b.source for missing
// keys, unknown ROIs, non-finite voxels (any row of any packed ROI column), bad DataType values.
SubjectData pack_subject(const io::BData& b, const LoadOptions& opts = {});

// The ROI tokens named by `rois` (with or without "ROI_"), in that order, trimmed to the widest of
// them (test trials too). An unknown name is an error that lists the subject's ROIs; `where` names
// the file.
SubjectData select_roi_tokens(const SubjectData& s, const std::vector<std::string>& rois, const std::string& where);

// z-scores every (ROI, voxel) column of train_x, test_x (and test_trials_x) with the training rows' mean and
// standard deviation (ddof=1, as the GOD demo). A constant column (sd 0, e.g. zero padding) gets
// sd 1, so padding stays exactly zero. Works in float64, stores float32.
void zscore_with_training_stats(SubjectData& s);

// Checks shapes, lengths, finiteness, roi_sizes (1..P, max == P) and zero padding; `where`
// names the file in messages.
void validate_subject(const SubjectData& s, const std::string& where);

// Training/test rows whose image_index (when the key exists) points at a GOD table row with a
// different stimulus_id: pre-2020 GOD files or non-GOD ids. Names always follow stimulus_id.
int64_t image_index_mismatches(const io::BData& b);

// "none" | "zscore" <-> Normalize; parse throws for anything else.
Normalize parse_normalize(const std::string& name);
std::string normalize_name(Normalize n);
// JSON: the name; an unknown name is refused (parse_normalize).
void to_json(nlohmann::json& j, Normalize n);
void from_json(const nlohmann::json& j, Normalize& n);

}  // namespace brainsem::data
