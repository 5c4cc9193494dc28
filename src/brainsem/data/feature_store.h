#pragma once
// The CLIP feature store: image embeddings computed once and reused.
//
// File: safetensors with one tensor "features" F32 [N, E] (one row per image) and __metadata__:
//   format         "brainsem.features.v1"
//   encoder        id of the image encoder, e.g. "openai/ViT-B-16" or "synthetic:clip-vitb32-text"
//   preprocessing  id of the image preprocessing, e.g. "openai-clip-224" or "none"
//   names          JSON array [N] of image names (e.g. "n01443537_22563")
//   classes        JSON array [N] of class ids (synsets, e.g. "n01443537")
//   skipped        JSON array of {name, reason} for inputs that could not be embedded (optional)
//   extra          JSON object of free-form provenance (optional)
// Stores built with different encoders or preprocessing are refused where they would be mixed
// (check_compatible). Large stores are memory-mapped: rows are read only when touched.
#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "brainsem/io/safetensors.h"

namespace brainsem::data {

inline constexpr const char* kFeatureStoreFormat = "brainsem.features.v1";

struct FeatureStore {
  torch::Tensor features;            // [N, E] float32 (a view of the mapped file when opened)
  std::vector<std::string> names;    // [N]
  std::vector<std::string> classes;  // [N]
  std::string encoder;
  std::string preprocessing;
  std::vector<std::pair<std::string, std::string>> skipped;  // (name, reason)
  std::map<std::string, std::string> extra;                  // provenance, free-form

  int64_t size() const { return static_cast<int64_t>(names.size()); }
  int64_t dim() const { return features.size(1); }

  // Row indices of every image of class `cls` (empty if none).
  std::vector<int64_t> rows_of_class(const std::string& cls) const;
  // Row index of each name; throws naming the store and the first missing name.
  std::vector<int64_t> rows_of_names(const std::vector<std::string>& wanted, const std::string& what) const;
  // Distinct classes in first-appearance order.
  std::vector<std::string> class_list() const;
  // Throws if `other` was built with another encoder, preprocessing or dimension.
  void check_compatible(const FeatureStore& other, const std::string& what) const;

  // Memory-maps and validates a store (shape, metadata, names/classes lengths).
  static FeatureStore open(const std::filesystem::path& path);
  // Writes atomically. Validates lengths, finiteness, and that names are unique.
  void save(const std::filesystem::path& path) const;

 private:
  std::shared_ptr<io::SafetensorsFile> file_;  // keeps the mapping alive for `features`
};

// Concatenates stores (same encoder/preprocessing/dimension required).
FeatureStore concat_stores(const std::vector<FeatureStore>& parts);

// A store built in parts (`embed` over ranks or Slurm array tasks): part K of N embeds the K-th
// contiguous slice of the image list and records "K/N" under extra["part"]. Joined in K order, the
// parts are the store one process writes, byte for byte.
inline constexpr const char* kPartKey = "part";
// OUT's part K of N, beside it: "lib.safetensors" -> "lib.part-K-of-N.safetensors".
std::filesystem::path part_path(const std::filesystem::path& out, int index, int count);
// Joins parts given in any order; every part 0..N-1 must be there once, built alike (encoder,
// preprocessing, dimension, provenance). `paths` name them in errors.
FeatureStore join_parts(const std::vector<FeatureStore>& parts, const std::vector<std::string>& paths);

}  // namespace brainsem::data
