#include "brainsem/data/god_stimuli.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "brainsem/core/error.h"
#include "testing/paths.h"

using namespace brainsem::data;

namespace {

// The shared/god tables read independently of the embedded copies: (name, id text, cat, index).
std::vector<std::vector<std::string>> read_shared_tsv(const std::string& file) {
  std::ifstream in(brainsem::testing::shared_dir() / "god" / file);
  std::vector<std::vector<std::string>> rows;
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::stringstream ss(line);
    std::string x;
    while (std::getline(ss, x, '\t')) f.push_back(x);
    rows.push_back(f);
  }
  return rows;
}

uint64_t bits(double x) {
  uint64_t u;
  std::memcpy(&u, &x, 8);
  return u;
}

}  // namespace

TEST(GodStimuli, DecodesAndEncodesAll1250TableIdsExactly) {
  BRAINSEM_REQUIRE_SHARED("god/god_stimulus_ImageNetTraining.tsv");
  int checked = 0;
  for (const char* file : {"god_stimulus_ImageNetTraining.tsv", "god_stimulus_ImageNetTest.tsv"}) {
    for (const auto& f : read_shared_tsv(file)) {
      ASSERT_EQ(f.size(), 4u);
      const double id = std::strtod(f[1].c_str(), nullptr);
      EXPECT_EQ(god_stimulus_name(id), f[0]) << f[1];
      EXPECT_EQ(bits(god_stimulus_id(f[0])), bits(id)) << f[0];  // the same float64, bit for bit
      ++checked;
    }
  }
  EXPECT_EQ(checked, 1250);
}

TEST(GodStimuli, EmbeddedTablesMatchTheSharedFilesAndAreLexicographic) {
  BRAINSEM_REQUIRE_SHARED("god/god_stimulus_ImageNetTest.tsv");
  const auto& train = god_training_stimuli();
  const auto& test = god_test_stimuli();
  ASSERT_EQ(train.size(), 1200u);
  ASSERT_EQ(test.size(), 50u);
  auto shared_train = read_shared_tsv("god_stimulus_ImageNetTraining.tsv");
  for (size_t i = 0; i < train.size(); ++i) {
    EXPECT_EQ(train[i].name, shared_train[i][0]);
    EXPECT_EQ(train[i].image_index, static_cast<int64_t>(i) + 1);
    EXPECT_EQ(train[i].category_index, std::stoll(shared_train[i][2]));
  }
  auto by_name = [](const GodStimulus& a, const GodStimulus& b) { return a.name < b.name; };
  auto by_id = [](const GodStimulus& a, const GodStimulus& b) { return a.stimulus_id < b.stimulus_id; };
  EXPECT_TRUE(std::is_sorted(train.begin(), train.end(), by_name));
  // The trap the ref doc warns about: numeric id order differs from table order.
  EXPECT_FALSE(std::is_sorted(train.begin(), train.end(), by_id));
  EXPECT_EQ(train[1].name, "n01518878_12028");
  EXPECT_EQ(train[4].name, "n01518878_5958");
  // 150 training classes x 8 images, 50 test classes x 1, disjoint.
  std::map<std::string, int> per_class;
  for (const auto& s : train) ++per_class[s.synset()];
  EXPECT_EQ(per_class.size(), 150u);
  for (const auto& [c, n] : per_class) EXPECT_EQ(n, 8) << c;
  std::set<std::string> test_classes;
  for (const auto& s : test) test_classes.insert(s.synset());
  EXPECT_EQ(test_classes.size(), 50u);
  for (const auto& c : test_classes) EXPECT_EQ(per_class.count(c), 0u) << c;
  EXPECT_EQ(find_god_stimulus("n01443537_22563"), &test[0]);
  EXPECT_EQ(find_god_stimulus("n01518878_10042"), &train[0]);
  EXPECT_EQ(find_god_stimulus("n99999999_1"), nullptr);
}

TEST(GodStimuli, TestClassNamesAndInfoFollowTheTestTable) {
  const auto& classes = god_test_classes();
  const auto& info = god_test_image_info();
  ASSERT_EQ(classes.size(), 50u);
  ASSERT_EQ(info.size(), 50u);
  EXPECT_EQ(classes[0].synset, "n01443537");
  EXPECT_EQ(classes[0].category, "goldfish");
  for (size_t i = 0; i < 50; ++i) {
    EXPECT_EQ(classes[i].synset, god_test_stimuli()[i].synset());
    EXPECT_EQ(info[i].name, god_test_stimuli()[i].name);
  }
  EXPECT_TRUE(info[0].image_in_ilsvrc_train);  // n01443537_22563,Yes,No,Yes
  EXPECT_FALSE(info[0].image_in_ilsvrc_val);
  EXPECT_FALSE(info[1].category_in_ilsvrc_train);  // n01621127_19020,No,No,No
}

TEST(GodStimuli, HandlesEdgeCasesAndRejectsNonIds) {
  EXPECT_EQ(god_stimulus_name(1518878.005091), "n01518878_5091");
  EXPECT_EQ(god_stimulus_name(13111881.00917), "n13111881_9170");  // trailing zero dropped in the text
  EXPECT_EQ(god_stimulus_name(1443537.0), "n01443537");            // imagery rows: category id
  EXPECT_EQ(god_stimulus_id("n01443537"), 1443537.0);
  EXPECT_EQ(god_synset_of("n01518878_5091"), "n01518878");
  for (double bad : {std::nan(""), -1.0, 0.0, 2e8, 1518878.0000004, 1518878.1234567})
    EXPECT_THROW(god_stimulus_name(bad), brainsem::Error) << bad;
  for (const char* bad : {"", "x01518878_1", "n0151887a_1", "n01518878_", "n01518878_1234567", "n123456789_1"})
    EXPECT_THROW(god_stimulus_id(bad), brainsem::Error) << bad;
}
