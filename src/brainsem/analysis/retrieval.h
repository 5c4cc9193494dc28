#pragma once
// Fig. 3: image retrieval by fMRI. Each test brain embedding ranks a pool of
// images from a feature store by cosine similarity; a retrieved image counts as correct when its
// class equals the test image's class (the test classes are unseen in training: zero-shot).
//
// The pool: the store's rows minus (a) the test stimuli themselves, by name, and (b) any row
// whose feature is a near-duplicate (cosine >= duplicate_cosine) of a test stimulus feature
// (the leakage guard: a copy of a test image under another name); then a seeded random subset
// of `subset` rows (the paper: a random 10k subset of ImageNet-1k).
#include <torch/torch.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "brainsem/data/feature_store.h"
#include "brainsem/experiment/study.h"

namespace brainsem::analysis {

struct RetrievalOptions {
  int64_t k = 10;
  int64_t subset = 10000;  // pool size after exclusions (all rows when the store is smaller)
  uint64_t seed = 0;
  double duplicate_cosine = 0.999;  // rows this close to a test stimulus are excluded
  int64_t block_rows = 8192;        // store rows scored at once (memory, not results, depends on it)
};

struct RetrievalHit {
  std::string name, cls;
  double similarity = 0;
};

struct RetrievalItem {
  std::string name, cls;           // the test stimulus
  std::vector<RetrievalHit> hits;  // top-k, best first
  int64_t class_rank = 0;          // rank of the first true-class image, eval/ranks.h (0: none in pool)
  int64_t class_in_pool = 0;       // images of the true class in the pool
  double precision = 0;            // fraction of the k hits of the true class
  bool hit = false;                // any of the k hits of the true class
};

struct RetrievalResult {
  std::vector<RetrievalItem> items;
  int64_t k = 0, pool = 0, store_rows = 0, excluded_names = 0, excluded_duplicates = 0;
  double recall_at_k = 0;         // fraction of test items with a true-class image in the top k
  double precision_at_k = 0;      // mean precision over items
  double mean_class_rank = 0;     // mean class_rank over items whose class is in the pool
  double chance_recall_at_k = 0;  // expected recall@k of a random ranking (hypergeometric)
  std::string store;              // description of the store
  nlohmann::json to_json() const;
};

// queries [N, E] (brain embeddings of the test items, in `names`/`classes` order);
// test_features [N_t, E] are the test stimuli's own features (for the duplicate guard).
RetrievalResult retrieve(const torch::Tensor& queries, const std::vector<std::string>& names,
                         const std::vector<std::string>& classes, const data::FeatureStore& store,
                         const torch::Tensor& test_features, const RetrievalOptions& options);

// The default pool for a study: its training and test-class libraries concatenated (every
// class, so wrong retrievals can come from the training classes), or the stimulus store when the
// study has no library. *description says which.
data::FeatureStore default_retrieval_store(const experiment::LoadedStudy& study, std::string* description);

// Retrieval of a trained run's test set (brain embeddings of study.subject.test_x).
RetrievalResult retrieve_run(experiment::TrainedRun& run, const data::FeatureStore& store,
                             const std::string& description, const RetrievalOptions& options);

// DIR/retrieval.json (summary + every item) and DIR/retrieval.csv (one row per hit), atomically.
void write_retrieval(const std::filesystem::path& dir, const RetrievalResult& result);

}  // namespace brainsem::analysis
