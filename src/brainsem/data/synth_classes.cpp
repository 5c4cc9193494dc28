#include "brainsem/data/synth_classes.h"

#include <algorithm>
#include <cmath>
#include <mutex>
#include <set>
#include <sstream>

#include "brainsem/core/error.h"
#include "brainsem/core/resources.h"
#include "brainsem/data/synth_rng.h"
#include "brainsem/io/npy.h"

namespace brainsem::data {

namespace {

constexpr const char* kHeader = "wnid\tsplit\tcategory_index\tname\tsource\tdistance\tneighbours\tanimate\tplace";
// FFA is face/body selective: animals and people. PPA prefers scenes and large built or natural
// structures. WordNet 3.0 offsets.
constexpr const char* kAnimal = "n00015388";
constexpr const char* kPerson = "n00007846";
constexpr const char* kStructure = "n04341686";
constexpr const char* kGeoFormation = "n09287968";
constexpr const char* kLocation = "n00027167";

std::vector<std::string> split_on(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t pos = s.find(sep, start);
    out.emplace_back(s.substr(start, pos == std::string_view::npos ? std::string_view::npos : pos - start));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  return out;
}

std::vector<std::string> lines_of(std::string_view text) {
  std::vector<std::string> lines;
  for (auto& l : split_on(text, '\n')) {
    if (!l.empty() && l.back() == '\r') l.pop_back();
    if (!l.empty()) lines.push_back(l);
  }
  return lines;
}

// Distinct class wnids of a split with their category_index, in category_index order.
std::vector<std::pair<std::string, int>> split_classes(const std::string& split) {
  std::vector<std::pair<std::string, int>> out;
  std::set<std::string> seen;
  for (const auto& s : split == "train" ? god_training_stimuli() : god_test_stimuli())
    if (seen.insert(s.synset()).second) out.emplace_back(s.synset(), static_cast<int>(s.category_index));
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
  return out;
}

}  // namespace

const ImageNetText& imagenet_text() {
  static ImageNetText text;
  static std::once_flag once;
  std::call_once(once, [] {
    ImageNetText t;
    for (const auto& line : lines_of(core::resource("imagenet_classes"))) {
      auto f = split_on(line, '\t');
      BRAINSEM_CHECK(f.size() >= 3, "embedded imagenet_classes: malformed line '", line, "'");
      BRAINSEM_CHECK(std::stoll(f[0]) == static_cast<long long>(t.wnids.size()),
                     "embedded imagenet_classes: index column out of order at '", line, "'");
      t.row.emplace(f[1], static_cast<int64_t>(t.wnids.size()));
      t.wnids.push_back(f[1]);
      t.names.push_back(f[2]);
    }
    torch::Tensor e = io::parse_npy(core::resource("semantic_vitb32"), "embedded semantic_vitb32").to(torch::kFloat32);
    BRAINSEM_CHECK(e.dim() == 2 && e.size(0) == static_cast<int64_t>(t.wnids.size()),
                   "embedded semantic_vitb32 has shape ", e.sizes(), " but imagenet_classes lists ", t.wnids.size(),
                   " classes");
    t.embeddings = e / e.norm(2, 1, true);
    text = std::move(t);
  });
  return text;
}

std::string derive_class_table(const WordNet& wn) {
  const ImageNetText& in1k = imagenet_text();
  std::ostringstream out;
  out << kHeader << "\n";
  for (const std::string split : {"train", "test"}) {
    for (const auto& [wnid, cat] : split_classes(split)) {
      BRAINSEM_CHECK(wn.contains(wnid), "GOD class ", wnid,
                     " is not in WordNet 3.0; is wordnet-base the 3.0 database?");
      std::vector<std::string> nb;
      int best = -1;
      if (in1k.row.count(wnid)) {
        nb = {wnid};
        best = 0;
      } else {
        for (const auto& cand : in1k.wnids) {
          int d = wn.path_distance(wnid, cand);
          if (d < 0) continue;
          if (best < 0 || d < best) {
            best = d;
            nb.clear();
          }
          if (d == best) nb.push_back(cand);
        }
        BRAINSEM_CHECK(best > 0, "no ImageNet-1k synset is connected to ", wnid, " in WordNet");
      }
      std::string joined;
      for (const auto& n : nb) joined += (joined.empty() ? "" : ",") + n;
      const bool animate = wn.is_a(wnid, kAnimal) || wn.is_a(wnid, kPerson);
      const bool place = wn.is_a(wnid, kStructure) || wn.is_a(wnid, kGeoFormation) || wn.is_a(wnid, kLocation);
      out << wnid << '\t' << split << '\t' << cat << '\t' << wn.name(wnid) << '\t'
          << (best == 0 ? "imagenet" : "wordnet") << '\t' << best << '\t' << joined << '\t' << (animate ? 1 : 0) << '\t'
          << (place ? 1 : 0) << "\n";
    }
  }
  return out.str();
}

std::vector<GodClass> parse_class_table(std::string_view text, const std::string& where) {
  auto lines = lines_of(text);
  BRAINSEM_CHECK(!lines.empty() && lines[0] == kHeader, where, ": missing or wrong header (expected '", kHeader, "')");
  std::vector<GodClass> out;
  for (size_t i = 1; i < lines.size(); ++i) {
    auto f = split_on(lines[i], '\t');
    BRAINSEM_CHECK(f.size() == 9, where, " line ", i + 1, ": expected 9 TAB-separated columns, got ", f.size());
    GodClass c;
    c.wnid = f[0];
    c.split = f[1];
    c.category_index = std::stoi(f[2]);
    c.name = f[3];
    c.source = f[4];
    c.distance = std::stoi(f[5]);
    c.neighbours = split_on(f[6], ',');
    c.animate = f[7] == "1";
    c.place = f[8] == "1";
    BRAINSEM_CHECK(c.split == "train" || c.split == "test", where, " line ", i + 1, ": split must be train or test");
    BRAINSEM_CHECK(c.source == "imagenet" || c.source == "wordnet", where, " line ", i + 1, ": unknown source '",
                   c.source, "'");
    out.push_back(std::move(c));
  }
  return out;
}

std::vector<GodClass> god_classes() {
  auto classes = parse_class_table(core::resource("synth_class_centres"), "embedded data/synth/god_class_centres.tsv");
  BRAINSEM_CHECK(classes.size() == 200, "embedded data/synth/god_class_centres.tsv has ", classes.size(),
                 " classes, expected 200; regenerate it with `brainsem synth --write-centre-table`");
  return classes;
}

torch::Tensor class_centres(const std::vector<GodClass>& classes, double jitter, uint64_t geometry_seed) {
  const ImageNetText& in1k = imagenet_text();
  const int64_t dim = in1k.embeddings.size(1);
  torch::Tensor out = torch::empty({static_cast<int64_t>(classes.size()), dim}, torch::kFloat32);
  for (size_t i = 0; i < classes.size(); ++i) {
    const GodClass& c = classes[i];
    torch::Tensor m = torch::zeros({dim}, torch::kFloat32);
    for (const auto& n : c.neighbours) {
      auto it = in1k.row.find(n);
      BRAINSEM_CHECK(it != in1k.row.end(), "class-centre table: neighbour ", n, " of ", c.wnid,
                     " is not an ImageNet-1k class");
      m += in1k.embeddings[it->second];
    }
    m = m / m.norm();
    if (c.source == "wordnet" && jitter > 0) {
      // Keyed by the wnid number only: the centre is a fixed fact of the class, not of the run.
      synth_rng::Stream rng(geometry_seed, "centre", std::stoull(c.wnid.substr(1)));
      m = m + rng.normal_tensor({dim}, jitter / std::sqrt(static_cast<double>(dim)));
      m = m / m.norm();
    }
    out[static_cast<int64_t>(i)] = m;
  }
  return out;
}

}  // namespace brainsem::data
