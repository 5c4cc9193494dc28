#pragma once
// Fig. 5: ISOMAP and t-SNE maps of raw fMRI, BrainSem brain embeddings and CLIP image features,
// coloured biotic vs abiotic (WordNet: a class is biotic when it is a hyponym of
// living_thing.n.01). The paper's "clear linear boundary" gets numbers: cross-validated
// logistic-regression accuracy of biotic vs abiotic and k-NN purity, computed in each ORIGINAL
// high-dimensional space (not in the 2-D maps, which only illustrate).
//
// The numbers are computed separately for the training-class samples and for the test items (test
// classes, never seen in training), and both are honest about classes: the cross-validation folds
// are grouped by class (no class in both the training and the held-out part, so class identity
// cannot stand in for the label), and the biotic k-NN purity counts only neighbours of other
// classes. The class k-NN purity keeps same-class neighbours (it measures class clustering) and is
// undefined where no class has two points (the GOD test set: one image per class).
//
// Points: every test item (averaged repeats) plus the training samples (all, or a seeded subset of
// max_train). Raw fMRI = the run's packed voxels, flattened [N, R*P] and z-scored per voxel with
// the training rows' statistics.
#include <torch/torch.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "brainsem/data/wordnet.h"
#include "brainsem/experiment/study.h"
#include "brainsem/viz/separability.h"

namespace brainsem::analysis {

struct MapOptions {
  std::string method = "both";  // tsne | isomap | both
  uint64_t seed = 0;
  int64_t max_train = -1;  // training samples kept (-1: all)
  int64_t tsne_iterations = 1000;
  double perplexity = 30;
  int64_t isomap_neighbors = 10;
  int64_t folds = 5;  // logistic-regression CV folds
  double c = 1.0;     // inverse L2 penalty
  int64_t knn = 10;
};

// The metrics of one subset of the points (training-class samples or test-class items).
struct SubsetMetrics {
  int64_t points = 0, classes = 0, biotic_points = 0;
  double majority_rate = 0;                 // chance level of the logistic accuracy
  int64_t folds = 0;                        // class-grouped folds used: min(options.folds, classes)
  int64_t knn = 0;                          // k used: min(options.knn, the fewest other-class points)
  std::optional<viz::CvAccuracy> logistic;  // biotic vs abiotic, class-grouped CV
  std::optional<double> knn_purity_biotic;  // biotic/abiotic label among other-class neighbours
  std::optional<double> knn_purity_class;   // object class among all neighbours
  std::string note;                         // why a metric is missing (empty when none is)
  nlohmann::json to_json() const;
};

struct SpaceMetrics {
  std::string space;            // raw_fmri | brainsem | clip
  int64_t dims = 0;             // dimension of the original space the metrics use
  SubsetMetrics train_classes;  // points with split "train"
  SubsetMetrics test_classes;   // points with split "test" (unseen classes)
};

// The metrics of points x [M, D] with biotic labels and classes (one subset).
SubsetMetrics subset_metrics(const torch::Tensor& x, const std::vector<int>& biotic,
                             const std::vector<std::string>& classes, const MapOptions& options);

struct MapEntry {
  std::string space, method;  // e.g. "brainsem", "tsne"
  torch::Tensor coords;       // [M, 2]
  std::vector<int64_t> rows;  // point rows embedded (ISOMAP may drop a disconnected part)
  double kl = 0;              // t-SNE only
};

struct MapStudy {
  std::vector<std::string> names, classes, split;  // per point; split "train" | "test"
  std::vector<int> biotic;                         // per point, 1 = biotic
  double majority_rate = 0;                        // of all points: always guessing the larger group
  std::vector<SpaceMetrics> metrics;
  std::vector<MapEntry> maps;
  MapOptions options;
  nlohmann::json to_json() const;  // metrics and options (coordinates go to CSV)
};

// Biotic (1) / abiotic (0) for each class; throws naming a class WordNet does not know.
std::vector<int> biotic_labels(const data::WordNet& wn, const std::vector<std::string>& classes);

// The three spaces from explicit matrices (rows = points); used by run_map_study and by tests.
MapStudy map_study(const std::vector<std::pair<std::string, torch::Tensor>>& spaces,
                   const std::vector<std::string>& names, const std::vector<std::string>& classes,
                   const std::vector<std::string>& split, const std::vector<int>& biotic, const MapOptions& options);

MapStudy run_map_study(experiment::TrainedRun& run, const data::WordNet& wn, const MapOptions& options);

// DIR/maps.json (metrics), DIR/<space>_<method>.{png,svg,csv}, DIR/maps_<method>.png (all three
// side by side is left to the report; each map is its own file), atomically.
void write_map_study(const std::filesystem::path& dir, const MapStudy& m);

}  // namespace brainsem::analysis
