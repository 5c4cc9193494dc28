#include "brainsem/experiment/ablation.h"

#include <optional>
#include <cstdio>
#include <sstream>

#include "brainsem/core/atomic_file.h"
#include "brainsem/core/error.h"
#include "brainsem/core/json_document.h"
#include "brainsem/core/progress.h"
#include "brainsem/experiment/grid_cell.h"
#include "brainsem/experiment/run_dir.h"
#include "brainsem/experiment/study.h"
#include "brainsem/train/checkpoint.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace brainsem::experiment {
namespace {

std::string encoder_label(const model::FmriEncoderConfig& e) {
  if (e.kind == "vit") return "vit " + std::to_string(e.depth) + "x" + std::to_string(e.heads);
  return e.kind;
}

std::string config_name(const train::TrainConfig& c) {
  std::string enc = c.encoder.kind == "vit"
                        ? "vit" + std::to_string(c.encoder.depth) + "x" + std::to_string(c.encoder.heads)
                        : c.encoder.kind;
  return std::string("V") + (c.library ? "+" : "-") + "B" + (c.virtual_brain ? "+" : "-") + "_b" +
         std::to_string(c.batch) + "_" + enc;
}

std::string paired_tests_description(const std::string& top_k_test) {
  const std::string units = "paired on (subject, test item) units, each item averaged over the seeds first; ";
  if (top_k_test == "mcnemar") return units + "exact McNemar on top-1 / top-5 correctness, sign-flip on the rank";
  return units + "sign-flip on the seed-averaged top-1 / top-5 hit rates and on the seed-averaged rank";
}

}  // namespace

std::vector<AblationConfig> ablation_grid(const train::TrainConfig& base, bool full) {
  std::vector<std::pair<int64_t, std::pair<int64_t, int64_t>>> shapes;  // batch, (depth, heads)
  if (full) {
    for (int64_t b : {200, 100})
      for (auto dh : std::vector<std::pair<int64_t, int64_t>>{{24, 16}, {12, 8}, {6, 4}}) shapes.push_back({b, dh});
  } else {
    shapes.push_back({base.batch, {base.encoder.depth, base.encoder.heads}});
  }
  std::vector<AblationConfig> out;
  for (const auto& [batch, dh] : shapes)
    for (bool v : {true, false})
      for (bool b : {true, false}) {
        auto c = base;
        c.library = v;
        c.virtual_brain = b;
        c.batch = batch;
        if (full) {
          c.encoder.kind = "vit";
          c.encoder.depth = dh.first;
          c.encoder.heads = dh.second;
        }
        out.push_back({config_name(c), c});
      }
  return out;
}

json AblationTable::to_json() const {
  json rows_j = json::array();
  for (const auto& r : rows)
    rows_j.push_back({{"name", r.name},
                      {"library", r.library},
                      {"virtual_brain", r.virtual_brain},
                      {"batch", r.batch},
                      {"encoder", r.encoder},
                      {"cells", r.cells},
                      {"top1_mean", r.top1.mean},
                      {"top1_sd", r.top1.sd},
                      {"top5_mean", r.top5.mean},
                      {"top5_sd", r.top5.sd},
                      {"mean_rank", r.mean_rank},
                      {"test_top1", paired_test_to_json(r.test_top1)},
                      {"test_top5", paired_test_to_json(r.test_top5)},
                      {"test_rank", paired_test_to_json(r.test_rank)}});
  return json{{"subjects", subjects},
              {"seeds", seeds},
              {"prototype", prototype},
              {"reference", rows.empty() ? "" : rows[0].name},
              {"paired_units", paired_units},
              {"top_k_test", top_k_test},
              {"paired_tests", paired_tests_description(top_k_test)},
              {"cells_run", cells_run},
              {"cells_reused", cells_reused},
              {"rows", rows_j}};
}

std::string AblationTable::text() const {
  std::ostringstream os;
  char line[256];
  const bool mcnemar = top_k_test == "mcnemar";
  std::snprintf(line, sizeof line, "%-22s %5s %-9s %5s %14s %14s %9s %10s %10s %10s\n", "config", "batch", "encoder",
                "cells", "top-1 % (sd)", "top-5 % (sd)", "mean rank", mcnemar ? "p McN@1" : "p flip@1",
                mcnemar ? "p McN@5" : "p flip@5", "p rank");
  os << line;
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    std::snprintf(line, sizeof line, "%-22s %5lld %-9s %5lld %7.1f (%4.1f) %7.1f (%4.1f) %9.2f %10.3g %10.3g %10.3g\n",
                  r.name.c_str(), static_cast<long long>(r.batch), r.encoder.c_str(), static_cast<long long>(r.cells),
                  100 * r.top1.mean, 100 * r.top1.sd, 100 * r.top5.mean, 100 * r.top5.sd, r.mean_rank,
                  i ? r.test_top1.p_value : 1.0, i ? r.test_top5.p_value : 1.0, i ? r.test_rank.p_value : 1.0);
    os << line;
  }
  os << "p-values vs the first row: " << paired_tests_description(top_k_test) << "\n";
  return os.str();
}

std::string AblationTable::csv() const {
  std::ostringstream os;
  // p_top1 / p_top5: exact McNemar with one seed, sign-flip on seed-averaged hit rates with several.
  os << "config,library,virtual_brain,batch,encoder,cells,top1_mean,top1_sd,top5_mean,top5_sd,mean_rank,p_top1,p_top5,"
        "p_rank,top_k_test\n";
  for (const auto& r : rows)
    os << r.name << ',' << r.library << ',' << r.virtual_brain << ',' << r.batch << ',' << r.encoder << ',' << r.cells
       << ',' << r.top1.mean << ',' << r.top1.sd << ',' << r.top5.mean << ',' << r.top5.sd << ',' << r.mean_rank << ','
       << r.test_top1.p_value << ',' << r.test_top5.p_value << ',' << r.test_rank.p_value << ',' << top_k_test << '\n';
  return os.str();
}

json paired_test_to_json(const eval::PairedTest& t) {
  return json{{"statistic", t.statistic}, {"p", t.p_value}, {"b", t.b}, {"c", t.c}, {"exact", t.exact}};
}

eval::PairedTest paired_test_from_json(const json& j) {
  eval::PairedTest t;
  t.statistic = j.at("statistic");
  t.p_value = j.at("p");
  t.b = j.at("b");
  t.c = j.at("c");
  t.exact = j.at("exact");
  return t;
}

PairedComparison paired_comparison(const std::vector<std::vector<int64_t>>& ranks,
                                   const std::vector<std::vector<int64_t>>& reference, size_t seeds) {
  BRAINSEM_CHECK(seeds >= 1, "ablation paired test: needs at least one seed per subject");
  BRAINSEM_CHECK(!ranks.empty() && ranks.size() == reference.size() && ranks.size() % seeds == 0,
                 "ablation paired test: ", ranks.size(), " cells against ", reference.size(),
                 " reference cells; both need the same (subject, seed) cells, ", seeds, " seeds per subject");
  // Seed-averaged scores of every (subject, item) unit: [units] each.
  std::vector<double> hit1, hit5, rank, ref1, ref5, ref_rank;
  for (size_t first = 0; first < ranks.size(); first += seeds) {
    const size_t items = ranks[first].size();
    for (size_t c = first; c < first + seeds; ++c)
      BRAINSEM_CHECK(ranks[c].size() == items && reference[c].size() == items, "ablation paired test: cell ", c,
                     " has ", ranks[c].size(), " items and its reference ", reference[c].size(), "; expected ", items,
                     " (the same test items for every seed)");
    for (size_t i = 0; i < items; ++i) {
      double a1 = 0, a5 = 0, ar = 0, b1 = 0, b5 = 0, br = 0;
      for (size_t c = first; c < first + seeds; ++c) {
        const int64_t a = ranks[c][i], b = reference[c][i];
        a1 += a == 1;
        a5 += a <= 5;
        ar += static_cast<double>(a);
        b1 += b == 1;
        b5 += b <= 5;
        br += static_cast<double>(b);
      }
      const double n = static_cast<double>(seeds);
      hit1.push_back(a1 / n);
      hit5.push_back(a5 / n);
      rank.push_back(ar / n);
      ref1.push_back(b1 / n);
      ref5.push_back(b5 / n);
      ref_rank.push_back(br / n);
    }
  }
  auto t = [](const std::vector<double>& v) { return torch::tensor(v, torch::kFloat64); };
  PairedComparison out;
  out.units = static_cast<int64_t>(hit1.size());
  BRAINSEM_CHECK(out.units > 0, "ablation paired test: the cells hold no test items");
  if (seeds == 1) {
    out.top_k_test = "mcnemar";
    out.top1 = eval::mcnemar_exact(t(hit1), t(ref1));
    out.top5 = eval::mcnemar_exact(t(hit5), t(ref5));
  } else {
    out.top_k_test = "sign-flip";
    out.top1 = eval::paired_sign_flip(t(hit1), t(ref1), 10000, 0);
    out.top5 = eval::paired_sign_flip(t(hit5), t(ref5), 10000, 0);
  }
  out.rank = eval::paired_sign_flip(t(rank), t(ref_rank), 10000, 0);
  return out;
}

AblationTable run_ablation(const AblationOptions& o) {
  BRAINSEM_CHECK(!o.subjects.empty() && !o.seeds.empty(), "ablate: need at least one subject and one seed");
  BRAINSEM_CHECK(fs::is_directory(o.data), "ablate: data directory ", o.data, " does not exist");
  // Resolve every input before training anything.
  std::vector<experiment::StudyInputs> inputs;
  for (int s : o.subjects) inputs.push_back(data_directory_inputs(o.data, s, "ablate"));
  auto grid = ablation_grid(o.base, o.full);
  for (const auto& g : grid)
    if (g.config.library)
      BRAINSEM_CHECK(!inputs[0].library.empty(), "ablate: configuration ", g.name, " needs ",
                     fs::absolute(o.data) / "library_train.safetensors");
  AblationTable t;
  t.subjects = o.subjects;
  t.seeds = o.seeds;
  t.prototype = o.prototype;
  std::vector<std::unique_ptr<experiment::LoadedStudy>> studies(o.subjects.size());
  struct Cell {
    size_t row, subject;
    train::TrainConfig config;
    fs::path dir;
  };
  std::vector<Cell> cells;  // in table order
  for (size_t g = 0; g < grid.size(); ++g)
    for (size_t si = 0; si < o.subjects.size(); ++si)
      for (uint64_t seed : o.seeds) {
        auto cfg = grid[g].config;
        cfg.seed = seed;
        cells.push_back({g, si, cfg,
                         o.out / "cells" / grid[g].name /
                             ("Subject" + std::to_string(o.subjects[si]) + "-seed" + std::to_string(seed))});
      }
  auto run_cell = [&](size_t k) {
    const Cell& c = cells[k];
    auto study = [&]() -> const LoadedStudy& {
      if (!studies[c.subject])
        studies[c.subject] = std::make_unique<LoadedStudy>(load_study(inputs[c.subject], o.base.normalize));
      return *studies[c.subject];
    };
    return run_grid_cell(c.dir, c.config, inputs[c.subject], study, o.prototype, "ablate",
                         "[" + std::to_string(k + 1) + "/" + std::to_string(cells.size()) + "]");
  };
  // This share's cells first; then the whole grid, which is complete only for the share that
  // finishes its own cells last (every other share finished before it looks).
  std::vector<std::optional<CellScores>> scores(cells.size());
  for (size_t k = 0; k < cells.size(); ++k) {
    if (!o.share.mine(k)) continue;
    scores[k] = run_cell(k);
    if (scores[k]->reused) {
      ++t.cells_reused;
    } else {
      ++t.cells_run;
    }
  }
  std::vector<std::vector<CellScores>> per_row(grid.size());
  for (size_t k = 0; k < cells.size(); ++k) {
    if (!scores[k] && grid_cell_finished(cells[k].dir)) scores[k] = run_cell(k);  // another share's
    if (scores[k])
      per_row[cells[k].row].push_back(*scores[k]);
    else
      ++t.cells_waiting;  // another share's, still to come
  }
  if (t.cells_waiting > 0) return t;  // another share finishes the grid and writes the table
  auto ranks_of = [](const std::vector<CellScores>& cells) {
    std::vector<std::vector<int64_t>> r;
    for (const auto& c : cells) r.push_back(c.ranks);
    return r;
  };
  const auto reference_ranks = ranks_of(per_row[0]);
  for (size_t g = 0; g < grid.size(); ++g) {
    AblationRow r;
    const auto& c = grid[g].config;
    r.name = grid[g].name;
    r.library = c.library;
    r.virtual_brain = c.virtual_brain;
    r.batch = c.batch;
    r.encoder = encoder_label(c.encoder);
    r.cells = static_cast<int64_t>(per_row[g].size());
    std::vector<double> t1, t5;
    for (const auto& cell : per_row[g]) {
      t1.push_back(cell.top1);
      t5.push_back(cell.top5);
    }
    r.top1 = eval::mean_sd(torch::tensor(t1, torch::kFloat64));
    r.top5 = eval::mean_sd(torch::tensor(t5, torch::kFloat64));
    double rank_sum = 0;
    int64_t items = 0;
    for (const auto& cell : per_row[g])
      for (auto k : cell.ranks) {
        rank_sum += static_cast<double>(k);
        ++items;
      }
    r.mean_rank = items ? rank_sum / static_cast<double>(items) : 0.0;
    // Row 0 against itself: the same call, so the reference row states which tests the others got.
    auto cmp = paired_comparison(ranks_of(per_row[g]), reference_ranks, o.seeds.size());
    if (g > 0) {
      r.test_top1 = cmp.top1;
      r.test_top5 = cmp.top5;
      r.test_rank = cmp.rank;
    }
    t.top_k_test = cmp.top_k_test;
    t.paired_units = cmp.units;
    t.rows.push_back(r);
  }
  core::write_text_atomically(
      o.out / "ablation.json",
      core::versioned_document(kAblationTableFormat, kAblationTableVersion, t.to_json()).dump(2) + "\n");
  core::write_text_atomically(o.out / "ablation.csv", t.csv());
  return t;
}

AblationTable load_ablation(const fs::path& file) {
  AblationTable t;
  try {
    auto j = json::parse(core::read_text_file(file));
    core::take_document_format(j, kAblationTableFormat, kAblationTableVersion, file);
    t.subjects = j.at("subjects").get<std::vector<int>>();
    t.seeds = j.at("seeds").get<std::vector<uint64_t>>();
    t.prototype = j.at("prototype");
    t.cells_run = j.at("cells_run");
    t.cells_reused = j.at("cells_reused");
    t.top_k_test = j.value("top_k_test", "mcnemar");
    t.paired_units = j.value("paired_units", int64_t{0});
    for (const auto& rj : j.at("rows")) {
      AblationRow r;
      r.name = rj.at("name");
      r.library = rj.at("library");
      r.virtual_brain = rj.at("virtual_brain");
      r.batch = rj.at("batch");
      r.encoder = rj.at("encoder");
      r.cells = rj.at("cells");
      r.top1 = {rj.at("top1_mean").get<double>(), rj.at("top1_sd").get<double>(), r.cells};
      r.top5 = {rj.at("top5_mean").get<double>(), rj.at("top5_sd").get<double>(), r.cells};
      r.mean_rank = rj.at("mean_rank");
      // Tables of earlier versions (tests on pooled (subject, seed, item) cells) used other keys.
      const bool old = !rj.contains("test_top1");
      r.test_top1 = paired_test_from_json(rj.at(old ? "mcnemar_top1" : "test_top1"));
      r.test_top5 = paired_test_from_json(rj.at(old ? "mcnemar_top5" : "test_top5"));
      r.test_rank = paired_test_from_json(rj.at(old ? "sign_flip_rank" : "test_rank"));
      t.rows.push_back(r);
    }
  } catch (const json::exception& e) {
    fail(file, " is not an ablation table written by `brainsem ablate`: ", e.what());
  }
  return t;
}

}  // namespace brainsem::experiment
