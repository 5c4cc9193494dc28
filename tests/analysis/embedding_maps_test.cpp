// Fig. 5 map study: a linearly separable space scores 1, a label-free one about chance.
#include <gtest/gtest.h>

#include <filesystem>

#include "brainsem/analysis/embedding_maps.h"
#include "brainsem/core/error.h"
#include "brainsem/data/wordnet.h"
#include "testing/paths.h"

using namespace brainsem::analysis;

TEST(MapStudy, SeparableSpaceScoresOneNoiseScoresNearChance) {
  const int n = 80;
  torch::manual_seed(3);
  std::vector<std::string> names, classes, split;
  std::vector<int> biotic;
  for (int i = 0; i < n; ++i) {
    names.push_back("p" + std::to_string(i));
    classes.push_back("k" + std::to_string(i % 8));  // classes 0-3 biotic, 4-7 abiotic
    biotic.push_back(i % 8 < 4);
    split.push_back(i < 10 ? "test" : "train");
  }
  auto sep = torch::randn({n, 5});
  for (int i = 0; i < n; ++i) sep[i][0] += biotic[i] ? 6.0 : -6.0;
  auto noise = torch::randn({n, 5});
  MapOptions o;
  o.method = "both";
  o.tsne_iterations = 300;
  o.perplexity = 10;
  o.knn = 5;
  auto m = map_study({{"sep", sep}, {"noise", noise}}, names, classes, split, biotic, o);
  ASSERT_EQ(m.metrics.size(), 2u);
  EXPECT_DOUBLE_EQ(m.majority_rate, 0.5);
  const auto& train = m.metrics[0].train_classes;
  EXPECT_EQ(train.points, 70);
  EXPECT_EQ(train.classes, 8);
  EXPECT_EQ(train.folds, 5);
  ASSERT_TRUE(train.logistic && train.knn_purity_biotic && train.knn_purity_class);
  EXPECT_DOUBLE_EQ(train.logistic->mean, 1.0);
  EXPECT_DOUBLE_EQ(*train.knn_purity_biotic, 1.0);
  // The 10 test points (classes k0..k7, k0 and k1 twice; 6 biotic) are scored on their own.
  const auto& test = m.metrics[0].test_classes;
  EXPECT_EQ(test.points, 10);
  EXPECT_EQ(test.classes, 8);
  EXPECT_EQ(test.biotic_points, 6);
  EXPECT_DOUBLE_EQ(test.majority_rate, 0.6);
  EXPECT_EQ(test.knn, 5);  // min(5, 10 points - 2 in the largest class)
  ASSERT_TRUE(test.logistic);
  EXPECT_DOUBLE_EQ(test.logistic->mean, 1.0);
  EXPECT_EQ(m.metrics[0].dims, 5);
  ASSERT_TRUE(m.metrics[1].train_classes.logistic);
  EXPECT_LT(m.metrics[1].train_classes.logistic->mean, 0.75);  // no signal: near 0.5
  EXPECT_LT(*m.metrics[1].train_classes.knn_purity_biotic, 0.7);
  ASSERT_EQ(m.maps.size(), 4u);  // 2 spaces x (tsne, isomap)
  EXPECT_EQ(m.maps[0].coords.size(0), n);
  EXPECT_EQ(m.maps[0].coords.size(1), 2);
  brainsem::testing::TempDir tmp;
  write_map_study(tmp / "maps", m);
  for (const char* f : {"maps.json", "sep_tsne.png", "sep_tsne.svg", "sep_tsne.csv", "noise_isomap.png"})
    EXPECT_TRUE(std::filesystem::exists(tmp / "maps" / f)) << f;
  // Deterministic for a seed.
  auto again = map_study({{"sep", sep}}, names, classes, split, biotic, o);
  EXPECT_TRUE(torch::equal(again.maps[0].coords, m.maps[0].coords));
  // One-sided labels are refused.
  std::vector<int> all(n, 1);
  EXPECT_THROW(map_study({{"sep", sep}}, names, classes, split, all, o), brainsem::Error);
  o.method = "pca";
  EXPECT_THROW(map_study({{"sep", sep}}, names, classes, split, biotic, o), brainsem::Error);
}

TEST(MapStudy, BioticLabelsFromWordNet) {
  if (!brainsem::data::WordNet::available())
    BRAINSEM_MISSING_FIXTURE(
        std::string("wordnet-base not installed: run scripts/install_deps.sh (or apt-get install wordnet-base)"));
  auto wn = brainsem::data::WordNet::load();
  // goldfish, tabby cat, grand piano, iPod.
  auto b = biotic_labels(wn, {"n01443537", "n02123045", "n03452741", "n03584254"});
  EXPECT_EQ(b, (std::vector<int>{1, 1, 0, 0}));
  EXPECT_THROW(biotic_labels(wn, {"n99999999"}), brainsem::Error);
}

TEST(MapStudy, ClassIdentityDoesNotPassForABioticBoundary) {
  // 30 training classes x 4 samples around random class centres in 40-D, the biotic label of a
  // class arbitrary, plus 30 test items of 30 further classes (one each, as GOD's test set) that
  // carry the biotic label on dimensions 0-9. Class-grouped CV puts the training-class space at
  // chance although each class is tight (ungrouped CV would "find" a boundary by recognising the
  // classes), and the test classes, reported separately, are separable.
  torch::manual_seed(4);
  std::vector<std::string> names, classes, split;
  std::vector<int> biotic;
  std::vector<torch::Tensor> rows;
  for (int c = 0; c < 30; ++c) {
    auto centre = 3 * torch::randn({40});
    for (int i = 0; i < 4; ++i) {
      names.push_back("tr" + std::to_string(c) + "_" + std::to_string(i));
      classes.push_back("c" + std::to_string(c));
      split.push_back("train");
      biotic.push_back(c % 2);
      rows.push_back(centre + 0.3 * torch::randn({40}));
    }
  }
  for (int c = 0; c < 30; ++c) {
    names.push_back("te" + std::to_string(c));
    classes.push_back("t" + std::to_string(c));
    split.push_back("test");
    biotic.push_back(c % 2);
    auto x = torch::randn({40});
    x.narrow(0, 0, 10) += c % 2 ? 3.0 : -3.0;  // the label along a direction of length 9.5
    rows.push_back(x);
  }
  MapOptions o;
  o.method = "tsne";
  o.tsne_iterations = 50;
  o.perplexity = 10;
  o.knn = 3;
  auto m = map_study({{"space", torch::stack(rows)}}, names, classes, split, biotic, o);
  const auto& train = m.metrics[0].train_classes;
  const auto& test = m.metrics[0].test_classes;
  EXPECT_EQ(train.points, 120);
  EXPECT_EQ(test.points, 30);
  ASSERT_TRUE(train.logistic && test.logistic);
  EXPECT_NEAR(train.logistic->pooled, 0.5, 0.2);
  EXPECT_NEAR(*train.knn_purity_biotic, 0.5, 0.2);  // other-class neighbours: a coin flip
  EXPECT_DOUBLE_EQ(*train.knn_purity_class, 1.0);   // yet every class is a tight cluster
  EXPECT_GT(test.logistic->pooled, 0.9);
  EXPECT_FALSE(test.knn_purity_class.has_value());  // one item per test class
  EXPECT_NE(test.note.find("one point"), std::string::npos) << test.note;
  auto j = m.to_json();
  EXPECT_TRUE(j["metrics"][0]["test_classes"]["knn_purity_class"].is_null());
  EXPECT_EQ(j["metrics"][0]["train_classes"]["classes"], 30);
}
