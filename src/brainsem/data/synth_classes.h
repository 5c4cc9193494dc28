#pragma once
// The 200 real GOD classes and their semantic centres for the synthetic dataset
// (docs/synthetic_data.md §2).
//
// Centres are real CLIP ViT-B/32 text embeddings of ImageNet-1k classes (embedded resource
// semantic_vitb32, rows in the order of imagenet_classes). 59 train and 20 test GOD synsets are
// ImageNet-1k classes and use their own row. For the others, the vendored table
// data/synth/god_class_centres.tsv (resource synth_class_centres) lists the ImageNet-1k synsets
// nearest in WordNet path distance; the centre is the normalised mean of their rows plus a
// small class-specific perturbation. derive_class_table() regenerates the table from WordNet
// (tests/data/synth_test.cpp checks that it matches the vendored copy).
#include <torch/torch.h>

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "brainsem/data/god_stimuli.h"
#include "brainsem/data/wordnet.h"

namespace brainsem::data {

struct GodClass {
  std::string wnid;                     // e.g. "n01443537"
  std::string split;                    // "train" or "test"
  int category_index = 0;               // 1..150 (train) or 1..50 (test), as in the GOD tables
  std::string name;                     // first WordNet lemma
  std::string source;                   // "imagenet" (own row) or "wordnet" (neighbours' mean)
  int distance = 0;                     // WordNet path distance to the neighbours (0 = itself)
  std::vector<std::string> neighbours;  // ImageNet-1k wnids whose embeddings define the centre
  bool animate = false;                 // animal.n.01 or person.n.01 hyponym (FFA gain)
  bool place = false;                   // structure / geological_formation / location (PPA gain)
};

// TSV text of the class-centre table (header + 200 rows: 150 train then 50 test classes, each in
// category_index order), computed from WordNet and the ImageNet-1k class list.
std::string derive_class_table(const WordNet& wordnet);
std::vector<GodClass> parse_class_table(std::string_view text, const std::string& where);
// The vendored table (resource synth_class_centres).
std::vector<GodClass> god_classes();

struct ImageNetText {
  std::vector<std::string> wnids;  // [1000], row order of `embeddings`
  std::vector<std::string> names;  // [1000]
  torch::Tensor embeddings;        // [1000, 512] float32, rows normalised to unit length
  std::unordered_map<std::string, int64_t> row;
};
// The embedded CLIP ViT-B/32 text embeddings of the ImageNet-1k classes (parsed once).
const ImageNetText& imagenet_text();

// Unit-length centres [n, 512] float32 for `classes`, in order. A class in ImageNet-1k gets its
// own embedding exactly; another gets normalise(m + jitter * g / sqrt(512)), m = the normalised
// mean of its neighbours' embeddings and g ~ N(0, I) from a stream keyed by `geometry_seed` and
// the wnid (so a class's centre does not depend on which other classes are present).
torch::Tensor class_centres(const std::vector<GodClass>& classes, double jitter, uint64_t geometry_seed);

}  // namespace brainsem::data
