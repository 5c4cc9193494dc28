// WordNet 3.0 reader against facts checkable by hand in /usr/share/wordnet/data.noun.
#include "brainsem/data/wordnet.h"

#include <gtest/gtest.h>

#include <fstream>

#include "brainsem/core/error.h"
#include "testing/paths.h"

using brainsem::data::WordNet;

namespace {
const WordNet& wordnet() {
  static WordNet wn = WordNet::load();
  return wn;
}
#define REQUIRE_WORDNET()    \
  if (!WordNet::available()) \
  BRAINSEM_MISSING_FIXTURE(  \
      std::string("wordnet-base not installed: run scripts/install_deps.sh (or apt-get install wordnet-base)"))
}  // namespace

TEST(WordNet, NamesAndHypernyms) {
  REQUIRE_WORDNET();
  const WordNet& wn = wordnet();
  EXPECT_TRUE(wn.contains("n01443537"));
  EXPECT_FALSE(wn.contains("n99999999"));
  EXPECT_EQ(wn.name("n01443537"), "goldfish");
  EXPECT_EQ(wn.name("n02084071"), "dog");
  EXPECT_EQ(wn.name("n09287968"), "geological formation");  // '_' -> ' '
  // goldfish.n.01 -> cyprinid.n.01 (01439121)
  ASSERT_EQ(wn.hypernyms("n01443537").size(), 1u);
  EXPECT_EQ(wn.hypernyms("n01443537")[0], "n01439121");
  // dog.n.01 has two hypernyms: canine.n.02 (02083346) and domestic_animal.n.01 (01317541).
  auto h = wn.hypernyms("n02084071");
  EXPECT_EQ(h.size(), 2u);
  EXPECT_NE(std::find(h.begin(), h.end(), "n02083346"), h.end());
  EXPECT_NE(std::find(h.begin(), h.end(), "n01317541"), h.end());
  // Instance hypernyms (@i) count: Einstein (10954498) is an instance of physicist (10428004).
  auto e = wn.hypernyms("n10954498");
  EXPECT_NE(std::find(e.begin(), e.end(), "n10428004"), e.end());
  EXPECT_THROW(wn.hypernyms("n99999999"), brainsem::Error);
}

TEST(WordNet, IsA) {
  REQUIRE_WORDNET();
  const WordNet& wn = wordnet();
  EXPECT_TRUE(wn.is_a("n01443537", "n00015388"));  // goldfish is an animal
  EXPECT_TRUE(wn.is_a("n01443537", brainsem::data::kLivingThing));
  EXPECT_TRUE(wn.is_a("n01443537", "n01443537"));   // reflexive
  EXPECT_TRUE(wn.is_a("n01443537", "n00001740"));   // everything is an entity
  EXPECT_FALSE(wn.is_a("n03000134", "n00015388"));  // chainlink fence is not an animal
  EXPECT_TRUE(wn.is_a("n03000134", "n04341686"));   // ... it is a structure
  EXPECT_FALSE(wn.is_a("n99999999", "n00001740"));
}

TEST(WordNet, PathDistance) {
  REQUIRE_WORDNET();
  const WordNet& wn = wordnet();
  EXPECT_EQ(wn.path_distance("n01443537", "n01443537"), 0);
  EXPECT_EQ(wn.path_distance("n01443537", "n01439121"), 1);  // parent
  EXPECT_EQ(wn.path_distance("n01439121", "n01443537"), 1);  // symmetric
  // dog -> canine -> carnivore <- feline <- cat: 4 (NLTK: dog.path_similarity(cat) = 1/5).
  EXPECT_EQ(wn.path_distance("n02084071", "n02121620"), 4);
  EXPECT_EQ(wn.path_distance("n02084071", "n99999999"), -1);
}

TEST(WordNet, MissingDirectoryNamesThePackage) {
  brainsem::testing::TempDir tmp;
  EXPECT_FALSE(WordNet::available(tmp.path()));
  try {
    WordNet::load(tmp.path());
    FAIL() << "expected an error";
  } catch (const brainsem::Error& e) {
    EXPECT_NE(std::string(e.what()).find("apt-get install wordnet-base"), std::string::npos) << e.what();
  }
}

TEST(WordNet, ParsesAHandWrittenDatabase) {
  brainsem::testing::TempDir tmp;
  std::ofstream(tmp / "data.noun") << "  1 licence header line\n"
                                      "00000001 03 n 01 root 0 000 | the root\n"
                                      "00000002 03 n 02 left_child 0 lc 0 001 @ 00000001 n 0000 | a\n"
                                      "00000003 03 n 01 right 0 002 @ 00000001 n 0000 ~ 00000004 n 0000 | b\n"
                                      "00000004 03 n 01 leaf 0 001 @i 00000003 n 0000 | c\n";
  WordNet wn = WordNet::load(tmp.path());
  EXPECT_EQ(wn.name("n00000002"), "left child");
  EXPECT_EQ(wn.hypernyms("n00000003"), std::vector<std::string>{"n00000001"});  // '~' (hyponym) is not a hypernym
  EXPECT_EQ(wn.hypernyms("n00000004"), std::vector<std::string>{"n00000003"});
  EXPECT_EQ(wn.path_distance("n00000004", "n00000002"), 3);
  std::ofstream(tmp / "data.noun") << "00000001 03 n 01 root 0 005 @ 0000\n";
  EXPECT_THROW(WordNet::load(tmp.path()), brainsem::Error);
}
