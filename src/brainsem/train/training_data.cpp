#include "brainsem/train/training_data.h"

#include <map>
#include <set>

#include "brainsem/core/error.h"

namespace brainsem::train {

TrainingData make_training_data(const data::SubjectData& subject, const data::FeatureStore& stimuli,
                                const data::FeatureStore* library) {
  TrainingData d;
  d.x = subject.train_x.to(torch::kFloat32);
  BRAINSEM_CHECK(d.x.size(0) > 0, subject.source, ": no training samples");
  BRAINSEM_CHECK(torch::isfinite(d.x).all().item<bool>(), subject.source, ": training fMRI contains NaN or Inf");
  BRAINSEM_CHECK(static_cast<int64_t>(subject.train_classes.size()) == d.x.size(0) &&
                     subject.train_names.size() == subject.train_classes.size(),
                 subject.source, ": ", d.x.size(0), " training rows but ", subject.train_classes.size(),
                 " class labels");
  std::map<std::string, int64_t> class_index;
  for (const auto& c : subject.train_classes)
    if (!class_index.count(c)) {
      class_index[c] = static_cast<int64_t>(d.class_names.size());
      d.class_names.push_back(c);
    }
  d.rows_of_class.resize(d.class_names.size());
  for (size_t i = 0; i < subject.train_classes.size(); ++i) {
    int64_t c = class_index[subject.train_classes[i]];
    d.sample_class.push_back(c);
    d.rows_of_class[c].push_back(static_cast<int64_t>(i));
  }
  auto rows = stimuli.rows_of_names(subject.train_names,
                                    "stimulus feature store " + stimuli.encoder + " for " + subject.source);
  d.sample_feature = stimuli.features.index_select(0, torch::tensor(rows, torch::kInt64)).to(torch::kFloat32).clone();

  if (library != nullptr) {
    stimuli.check_compatible(*library, "stimulus and library feature stores");
    std::set<std::string> test_classes(subject.test_classes.begin(), subject.test_classes.end());
    std::vector<int64_t> keep;
    for (int64_t i = 0; i < library->size(); ++i) {
      const auto& c = library->classes[i];
      BRAINSEM_CHECK(!test_classes.count(c), "semantic library contains class ", c, " (image '", library->names[i],
                     "'), which is a test class of ", subject.source,
                     "; zero-shot needs disjoint classes: rebuild the library without test classes");
      auto it = class_index.find(c);
      if (it == class_index.end()) continue;
      keep.push_back(i);
      d.library_class.push_back(it->second);
    }
    d.library_rows_of_class.resize(d.class_names.size());
    for (size_t j = 0; j < d.library_class.size(); ++j)
      d.library_rows_of_class[d.library_class[j]].push_back(static_cast<int64_t>(j));
    for (size_t c = 0; c < d.class_names.size(); ++c)
      BRAINSEM_CHECK(!d.library_rows_of_class[c].empty(), "semantic library has no image of training class ",
                     d.class_names[c], "; add images of every training class or train with --no-library");
    d.library = library->features.to(torch::kFloat32);  // stores are float32: no copy
    d.library_rows = std::move(keep);
  }
  return d;
}

torch::Tensor class_library_targets(const TrainingData& d) {
  BRAINSEM_CHECK(d.library.defined(),
                 "class-library ridge targets need the semantic library; pass --library or "
                 "use --ridge-targets stimulus");
  const int64_t classes = d.num_classes();
  std::vector<torch::Tensor> means(static_cast<size_t>(classes));
  for (int64_t c = 0; c < classes; ++c) {
    std::vector<int64_t> rows;
    for (auto j : d.library_rows_of_class[static_cast<size_t>(c)])
      rows.push_back(d.library_rows[static_cast<size_t>(j)]);
    const auto images = d.library.index_select(0, torch::tensor(rows, torch::kInt64)).to(torch::kFloat64);  // [L_c, E]
    means[static_cast<size_t>(c)] =
        torch::nn::functional::normalize(images, torch::nn::functional::NormalizeFuncOptions().dim(1)).mean(0);
  }
  return torch::stack(means).index_select(0, torch::tensor(d.sample_class, torch::kInt64)).to(torch::kFloat32);
}

}  // namespace brainsem::train
