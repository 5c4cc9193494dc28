// make_training_data: the semantic library is the library store's memory mapping (rows picked by
// index, never copied), with every image of a trained class kept and the rest ignored.
#include <gtest/gtest.h>

#include "brainsem/data/feature_store.h"
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
