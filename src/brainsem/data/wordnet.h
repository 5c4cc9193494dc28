#pragma once
// WordNet 3.0 noun hierarchy from Debian's wordnet-base (/usr/share/wordnet/data.noun). ImageNet
// wnids are WordNet 3.0 noun offsets: "n01443537" is offset 01443537 in data.noun.
#include <filesystem>
#include <string>
#include <unordered_map>
#include <vector>

namespace brainsem::data {

class WordNet {
 public:
  // Parses data.noun under `dir`. Throws brainsem::Error (with "apt-get install wordnet-base")
  // when it is missing.
  static WordNet load(const std::filesystem::path& dir = "/usr/share/wordnet");
  static bool available(const std::filesystem::path& dir = "/usr/share/wordnet");

  bool contains(const std::string& wnid) const;
  // First lemma with '_' turned into ' ' (e.g. "goldfish").
  std::string name(const std::string& wnid) const;
  // Direct hypernyms (@ and @i pointers), as wnids.
  const std::vector<std::string>& hypernyms(const std::string& wnid) const;
  // True if `ancestor` is `wnid` or reachable through hypernym pointers.
  bool is_a(const std::string& wnid, const std::string& ancestor) const;
  // Length of the shortest hypernym/hyponym path between two synsets (-1 if none).
  int path_distance(const std::string& a, const std::string& b) const;

 private:
  struct Synset {
    std::string name;
    std::vector<std::string> hypernyms;
  };
  std::unordered_map<std::string, Synset> synsets_;
};

// living_thing.n.01 = n00004258: biotic categories are its hyponyms.
inline constexpr const char* kLivingThing = "n00004258";

}  // namespace brainsem::data
