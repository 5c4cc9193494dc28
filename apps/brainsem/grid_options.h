#pragma once
// The options of a grid of training runs over a data directory's subjects and seeds, shared by
// `ablate` and `roi`.
#include <CLI/CLI.hpp>

#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "brainsem/core/error.h"
#include "brainsem/experiment/ablation.h"

namespace brainsem::app {

template <typename T>
std::string join_numbers(const std::vector<T>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ",") + std::to_string(x);
  return s;
}

// "1,2,3" -> {1, 2, 3}; anything but non-negative integers is refused naming `what`.
template <typename T>
std::vector<T> parse_number_list(const std::string& s, const char* what) {
  std::vector<T> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      size_t used = 0;
      long long v = std::stoll(item, &used);
      BRAINSEM_CHECK(used == item.size() && v >= 0, "");
      out.push_back(static_cast<T>(v));
    } catch (...) {
      fail(what, ": '", item, "' is not a non-negative integer (give a comma-separated list, e.g. 1,2,3)");
    }
  }
  BRAINSEM_CHECK(!out.empty(), what, ": empty list");
  return out;
}

// The library's grid defaults (subjects, seeds, prototype), shown by --help.
inline const experiment::AblationOptions& grid_defaults() {
  static const experiment::AblationOptions defaults;
  return defaults;
}

struct GridOptions {
  std::string data, out, subjects = join_numbers(grid_defaults().subjects), seeds = join_numbers(grid_defaults().seeds),
                         prototype = grid_defaults().prototype;
  std::vector<int> subject_numbers() const {
    auto v = parse_number_list<int>(subjects, "--subjects");
    for (int s : v) BRAINSEM_CHECK(s >= 1, "--subjects: subject numbers start at 1 (got ", s, ")");
    return v;
  }
  std::vector<uint64_t> seed_numbers() const { return parse_number_list<uint64_t>(seeds, "--seeds"); }
};

inline void add_grid_options(CLI::App& cmd, GridOptions& o) {
  cmd.add_option("--data", o.data,
                 "Directory with Subject<s>.h5, stimuli.safetensors, library_*.safetensors (`brainsem synth`)")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd.add_option("--out", o.out, "Output directory (created; reused to resume)")->required();
  cmd.add_option("--subjects", o.subjects, "Comma-separated subject numbers")->capture_default_str();
  cmd.add_option("--seeds", o.seeds, "Comma-separated seeds")->capture_default_str();
  cmd.add_option("--prototype", o.prototype, "Prototypes scored: stimulus or library")
      ->check(CLI::IsMember({"stimulus", "library"}))
      ->capture_default_str();
}

}  // namespace brainsem::app
