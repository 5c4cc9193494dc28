// Fig. 5 map study: a linearly separable space scores 1, a label-free one about chance.
#include <gtest/gtest.h>

#include <filesystem>

#include "brainsem/core/error.h"
#include "brainsem/data/wordnet.h"
#include "brainsem/report/embedding_map_study.h"
#include "testing/paths.h"

using namespace brainsem::report;

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
  EXPECT_DOUBLE_EQ(m.metrics[0].logistic.mean, 1.0);
  EXPECT_DOUBLE_EQ(m.metrics[0].knn_purity_biotic, 1.0);
  EXPECT_EQ(m.metrics[0].dims, 5);
  EXPECT_LT(m.metrics[1].logistic.mean, 0.75);  // no signal: near 0.5
  EXPECT_LT(m.metrics[1].knn_purity_biotic, 0.7);
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
  if (!brainsem::data::WordNet::available()) GTEST_SKIP() << "wordnet-base not installed";
  auto wn = brainsem::data::WordNet::load();
  // goldfish, tabby cat, grand piano, iPod.
  auto b = biotic_labels(wn, {"n01443537", "n02123045", "n03452741", "n03584254"});
  EXPECT_EQ(b, (std::vector<int>{1, 1, 0, 0}));
  EXPECT_THROW(biotic_labels(wn, {"n99999999"}), brainsem::Error);
}
