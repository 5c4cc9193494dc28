#include "brainsem/data/god_stimuli.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <sstream>

#include "brainsem/core/error.h"
#include "brainsem/core/resources.h"

namespace brainsem::data {
namespace {

std::vector<std::string> split(const std::string& line, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char ch : line) {
    if (ch == sep) {
      out.push_back(cur);
      cur.clear();
    } else if (ch != '\r') {
      cur += ch;
    }
  }
  out.push_back(cur);
  return out;
}

std::vector<std::vector<std::string>> read_table(std::string_view resource_name, char sep, size_t columns,
                                                 bool header) {
  std::istringstream in{std::string(core::resource(resource_name))};
  std::vector<std::vector<std::string>> rows;
  std::string line;
  bool first = true;
  while (std::getline(in, line)) {
    if (line.empty() || line == "\r") continue;
    if (first && header) {
      first = false;
      continue;
    }
    first = false;
    auto f = split(line, sep);
    BRAINSEM_CHECK(f.size() == columns, "embedded table '", resource_name, "' row ", rows.size() + 1, " has ", f.size(),
                   " fields, expected ", columns, " (data/god is corrupt; rebuild)");
    rows.push_back(std::move(f));
  }
  return rows;
}

std::vector<GodStimulus> read_stimulus_table(std::string_view resource_name) {
  std::vector<GodStimulus> out;
  for (const auto& f : read_table(resource_name, '\t', 4, false)) {
    GodStimulus s;
    s.name = f[0];
    s.stimulus_id = std::strtod(f[1].c_str(), nullptr);
    s.category_index = std::strtoll(f[2].c_str(), nullptr, 10);
    s.image_index = std::strtoll(f[3].c_str(), nullptr, 10);
    BRAINSEM_CHECK(s.image_index == static_cast<int64_t>(out.size()) + 1, "embedded table '", resource_name, "' row ",
                   out.size() + 1, " has image_index ", s.image_index);
    out.push_back(std::move(s));
  }
  return out;
}

bool digits(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

}  // namespace

std::string GodStimulus::synset() const { return god_synset_of(name); }

std::string god_stimulus_name(double x) {
  BRAINSEM_CHECK(std::isfinite(x) && x > 0 && x < 1e8, "stimulus_id ", x,
                 " is not a GOD stimulus id (expected synset + image * 1e-6, e.g. 1518878.005091)");
  const double syn = std::floor(x);
  const double frac = (x - syn) * 1e6;  // exact subtraction; the product carries < 1e-3 of rounding
  const long long img = std::llround(frac);
  char buf[64];
  if (std::fabs(frac - static_cast<double>(img)) >= 0.01) {
    std::snprintf(buf, sizeof buf, "%.9f", x);
    fail("stimulus_id ", buf, " is not a GOD stimulus id: its fraction is not a whole number of millionths");
  }
  if (img == 0)
    std::snprintf(buf, sizeof buf, "n%08lld", static_cast<long long>(syn));
  else
    std::snprintf(buf, sizeof buf, "n%08lld_%lld", static_cast<long long>(syn), img);
  return buf;
}

double god_stimulus_id(const std::string& name) {
  auto bad = [&] {
    fail("stimulus name '", name, "' is not of the form nXXXXXXXX_N (ImageNet synset + image number)");
  };
  if (name.size() < 2 || name[0] != 'n') bad();
  auto us = name.find('_');
  std::string syn = name.substr(1, us == std::string::npos ? std::string::npos : us - 1);
  std::string img = us == std::string::npos ? "0" : name.substr(us + 1);
  if (!digits(syn) || !digits(img) || syn.size() > 8 || img.size() > 6) bad();
  // Same text as GOD's own encoder float('%d.%06d' % (syn, img)), so the double is identical.
  char buf[64];
  std::snprintf(buf, sizeof buf, "%lld.%06lld", std::atoll(syn.c_str()), std::atoll(img.c_str()));
  return std::strtod(buf, nullptr);
}

std::string god_synset_of(const std::string& name) { return name.substr(0, name.find('_')); }

const std::vector<GodStimulus>& god_training_stimuli() {
  static const std::vector<GodStimulus> t = read_stimulus_table("god_train_tsv");
  return t;
}

const std::vector<GodStimulus>& god_test_stimuli() {
  static const std::vector<GodStimulus> t = read_stimulus_table("god_test_tsv");
  return t;
}

const GodStimulus* find_god_stimulus(const std::string& name) {
  static const std::map<std::string, const GodStimulus*> index = [] {
    std::map<std::string, const GodStimulus*> m;
    for (const auto& s : god_training_stimuli()) m[s.name] = &s;
    for (const auto& s : god_test_stimuli()) m[s.name] = &s;
    return m;
  }();
  auto it = index.find(name);
  return it == index.end() ? nullptr : it->second;
}

const std::vector<GodTestClass>& god_test_classes() {
  static const std::vector<GodTestClass> t = [] {
    std::vector<GodTestClass> out;
    for (const auto& f : read_table("god_test_names_tsv", '\t', 4, true)) out.push_back({f[0], f[1], f[2], f[3]});
    return out;
  }();
  return t;
}

const std::vector<GodTestImageInfo>& god_test_image_info() {
  static const std::vector<GodTestImageInfo> t = [] {
    std::vector<GodTestImageInfo> out;
    for (const auto& f : read_table("god_test_info_csv", ',', 4, true))
      out.push_back({f[0], f[1] == "Yes", f[2] == "Yes", f[3] == "Yes"});
    return out;
  }();
  return t;
}

}  // namespace brainsem::data
