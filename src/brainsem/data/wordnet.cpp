#include "brainsem/data/wordnet.h"

#include <algorithm>
#include <deque>
#include <fstream>
#include <sstream>
#include <unordered_set>

#include "brainsem/core/error.h"

namespace fs = std::filesystem;

namespace brainsem::data {

namespace {
// Upward BFS: every ancestor of `start` (itself included) with its hypernym-path length.
std::unordered_map<std::string, int> ancestor_depths(const WordNet& wn, const std::string& start) {
  std::unordered_map<std::string, int> depth{{start, 0}};
  std::deque<std::string> queue{start};
  while (!queue.empty()) {
    std::string cur = queue.front();
    queue.pop_front();
    for (const auto& h : wn.hypernyms(cur))
      if (depth.emplace(h, depth[cur] + 1).second) queue.push_back(h);
  }
  return depth;
}
}  // namespace

bool WordNet::available(const fs::path& dir) { return fs::is_regular_file(dir / "data.noun"); }

WordNet WordNet::load(const fs::path& dir) {
  const fs::path file = dir / "data.noun";
  std::ifstream in(file);
  BRAINSEM_CHECK(in, "WordNet noun database ", file, " not found; install it with `apt-get install wordnet-base`");
  WordNet wn;
  std::string line;
  int64_t line_no = 0;
  // Line format (wndb(5WN)): offset lex_filenum ss_type w_cnt(hex) {word lex_id} p_cnt {ptr offset pos st} | gloss.
  // The licence header lines start with two spaces.
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty() || line[0] == ' ') continue;
    std::istringstream ss(line.substr(0, line.find(" | ")));
    std::string offset, lex_filenum, ss_type, w_cnt_hex;
    ss >> offset >> lex_filenum >> ss_type >> w_cnt_hex;
    BRAINSEM_CHECK(ss && offset.size() == 8, file, ":", line_no,
                   ": malformed synset line (bad offset); reinstall wordnet-base");
    int w_cnt = 0;
    try {
      w_cnt = std::stoi(w_cnt_hex, nullptr, 16);
    } catch (...) {
      fail(file, ":", line_no, ": malformed word count '", w_cnt_hex, "'");
    }
    Synset syn;
    for (int i = 0; i < w_cnt; ++i) {
      std::string word, lex_id;
      ss >> word >> lex_id;
      if (i == 0) {
        std::replace(word.begin(), word.end(), '_', ' ');
        syn.name = word;
      }
    }
    int p_cnt = -1;
    ss >> p_cnt;
    BRAINSEM_CHECK(ss && p_cnt >= 0, file, ":", line_no, ": malformed pointer count");
    for (int i = 0; i < p_cnt; ++i) {
      std::string sym, target, pos, st;
      ss >> sym >> target >> pos >> st;
      BRAINSEM_CHECK(ss, file, ":", line_no, ": truncated pointer list");
      if ((sym == "@" || sym == "@i") && pos == "n") syn.hypernyms.push_back("n" + target);
    }
    wn.synsets_.emplace("n" + offset, std::move(syn));
  }
  BRAINSEM_CHECK(!wn.synsets_.empty(), file, " holds no synsets; reinstall wordnet-base");
  return wn;
}

bool WordNet::contains(const std::string& wnid) const { return synsets_.count(wnid) != 0; }

std::string WordNet::name(const std::string& wnid) const {
  auto it = synsets_.find(wnid);
  BRAINSEM_CHECK(it != synsets_.end(), "WordNet has no noun synset '", wnid,
                 "' (expected nXXXXXXXX, a WordNet 3.0 offset)");
  return it->second.name;
}

const std::vector<std::string>& WordNet::hypernyms(const std::string& wnid) const {
  auto it = synsets_.find(wnid);
  BRAINSEM_CHECK(it != synsets_.end(), "WordNet has no noun synset '", wnid,
                 "' (expected nXXXXXXXX, a WordNet 3.0 offset)");
  return it->second.hypernyms;
}

bool WordNet::is_a(const std::string& wnid, const std::string& ancestor) const {
  if (!contains(wnid)) return false;
  return ancestor_depths(*this, wnid).count(ancestor) != 0;
}

// As NLTK's shortest_path_distance: the shortest path that climbs from each synset to a common
// hypernym, min over common hypernyms of depth_a + depth_b.
int WordNet::path_distance(const std::string& a, const std::string& b) const {
  if (!contains(a) || !contains(b)) return -1;
  if (a == b) return 0;
  auto da = ancestor_depths(*this, a);
  auto db = ancestor_depths(*this, b);
  int best = -1;
  for (const auto& [syn, d] : da) {
    auto it = db.find(syn);
    if (it != db.end() && (best < 0 || d + it->second < best)) best = d + it->second;
  }
  return best;
}

}  // namespace brainsem::data
