#include "brainsem/experiment/roi_attribution.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>

#include "brainsem/core/atomic_file.h"
#include "brainsem/core/error.h"
#include "brainsem/core/json_document.h"
#include "brainsem/core/progress.h"
#include "brainsem/core/text.h"
#include "brainsem/experiment/ablation.h"
#include "brainsem/experiment/grid_cell.h"
#include "brainsem/experiment/run_dir.h"
#include "brainsem/experiment/study.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace brainsem::experiment {
namespace {

const std::vector<std::string>& known_modes() {
  static const std::vector<std::string> modes{"without", "only", "masked"};
  return modes;
}

// The ROI tokens a trained cell of `mode` uses.
std::vector<std::string> cell_rois(const std::string& mode, const std::string& roi,
                                   const std::vector<std::string>& all) {
  if (mode == "only") return {roi};
  std::vector<std::string> out;
  for (const auto& r : all)
    if (mode != "without" || r != roi) out.push_back(r);
  return out;
}

std::string cell_directory_name(const std::string& mode, const std::string& roi) {
  return mode == "all" ? "all" : mode + "-" + roi;
}

// Ranks of the true class with `prototype` prototypes when ROI token `token` of every test item is
// replaced by that token's training mean (zero after z-scoring).
std::vector<int64_t> masked_ranks(TrainedRun& run, int64_t token, const std::string& prototype) {
  const auto& s = run.study.subject;
  auto x = s.test_x.clone();  // [N_test, R, P]
  x.select(1, token).copy_(s.train_x.select(1, token).mean(0).expand_as(x.select(1, token)));
  const auto embedding = run.embed(x);  // [N_test, E]
  for (const auto& score : score_prediction("brainsem", embedding, run.study, run.config.seed))
    if (score.prototype == prototype) return score.ranks;
  fail("roi: the run ", run.study.inputs.subject, " has no '", prototype, "' prototypes (library_test missing?)");
}

json interval_to_json(const eval::Interval& i) { return json{{"estimate", i.estimate}, {"lo", i.lo}, {"hi", i.hi}}; }
eval::Interval interval_from_json(const json& j) {
  eval::Interval i;
  i.estimate = j.at("estimate");
  i.lo = j.at("lo");
  i.hi = j.at("hi");
  return i;
}

struct RowCells {
  std::vector<std::vector<int64_t>> ranks;  // [(subject, seed) cells][N_test], subject-major
};

// Mean, sd, interval and mean rank of one row; `seeds` cells per subject.
void summarise(RoiRow& row, const RowCells& cells, size_t subjects, size_t seeds) {
  std::vector<double> t1, t5, subject1(subjects, 0.0), subject5(subjects, 0.0), unit1, unit5;
  double rank_sum = 0;
  int64_t items = 0;
  for (size_t c = 0; c < cells.ranks.size(); ++c) {
    const auto& r = cells.ranks[c];
    double h1 = 0, h5 = 0;
    for (auto k : r) {
      h1 += k == 1;
      h5 += k <= 5;
      rank_sum += static_cast<double>(k);
      ++items;
    }
    const double n = static_cast<double>(r.size());
    t1.push_back(h1 / n);
    t5.push_back(h5 / n);
    subject1[c / seeds] += h1 / n / static_cast<double>(seeds);
    subject5[c / seeds] += h5 / n / static_cast<double>(seeds);
  }
  // Seed-averaged hit rates of every (subject, item) unit, for the one-subject interval.
  for (size_t first = 0; first < cells.ranks.size(); first += seeds)
    for (size_t i = 0; i < cells.ranks[first].size(); ++i) {
      double a1 = 0, a5 = 0;
      for (size_t c = first; c < first + seeds; ++c) {
        a1 += cells.ranks[c][i] == 1;
        a5 += cells.ranks[c][i] <= 5;
      }
      unit1.push_back(a1 / static_cast<double>(seeds));
      unit5.push_back(a5 / static_cast<double>(seeds));
    }
  auto t = [](const std::vector<double>& v) { return torch::tensor(v, torch::kFloat64); };
  row.cells = static_cast<int64_t>(cells.ranks.size());
  row.top1 = eval::mean_sd(t(t1));
  row.top5 = eval::mean_sd(t(t5));
  row.mean_rank = items ? rank_sum / static_cast<double>(items) : 0.0;
  if (subjects >= 2) {
    // A t-interval over 2-5 subjects can reach past 0 or 1; an accuracy cannot.
    auto clipped = [](eval::Interval i) {
      i.lo = std::max(0.0, i.lo);
      i.hi = std::min(1.0, i.hi);
      return i;
    };
    row.ci_top1 = clipped(eval::t_mean_ci(t(subject1)));
    row.ci_top5 = clipped(eval::t_mean_ci(t(subject5)));
  } else {
    row.ci_top1 = eval::bootstrap_mean_ci(t(unit1), 10000, 0.95, 0);
    row.ci_top5 = eval::bootstrap_mean_ci(t(unit5), 10000, 0.95, 0);
  }
}

}  // namespace

const RoiRow* RoiTable::find(const std::string& mode, const std::string& roi) const {
  for (const auto& r : rows)
    if (r.mode == mode && r.roi == roi) return &r;
  return nullptr;
}

RoiTable run_roi_attribution(const RoiAttributionOptions& o) {
  BRAINSEM_CHECK(!o.subjects.empty() && !o.seeds.empty(), "roi: need at least one subject and one seed");
  BRAINSEM_CHECK(fs::is_directory(o.data), "roi: data directory ", o.data, " does not exist");
  BRAINSEM_CHECK(!o.modes.empty(), "roi: no attribution modes requested (use any of without, only, masked)");
  std::set<std::string> seen_modes;
  for (const auto& m : o.modes) {
    BRAINSEM_CHECK(std::find(known_modes().begin(), known_modes().end(), m) != known_modes().end(),
                   "roi: unknown mode '", m, "'; the modes are without, only and masked");
    BRAINSEM_CHECK(seen_modes.insert(m).second, "roi: mode '", m, "' given twice");
  }
  // Resolve and load every input, and check every ROI name, before training anything.
  std::vector<StudyInputs> inputs;
  for (int s : o.subjects) inputs.push_back(data_directory_inputs(o.data, s, "roi"));
  if (o.base.library)
    BRAINSEM_CHECK(!inputs[0].library.empty(), "roi: the training configuration uses the semantic library, but ",
                   fs::absolute(o.data) / "library_train.safetensors",
                   " does not exist; add --no-library or point --data at a directory with a library");
  std::vector<LoadedStudy> studies;
  for (size_t si = 0; si < inputs.size(); ++si) {
    core::Progress::status("roi: loading " + inputs[si].subject.string());
    studies.push_back(load_study(inputs[si], o.base.normalize));
  }
  const std::vector<std::string> rois = o.rois.empty() ? studies[0].subject.roi_names : o.rois;
  {
    std::set<std::string> unique(rois.begin(), rois.end());
    BRAINSEM_CHECK(unique.size() == rois.size(), "roi: an ROI is named twice in --rois (", core::join(rois, ","), ")");
  }
  for (const auto& study : studies)
    for (const auto& r : rois) {
      const auto& have = study.subject.roi_names;
      BRAINSEM_CHECK(std::find(have.begin(), have.end(), r) != have.end(), "roi: ", study.inputs.subject,
                     " has no ROI '", r, "'; its ROIs are ", core::join(have, ","));
    }
  BRAINSEM_CHECK(rois.size() >= 2 || (!seen_modes.count("without") && !seen_modes.count("masked")), "roi: modes ",
                 "'without' and 'masked' need at least two ROIs (got ", rois.size(), ")");

  // Trained rows: (mode, roi); "all" first. Masked rows reuse the "all" cells' models.
  std::vector<std::pair<std::string, std::string>> trained{{"all", ""}};
  for (const auto& m : o.modes)
    if (m != "masked")
      for (const auto& r : rois) trained.push_back({m, r});
  const size_t S = o.subjects.size(), K = o.seeds.size();
  const size_t total = trained.size() * S * K;
  size_t done = 0;
  RoiTable t;
  t.subjects = o.subjects;
  t.seeds = o.seeds;
  t.rois = rois;
  t.prototype = o.prototype;
  t.interval = S >= 2 ? "t over subjects, clipped to [0, 100] %" : "bootstrap over test items";
  std::map<std::pair<std::string, std::string>, RowCells> cells;
  for (const auto& [mode, roi] : trained)
    for (size_t si = 0; si < S; ++si)
      for (uint64_t seed : o.seeds) {
        ++done;
        auto cfg = o.base;
        cfg.seed = seed;
        const fs::path dir = o.out / "cells" / cell_directory_name(mode, roi) /
                             ("Subject" + std::to_string(o.subjects[si]) + "-seed" + std::to_string(seed));
        StudyInputs in = inputs[si];
        if (mode != "all") in.rois = cell_rois(mode, roi, rois);
        std::optional<LoadedStudy> subset;
        auto study = [&]() -> const LoadedStudy& {
          if (mode == "all" && rois == studies[si].subject.roi_names) return studies[si];
          subset = studies[si];
          subset->inputs = in;
          subset->subject =
              data::select_roi_tokens(studies[si].subject, mode == "all" ? rois : in.rois, in.subject.string());
          return *subset;
        };
        if (mode == "all" && rois != studies[si].subject.roi_names) in.rois = rois;
        auto cell = run_grid_cell(dir, cfg, in, study, o.prototype, "roi",
                                  "[" + std::to_string(done) + "/" + std::to_string(total) + "]");
        if (cell.reused) {
          ++t.cells_reused;
        } else {
          ++t.cells_run;
        }
        cells[{mode, roi}].ranks.push_back(std::move(cell.ranks));
      }
  if (seen_modes.count("masked")) {
    for (size_t si = 0; si < S; ++si)
      for (uint64_t seed : o.seeds) {
        const fs::path dir =
            o.out / "cells" / "all" / ("Subject" + std::to_string(o.subjects[si]) + "-seed" + std::to_string(seed));
        core::Progress::status("roi: masking each ROI of " + dir.string());
        auto run = open_run(dir);
        for (size_t r = 0; r < rois.size(); ++r)
          cells[{"masked", rois[r]}].ranks.push_back(masked_ranks(run, static_cast<int64_t>(r), o.prototype));
      }
  }
  const auto& reference = cells.at({"all", ""}).ranks;
  auto add_row = [&](const std::string& mode, const std::string& roi) {
    RoiRow row;
    row.mode = mode;
    row.roi = roi;
    const auto& c = cells.at({mode, roi});
    summarise(row, c, S, K);
    const auto cmp = paired_comparison(c.ranks, reference, K);
    if (mode != "all") {
      row.test_top1 = cmp.top1;
      row.test_top5 = cmp.top5;
      row.test_rank = cmp.rank;
    }
    t.top_k_test = cmp.top_k_test;
    t.paired_units = cmp.units;
    t.rows.push_back(row);
  };
  add_row("all", "");
  for (const auto& m : o.modes)
    for (const auto& r : rois) add_row(m, r);
  core::write_text_atomically(o.out / "roi.json",
                              core::versioned_document(kRoiTableFormat, kRoiTableVersion, t.to_json()).dump(2) + "\n");
  core::write_text_atomically(o.out / "roi.csv", t.csv());
  return t;
}

json RoiTable::to_json() const {
  json rows_j = json::array();
  for (const auto& r : rows)
    rows_j.push_back({{"mode", r.mode},
                      {"roi", r.roi},
                      {"cells", r.cells},
                      {"top1_mean", r.top1.mean},
                      {"top1_sd", r.top1.sd},
                      {"top5_mean", r.top5.mean},
                      {"top5_sd", r.top5.sd},
                      {"ci_top1", interval_to_json(r.ci_top1)},
                      {"ci_top5", interval_to_json(r.ci_top5)},
                      {"mean_rank", r.mean_rank},
                      {"test_top1", paired_test_to_json(r.test_top1)},
                      {"test_top5", paired_test_to_json(r.test_top5)},
                      {"test_rank", paired_test_to_json(r.test_rank)}});
  return json{{"subjects", subjects},
              {"seeds", seeds},
              {"rois", rois},
              {"prototype", prototype},
              {"interval", interval},
              {"top_k_test", top_k_test},
              {"paired_units", paired_units},
              {"cells_run", cells_run},
              {"cells_reused", cells_reused},
              {"rows", rows_j}};
}

std::string RoiTable::text() const {
  std::ostringstream os;
  size_t name_width = 6;
  for (const auto& r : rows) name_width = std::max(name_width, r.name().size());
  const bool mcnemar = top_k_test == "mcnemar";
  char line[320];
  std::snprintf(line, sizeof line, "%-*s %5s %7s %15s %7s %15s %9s %9s %9s %9s\n", static_cast<int>(name_width),
                "tokens", "cells", "top-1 %", "95% interval", "top-5 %", "95% interval", "mean rank",
                mcnemar ? "p McN@1" : "p flip@1", mcnemar ? "p McN@5" : "p flip@5", "p rank");
  os << line;
  for (const auto& r : rows) {
    const bool ref = r.mode == "all";
    std::snprintf(line, sizeof line, "%-*s %5lld %7.1f  [%5.1f, %5.1f] %7.1f  [%5.1f, %5.1f] %9.2f %9.3g %9.3g %9.3g\n",
                  static_cast<int>(name_width), r.name().c_str(), static_cast<long long>(r.cells), 100 * r.top1.mean,
                  100 * r.ci_top1.lo, 100 * r.ci_top1.hi, 100 * r.top5.mean, 100 * r.ci_top5.lo, 100 * r.ci_top5.hi,
                  r.mean_rank, ref ? 1.0 : r.test_top1.p_value, ref ? 1.0 : r.test_top5.p_value,
                  ref ? 1.0 : r.test_rank.p_value);
    os << line;
  }
  os << "intervals: " << interval << "; p-values vs 'all' (the full model), paired on (subject, test item) units"
     << (mcnemar ? " (exact McNemar on top-1/top-5, sign-flip on the rank)"
                 : " (sign-flip on seed-averaged hit rates and ranks)")
     << "\n";
  return os.str();
}

std::string RoiTable::csv() const {
  std::ostringstream os;
  os << "mode,roi,cells,top1_mean,top1_sd,top1_lo,top1_hi,top5_mean,top5_sd,top5_lo,top5_hi,mean_rank,p_top1,p_top5,"
        "p_rank,top_k_test,interval\n";
  for (const auto& r : rows)
    os << r.mode << ',' << r.roi << ',' << r.cells << ',' << r.top1.mean << ',' << r.top1.sd << ',' << r.ci_top1.lo
       << ',' << r.ci_top1.hi << ',' << r.top5.mean << ',' << r.top5.sd << ',' << r.ci_top5.lo << ',' << r.ci_top5.hi
       << ',' << r.mean_rank << ',' << r.test_top1.p_value << ',' << r.test_top5.p_value << ',' << r.test_rank.p_value
       << ',' << top_k_test << ',' << interval << '\n';
  return os.str();
}

RoiTable load_roi_table(const fs::path& file) {
  RoiTable t;
  try {
    auto j = json::parse(core::read_text_file(file));
    core::take_document_format(j, kRoiTableFormat, kRoiTableVersion, file);
    t.subjects = j.at("subjects").get<std::vector<int>>();
    t.seeds = j.at("seeds").get<std::vector<uint64_t>>();
    t.rois = j.at("rois").get<std::vector<std::string>>();
    t.prototype = j.at("prototype");
    t.interval = j.at("interval");
    t.top_k_test = j.at("top_k_test");
    t.paired_units = j.at("paired_units");
    t.cells_run = j.at("cells_run");
    t.cells_reused = j.at("cells_reused");
    for (const auto& rj : j.at("rows")) {
      RoiRow r;
      r.mode = rj.at("mode");
      r.roi = rj.at("roi");
      r.cells = rj.at("cells");
      r.top1 = {rj.at("top1_mean").get<double>(), rj.at("top1_sd").get<double>(), r.cells};
      r.top5 = {rj.at("top5_mean").get<double>(), rj.at("top5_sd").get<double>(), r.cells};
      r.ci_top1 = interval_from_json(rj.at("ci_top1"));
      r.ci_top5 = interval_from_json(rj.at("ci_top5"));
      r.mean_rank = rj.at("mean_rank");
      r.test_top1 = paired_test_from_json(rj.at("test_top1"));
      r.test_top5 = paired_test_from_json(rj.at("test_top5"));
      r.test_rank = paired_test_from_json(rj.at("test_rank"));
      t.rows.push_back(r);
    }
  } catch (const json::exception& e) {
    fail(file, " is not an ROI attribution table written by `brainsem roi`: ", e.what());
  }
  return t;
}

}  // namespace brainsem::experiment
