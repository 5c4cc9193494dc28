#pragma once
// GOD stimulus naming (docs/god_format.md §3):
//   stimulus_id = synset_int + image_int * 1e-6, e.g. n01518878_5091 <-> 1518878.005091
//   decode: syn = floor(x), img = llround((x - syn) * 1e6), name = "n%08d_%d"
// and the GOD stimulus tables compiled into the binary (core::resource). The tables are in
// lexicographic order of the names, so image_index (1-based row) is NOT stimulus_id order.
#include <cstdint>
#include <string>
#include <vector>

namespace brainsem::data {

struct GodStimulus {
  std::string name;            // "n01518878_10042"
  double stimulus_id = 0;      // 1518878.010042 (as parsed from the table text)
  int64_t category_index = 0;  // 1..150 (training) or 1..50 (test)
  int64_t image_index = 0;     // 1-based row in its table
  std::string synset() const;  // "n01518878"
};

// "nXXXXXXXX_N" for a GOD stimulus id. An id whose fractional part is not a whole number of
// millionths (or that is not finite/positive, or whose synset has more than 8 digits) throws.
// A whole number (imagery rows carry a category id) decodes to the bare synset "nXXXXXXXX".
std::string god_stimulus_name(double stimulus_id);
// The inverse: parses "nXXXXXXXX_N" (or a bare synset) like float("%d.%06d"); throws if malformed.
double god_stimulus_id(const std::string& name);
// The class (synset) of a stimulus name: the part before the first '_' ("n01518878").
std::string god_synset_of(const std::string& name);

// The embedded tables: 1200 training and 50 test stimuli in table (image_index) order.
const std::vector<GodStimulus>& god_training_stimuli();
const std::vector<GodStimulus>& god_test_stimuli();
// The table entry with this name, or nullptr (searches training then test).
const GodStimulus* find_god_stimulus(const std::string& name);

struct GodTestClass {
  std::string synset, category, word, gloss;  // god_test_synsets_names.tsv
};
const std::vector<GodTestClass>& god_test_classes();  // 50, in category_index order

struct GodTestImageInfo {  // god_stimulus_info_ImageNetTest.csv
  std::string name;
  bool image_in_ilsvrc_train = false, image_in_ilsvrc_val = false, category_in_ilsvrc_train = false;
};
const std::vector<GodTestImageInfo>& god_test_image_info();  // 50, in table order

}  // namespace brainsem::data
