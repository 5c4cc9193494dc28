// make_training_data: the semantic library is the library store's memory mapping (rows picked by
// index, never copied), with every image of a trained class kept and the rest ignored.
#include <gtest/gtest.h>

#include "brainsem/data/feature_store.h"
#include "brainsem/train/trainer.h"
#include "brainsem/train/training_data.h"
#include "testing/errors.h"
#include "testing/paths.h"

using namespace brainsem;

namespace {

data::FeatureStore store(const std::vector<std::string>& names, const std::vector<std::string>& classes) {
  data::FeatureStore s;
  s.names = names;
  s.classes = classes;
  s.features = torch::randn({static_cast<int64_t>(names.size()), 5});
  s.encoder = "test-encoder";
  s.preprocessing = "none";
  return s;
}

}  // namespace

TEST(TrainingData, LibraryIsTheMappedStoreWithRowsPickedByClass) {
  data::SubjectData subject;
  subject.source = "subject";
  subject.train_x = torch::randn({4, 2, 3});
  subject.train_names = {"s0", "s1", "s2", "s3"};
  subject.train_classes = {"a", "a", "b", "b"};
  subject.test_classes = {"t"};
  auto stimuli = store(subject.train_names, subject.train_classes);
  brainsem::testing::TempDir dir;
  // Class x is not trained on: its images are skipped, not copied.
  store({"l0", "l1", "l2", "l3", "l4"}, {"b", "x", "a", "b", "x"}).save(dir / "library.safetensors");
  auto library = data::FeatureStore::open(dir / "library.safetensors");

  auto d = train::make_training_data(subject, stimuli, &library);
  EXPECT_EQ(d.library.data_ptr(), library.features.data_ptr()) << "the library was copied";
  EXPECT_EQ(d.library_rows, (std::vector<int64_t>{0, 2, 3}));
  ASSERT_EQ(d.class_names, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(d.library_class, (std::vector<int64_t>{1, 0, 1}));
  EXPECT_EQ(d.library_rows_of_class, (std::vector<std::vector<int64_t>>{{1}, {0, 2}}));

  // A library image of a test class is leakage: refused.
  store({"l0", "l1"}, {"a", "t"}).save(dir / "leaky.safetensors");
  auto leaky = data::FeatureStore::open(dir / "leaky.safetensors");
  EXPECT_NE(brainsem::testing::error_of([&] {
              train::make_training_data(subject, stimuli, &leaky);
            }).find("semantic library contains class t"),
            std::string::npos);
}

// The regression's class-library targets, against a naive loop: each sample gets the mean of its
// class's L2-normalised library images (images of untrained classes play no part).
TEST(TrainingData, ClassLibraryTargetsAreEachClassMeanOfNormalisedLibraryImages) {
  data::SubjectData subject;
  subject.source = "subject";
  subject.train_x = torch::randn({3, 2, 3});
  subject.train_names = {"s0", "s1", "s2"};
  subject.train_classes = {"a", "b", "a"};
  subject.test_classes = {"t"};
  auto stimuli = store(subject.train_names, subject.train_classes);
  brainsem::testing::TempDir dir;
  auto lib = store({"l0", "l1", "l2", "l3"}, {"b", "a", "x", "a"});
  // Images of very different norms: an unnormalised mean would follow the largest one.
  lib.features = torch::tensor({{3.0F, 0.0F, 0.0F, 0.0F, 0.0F},
                                {0.0F, 10.0F, 0.0F, 0.0F, 0.0F},
                                {1.0F, 1.0F, 1.0F, 1.0F, 1.0F},
                                {0.0F, 0.0F, 0.5F, 0.0F, 0.0F}});
  lib.save(dir / "library.safetensors");
  auto library = data::FeatureStore::open(dir / "library.safetensors");
  const auto d = train::make_training_data(subject, stimuli, &library);
  const auto y = train::class_library_targets(d);  // [3, 5]
  const auto mean_a = torch::tensor({0.0F, 0.5F, 0.5F, 0.0F, 0.0F}),
             mean_b = torch::tensor({1.0F, 0.0F, 0.0F, 0.0F, 0.0F});
  ASSERT_EQ(y.sizes(), (std::vector<int64_t>{3, 5}));
  EXPECT_TRUE(torch::allclose(y[0], mean_a, 0, 1e-6)) << y;
  EXPECT_TRUE(torch::allclose(y[1], mean_b, 0, 1e-6)) << y;
  EXPECT_TRUE(torch::allclose(y[2], mean_a, 0, 1e-6)) << y;

  const auto without = train::make_training_data(subject, stimuli, nullptr);
  EXPECT_NE(brainsem::testing::error_of([&] { train::class_library_targets(without); }).find("pass --library"),
            std::string::npos);
}

TEST(TrainingData, TrainerRefusesLibraryRowsThatDoNotMatchTheLibrary) {
  data::SubjectData subject;
  subject.source = "subject";
  subject.train_x = torch::randn({2, 2, 3});
  subject.train_names = {"s0", "s1"};
  subject.train_classes = {"a", "b"};
  auto stimuli = store(subject.train_names, subject.train_classes);
  auto library = store({"l0", "l1"}, {"a", "b"});
  auto good = train::make_training_data(subject, stimuli, &library);
  train::TrainConfig cfg = train::random_start_config();  // two classes: no ridge CV, nothing to hold out
  cfg.library = true;
  EXPECT_NO_THROW(train::Trainer(cfg, good));
  auto missing = good;
  missing.library_rows.pop_back();
  EXPECT_NE(
      brainsem::testing::error_of([&] { train::Trainer(cfg, missing); }).find("1 library rows for 2 library classes"),
      std::string::npos);
  auto outside = good;
  outside.library_rows[1] = 2;
  EXPECT_NE(brainsem::testing::error_of([&] { train::Trainer(cfg, outside); }).find("library row 2 is outside [0, 2)"),
            std::string::npos);
}
