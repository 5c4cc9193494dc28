#pragma once
// What a training run sees, assembled from a subject and feature stores (and checked): the real
// samples with their classes and stimulus features, and the semantic library.
#include <torch/torch.h>

#include <string>
#include <vector>

#include "brainsem/data/feature_store.h"
#include "brainsem/data/subject.h"

namespace brainsem::train {

struct TrainingData {
  torch::Tensor x;                    // [N, R, P] float32 real training samples
  std::vector<int64_t> sample_class;  // [N] class index in [0, C)
  torch::Tensor sample_feature;       // [N, E] feature of each sample's own stimulus image
  // The semantic library: `library` holds the library store's rows as they are (a view of its
  // memory mapping, not a copy: ImageNet-sized libraries stay on disk until a batch gathers them);
  // the L images used are library[library_rows[j]], j in [0, L). Undefined when absent.
  torch::Tensor library;                                    // [S, E] float32
  std::vector<int64_t> library_rows;                        // [L] row of `library` of image j
  std::vector<int64_t> library_class;                       // [L]
  std::vector<std::string> class_names;                     // [C] class ids (synsets)
  std::vector<std::vector<int64_t>> rows_of_class;          // [C] rows of x per class
  std::vector<std::vector<int64_t>> library_rows_of_class;  // [C] images j (not store rows) per class

  int64_t num_classes() const { return static_cast<int64_t>(class_names.size()); }
};

// Joins the subject's training rows to their stimulus features (by image name) and the library
// (by class). Refuses: images missing from the stimulus store, stores from different encoders, a
// library that contains any of the subject's test classes (leakage), and (when the library is
// used) a training class with no library image. Library images of classes the subject does not
// train on are ignored.
// Each real sample's class-level target [N, E] float32: the mean of its class's L2-normalised
// library images (the regression's "class-library" targets). Refused without a library.
torch::Tensor class_library_targets(const TrainingData& d);

TrainingData make_training_data(const data::SubjectData& subject, const data::FeatureStore& stimuli,
                                const data::FeatureStore* library);

}  // namespace brainsem::train
