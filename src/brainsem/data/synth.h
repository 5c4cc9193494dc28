#pragma once
// The embedded GOD-shaped synthetic dataset (the model and every knob are described
// in docs/synthetic_data.md). write_synthetic_dataset() writes, into a new directory:
//   Subject1.h5 .. SubjectN.h5        BData (bdpy layout) like GOD's Subject*.h5
//   stimulus_ImageNetTraining.tsv     the real GOD stimulus tables (copies)
//   stimulus_ImageNetTest.tsv
//   category_GODImagery.tsv           (when imagery rows are generated)
//   stimuli.safetensors               feature store, 1250 stimulus images (1200 train + 50 test)
//   library_train.safetensors         feature store, library images of the 150 training classes
//   library_test.safetensors          feature store, library images of the 50 test classes
//   synth.json                        manifest: config, seed, ROI sizes per subject, version
//   truth.safetensors                 (write_truth) the true generative parameters
// Same config (seed included) => byte-identical files, except the BData /header/ctime stamp.
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "brainsem/data/synth_classes.h"
#include "brainsem/io/bdata.h"

namespace brainsem::data {

// One ROI's generative knobs. voxel = baseline + run shift + semantic_weight * g_v * phi(a) *
// (category gain) + lowlevel_weight * h_v * b + noise_sd * subject noise scale * e.
struct SynthRoi {
  std::string name;              // V1 V2 V3 V4 LOC FFA PPA
  int64_t voxels = 0;            // mean size over subjects
  double semantic_weight = 0.0;  // gain of the semantic drive a = s . w_v
  double lowlevel_weight = 0.0;  // gain of the low-level drive b = l . u_v
  double noise_sd = 1.0;         // single-trial noise sd
  std::string nonlinearity;      // phi: "linear" | "tanh" | "relu"
  std::string category;          // "" | "animate" | "place": classes that get the category gain
};

struct SynthConfig {
  uint64_t seed = 1;
  int subjects = 5;
  int library_per_class = 100;  // library images per class (1..1000), train and test classes
  // Image features.
  double instance_scale = 0.75;       // norm of the instance variation added to a unit centre
  double centre_jitter = 0.35;        // perturbation of WordNet-derived centres (norm)
  uint64_t geometry_seed = 20240101;  // seeds that perturbation: class geometry is fixed across seeds
  // Brain.
  int lowlevel_dim = 64;            // dimension of the per-image low-level vector
  std::vector<SynthRoi> rois;       // default: god_like_rois()
  double roi_size_jitter = 0.06;    // per-subject, per-ROI log-normal size variation (sd)
  int64_t min_total_voxels = 4100;  // subjects' VC totals are drawn uniformly in [min, max]
  int64_t max_total_voxels = 4650;
  double voxel_gain_jitter = 0.5;      // per-voxel log-normal spread of the semantic/low-level gains
  double subject_noise_jitter = 0.15;  // per-subject log-normal noise multiplier (sd)
  double category_gain = 1.0;          // extra multiplicative semantic gain for preferred classes
  double category_offset = 0.5;        // additive response to preferred classes (per voxel |N(0,1)| x)
  // Per-voxel baseline. GOD's values come out of BrainDecoderToolbox2's preprocessing, whose
  // normalize_sample defaults to percent signal change per run: each voxel's run mean is removed,
  // so values sit around 0 in percent units. That is the default (0, 0); 100 gives values around
  // a mean of 100 instead (docs/synthetic_data.md measures both for the paper's raw-fMRI recipe).
  double baseline_sd = 0.0;
  double baseline_mean = 0.0;
  double run_shift_sd = 0.3;  // per-run, per-voxel drift
  int test_repeats = 35;
  bool imagery = true;         // 500 imagery rows (DataType 3), 10 per test class
  double imagery_gain = 0.35;  // semantic gain of imagery relative to perception
  bool write_truth = false;

  nlohmann::json to_json() const;
  static SynthConfig from_json(const nlohmann::json& j);  // missing keys keep their defaults
  void validate() const;                                  // throws brainsem::Error naming the bad knob
};

// V1 V2 V3 V4 LOC FFA PPA with GOD-like sizes and the default mixing (docs/synthetic_data.md).
std::vector<SynthRoi> god_like_rois();

constexpr const char* kSynthEncoder = "synthetic:clip-vitb32-text";
constexpr const char* kSynthPreprocessing = "synthetic";
constexpr const char* kSynthFormat = "brainsem.synth.v1";

// Per-subject truth: everything that maps an image to its expected voxel responses.
struct SynthSubjectTruth {
  std::vector<int64_t> roi_sizes;  // [R] in cfg.rois order; voxel columns are ROI-contiguous
  double noise_scale = 1.0;        // subject noise multiplier
  torch::Tensor w_sem;             // [V, E] float32 semantic projection (unit-variance drive)
  torch::Tensor w_low;             // [V, L] float32 low-level projection
  torch::Tensor sem_gain;          // [V] semantic_weight x per-voxel gain
  torch::Tensor low_gain;          // [V] lowlevel_weight x per-voxel gain
  torch::Tensor cat_offset;        // [V] additive response to preferred classes (0 outside FFA/PPA)
  torch::Tensor noise_sd;          // [V] single-trial noise sd (subject scale included)
  torch::Tensor baseline;          // [V]
  torch::Tensor run_shift;         // [n_runs, V]
  torch::Tensor roi_index;         // [V] int64 index into cfg.rois
};

// The complete generative model (the content of truth.safetensors).
struct SynthTruth {
  SynthConfig config;
  std::vector<GodClass> classes;        // [200]: 150 train then 50 test
  torch::Tensor class_centres;          // [200, E]
  std::vector<GodStimulus> stimuli;     // [1250]: 1200 train (table order) then 50 test
  std::vector<int64_t> stimulus_class;  // [1250] index into classes
  torch::Tensor stimulus_features;      // [1250, E] unit rows (= stimuli.safetensors)
  torch::Tensor lowlevel;               // [1250, L] per-image low-level vectors (shared by subjects)
  torch::Tensor semantic_mean;          // [E] mean training feature, subtracted before projection
  double semantic_scale = 1.0;          // RMS norm of centred training features
  std::vector<SynthSubjectTruth> subjects;

  // Expected (noise-free, no run shift) response of subject `s` (0-based) to images with
  // features [n, E], low-level vectors [n, L] and classes (index into `classes`): [n, V] float32.
  // `perception` false gives the imagery response (no low-level part, imagery_gain).
  torch::Tensor expected_response(int s, const torch::Tensor& features, const torch::Tensor& lowlevel,
                                  const std::vector<int64_t>& class_index, bool perception = true) const;
};

// One subject's samples, before packing into BData.
struct SynthSamples {
  torch::Tensor voxels;               // [N, V] float32
  std::vector<int> data_type;         // [N] 1 train, 2 test, 3 imagery
  std::vector<int> run, block;        // [N]
  std::vector<double> stimulus_id;    // [N] (imagery: category id)
  std::vector<int> category_index;    // [N]
  std::vector<int> image_index;       // [N] (imagery: 0 = none, written as NaN)
  std::vector<int64_t> stimulus_row;  // [N] row in SynthTruth::stimuli (-1 for imagery)
  std::vector<int64_t> class_row;     // [N] row in SynthTruth::classes
};

// Builds the model (features and subject parameters) from the config. Deterministic.
SynthTruth build_synth_truth(const SynthConfig& cfg);
// Draws subject `s`'s samples (rows: train by run, then test, then imagery; GOD's order).
SynthSamples sample_subject(const SynthTruth& truth, int s);
// Packs samples in bdpy's layout (voxels, Run, Block, DataType, Label[3] columns; ROI keys).
io::BData subject_bdata(const SynthTruth& truth, int s, const SynthSamples& samples);
// Library features [per_class * n, E] for classes `class_rows`, names lib_<wnid>_0001...
void library_features(const SynthTruth& truth, const std::vector<int64_t>& class_rows, torch::Tensor& features,
                      std::vector<std::string>& names, std::vector<std::string>& classes);

// Writes the whole dataset into `dir` (created atomically; must not exist or be empty).
void write_synthetic_dataset(const std::filesystem::path& dir, const SynthConfig& cfg);

// Reads truth.safetensors back (written with write_truth).
SynthTruth read_synth_truth(const std::filesystem::path& path);

}  // namespace brainsem::data
