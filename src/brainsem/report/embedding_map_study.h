#pragma once
// Fig. 5: ISOMAP and t-SNE maps of raw fMRI, BrainSem brain embeddings and CLIP image features,
// coloured biotic vs abiotic (WordNet: a class is biotic when it is a hyponym of
// living_thing.n.01). The paper's "clear linear boundary" gets numbers: cross-validated
// logistic-regression accuracy of biotic vs abiotic and k-NN purity, computed in each ORIGINAL
// high-dimensional space (not in the 2-D maps, which only illustrate).
//
// Points: every test item (averaged repeats) plus the training samples (all, or a seeded subset of
// max_train). Raw fMRI = the run's packed voxels, flattened [N, R*P] and z-scored per voxel with
// the training rows' statistics.
#include <torch/torch.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "brainsem/data/wordnet.h"
#include "brainsem/train/study.h"
#include "brainsem/viz/separability.h"

namespace brainsem::report {

struct MapOptions {
  std::string method = "both";   // tsne | isomap | both
  uint64_t seed = 0;
  int64_t max_train = -1;        // training samples kept (-1: all)
  int64_t tsne_iterations = 1000;
  double perplexity = 30;
  int64_t isomap_neighbors = 10;
  int64_t folds = 5;             // logistic-regression CV folds
  double c = 1.0;                // inverse L2 penalty
  int64_t knn = 10;
};

struct SpaceMetrics {
  std::string space;             // raw_fmri | brainsem | clip
  int64_t dims = 0;              // dimension of the original space the metrics use
  viz::CvAccuracy logistic;      // biotic vs abiotic
  double knn_purity_biotic = 0;  // k-NN purity of the biotic/abiotic label
  double knn_purity_class = 0;   // k-NN purity of the object class
};

struct MapEntry {
  std::string space, method;     // e.g. "brainsem", "tsne"
  torch::Tensor coords;          // [M, 2]
  std::vector<int64_t> rows;     // point rows embedded (ISOMAP may drop a disconnected part)
  double kl = 0;                 // t-SNE only
};

struct MapStudy {
  std::vector<std::string> names, classes, split;  // per point; split "train" | "test"
  std::vector<int> biotic;                         // per point, 1 = biotic
  double majority_rate = 0;                        // accuracy of always guessing the larger group
  std::vector<SpaceMetrics> metrics;
  std::vector<MapEntry> maps;
  MapOptions options;
  nlohmann::json to_json() const;  // metrics and options (coordinates go to CSV)
};

// Biotic (1) / abiotic (0) for each class; throws naming a class WordNet does not know.
std::vector<int> biotic_labels(const data::WordNet& wn, const std::vector<std::string>& classes);

// The three spaces from explicit matrices (rows = points); used by run_map_study and by tests.
MapStudy map_study(const std::vector<std::pair<std::string, torch::Tensor>>& spaces, const std::vector<std::string>& names,
                   const std::vector<std::string>& classes, const std::vector<std::string>& split,
                   const std::vector<int>& biotic, const MapOptions& options);

MapStudy run_map_study(train::TrainedRun& run, const data::WordNet& wn, const MapOptions& options);

// DIR/maps.json (metrics), DIR/<space>_<method>.{png,svg,csv}, DIR/maps_<method>.png (all three
// side by side is left to the report; each map is its own file), atomically.
void write_map_study(const std::filesystem::path& dir, const MapStudy& m);

}  // namespace brainsem::report
