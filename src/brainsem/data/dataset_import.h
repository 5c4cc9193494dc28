#pragma once
// `brainsem data import`: a generic fMRI dataset from plain files a user has
// (docs/generic_data.md), packed into the subject safetensors format (docs/god_format.md §5) so
// every command that accepts a GOD subject accepts it.
//   x        .npy [N, V] float32/float64, C order: one row per sample, one column per voxel
//   rois     text, V lines: the ROI name of each voxel (one token per ROI, first-appearance order)
//   classes  text, N lines: the class name of each sample
//   stimuli  text, N lines (optional): stimulus names (default "sample<row>")
//   split    text, N lines (optional): "train" or "test" (default: every sample is training)
#include <filesystem>
#include <string>
#include <vector>

#include "brainsem/data/subject.h"

namespace brainsem::data {

struct ImportInputs {
  std::filesystem::path x, rois, classes, stimuli, split;  // stimuli and split may be empty
};

// Packs the matrix into ROI tokens [N, R, P] (each ROI's voxels in column order, zero-padded to
// the widest ROI) and splits the rows. Refuses, naming the file and row/line: row/line count
// mismatches, empty or malformed ROI/class names (ROI names must be one token without spaces,
// ',' or '+'), split values other than train/test, NaN/Inf voxels, a non-2-D or non-float matrix,
// and an empty training split. Nothing is written.
SubjectData import_dataset(const ImportInputs& in);

// import_dataset, then write_subject_safetensors(out) atomically (normalize "none").
SubjectData import_dataset_file(const ImportInputs& in, const std::filesystem::path& out);

}  // namespace brainsem::data
