#include "brainsem/report/study_report.h"

#include <torch/torch.h>
#include <torch/version.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "brainsem/analysis/embedding_maps.h"
#include "brainsem/analysis/retrieval.h"
#include "brainsem/analysis/similarity.h"
#include "brainsem/core/atomic_file.h"
#include "brainsem/core/error.h"
#include "brainsem/data/wordnet.h"
#include "brainsem/eval/stats.h"
#include "brainsem/experiment/ablation.h"
#include "brainsem/experiment/roi_attribution.h"
#include "brainsem/experiment/run_dir.h"
#include "brainsem/experiment/score_context.h"
#include "brainsem/experiment/study.h"
#include "brainsem/report/html_report.h"
#include "brainsem/report/roi_charts.h"
#include "brainsem/report/results_table.h"
#include "brainsem/train/checkpoint.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace brainsem::report {
namespace {

struct RunInfo {
  std::string subject;  // "Subject1" or the run directory's name
  fs::path dir;
  experiment::RunResults results;
};

RunInfo read_run(const fs::path& dir, const std::string& subject) {
  BRAINSEM_CHECK(fs::exists(dir / experiment::kRunResultsFile), dir, " has no ", experiment::kRunResultsFile,
                 "; finish the run (`brainsem train`) first");
  return {subject, dir, experiment::read_run_results(dir)};
}

// Subject<N> directories sorted by N, others by name.
std::vector<RunInfo> find_runs(const fs::path& dir, bool* demo) {
  std::vector<RunInfo> runs;
  if (fs::exists(dir / experiment::kRunConfigFile) && fs::exists(dir / experiment::kRunResultsFile)) {
    *demo = false;
    auto p = fs::absolute(dir).lexically_normal();
    if (p.filename().empty()) p = p.parent_path();
    runs.push_back(read_run(dir, p.filename().empty() ? "run" : p.filename().string()));
    return runs;
  }
  BRAINSEM_CHECK(fs::is_directory(dir / "runs"), dir,
                 " is neither a run directory of `brainsem train` (config.json + results.json) nor a demo directory "
                 "(runs/Subject*/)");
  *demo = true;
  std::vector<std::pair<std::pair<int, std::string>, fs::path>> found;
  for (const auto& e : fs::directory_iterator(dir / "runs")) {
    if (!e.is_directory()) continue;
    std::string name = e.path().filename().string();
    int num = 1 << 30;
    if (name.rfind("Subject", 0) == 0) {
      try {
        num = std::stoi(name.substr(7));
      } catch (...) {
      }
    }
    found.push_back({{num, name}, e.path()});
  }
  std::sort(found.begin(), found.end());
  for (const auto& [key, path] : found) runs.push_back(read_run(path, key.second));
  BRAINSEM_CHECK(!runs.empty(), dir / "runs", " has no run directories");
  return runs;
}

// FNV-1a 64 of a file's bytes: a content fingerprint for the manifest, not a security hash.
std::string file_fingerprint(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return "missing";
  uint64_t h = 1469598103934665603ull;
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    for (std::streamsize i = 0; i < in.gcount(); ++i) {
      h ^= static_cast<unsigned char>(buf[i]);
      h *= 1099511628211ull;
    }
  }
  char s[40];
  std::snprintf(s, sizeof s, "fnv1a64:%016llx", static_cast<unsigned long long>(h));
  return s;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) {
      auto pos = line.find(':');
      return pos == std::string::npos ? line : line.substr(pos + 2);
    }
  return "unknown";
}

std::string pct(double f) { return format_percent(f, 1); }

void flatten(const json& j, const std::string& prefix, std::vector<std::pair<std::string, std::string>>& out) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it)
      flatten(it.value(), prefix.empty() ? it.key() : prefix + "." + it.key(), out);
  } else if (j.is_string()) {
    out.push_back({prefix, j.get<std::string>()});
  } else {
    out.push_back({prefix, j.dump()});
  }
}

void results_section(HtmlReport& h, const std::vector<RunInfo>& runs) {
  h.add_section("Zero-shot decoding (Table 1)");
  h.add_paragraph(
      "Top-1 / top-5 accuracy (%) of identifying each test image's class among the unseen test classes. "
      "Intervals per subject: 95% percentile bootstrap over test items; over subjects: 95% Student-t interval of the "
      "mean "
      "(n - 1 degrees of freedom). p: exact one-sided binomial test against chance.");
  // Table 1 across subjects: (method, prototype) rows in first-seen order.
  std::vector<std::pair<std::string, std::string>> keys;
  for (const auto& r : runs)
    for (const auto& m : r.results.scores)
      if (std::find(keys.begin(), keys.end(), std::make_pair(m.method, m.prototype)) == keys.end())
        keys.push_back({m.method, m.prototype});
  Table t;
  t.caption = "Top-1 / top-5 accuracy (%) per subject";
  t.header = {"method", "prototype"};
  for (const auto& r : runs) t.header.push_back(r.subject);
  if (runs.size() > 1) {
    t.header.push_back("top-1 mean ± sd [95% t-interval over subjects]");
    t.header.push_back("top-5 mean ± sd [95% t-interval over subjects]");
  }
  std::vector<SubjectScores> by_subject;
  for (const auto& r : runs) by_subject.push_back({r.subject, r.results.scores});
  const auto means = subject_means(by_subject);
  std::vector<double> best(runs.size(), -1);
  for (size_t ri = 0; ri < runs.size(); ++ri)
    for (const auto& m : runs[ri].results.scores)
      if (m.method != "oracle") best[ri] = std::max(best[ri], m.top1);
  for (const auto& [method, proto] : keys) {
    std::vector<std::string> row{method, proto};
    for (size_t ri = 0; ri < runs.size(); ++ri) {
      const experiment::MethodScore* m = nullptr;
      for (const auto& s : runs[ri].results.scores)
        if (s.method == method && s.prototype == proto) m = &s;
      if (!m) {
        row.push_back("–");
        continue;
      }
      if (m->method != "oracle" && m->top1 == best[ri]) t.bold.insert({t.rows.size(), row.size()});
      row.push_back(pct(m->top1) + " / " + pct(m->top5));
    }
    if (runs.size() > 1) {
      const SubjectMean* mean = nullptr;
      for (const auto& x : means)
        if (x.method == method && x.prototype == proto) mean = &x;
      auto cell = [](const eval::MeanSd& ms, const std::optional<eval::Interval>& ci) {
        return pct(ms.mean) + " ± " + pct(ms.sd) + " [" + pct(ci->lo) + ", " + pct(ci->hi) + "]";
      };
      if (mean && mean->ci_top1) {
        row.push_back(cell(mean->top1, mean->ci_top1));
        row.push_back(cell(mean->top5, mean->ci_top5));
      } else {
        row.push_back("–");
        row.push_back("–");
      }
    }
    t.rows.push_back(row);
  }
  t.note = "Bold: best top-1 of each subject (the oracle, which knows the generating model, excluded).";
  h.add_table(t);
  for (const auto& r : runs) {
    Table d;
    d.caption = r.subject + ": intervals and p-values";
    d.header = {"method",    "prototype",        "n",         "classes",  "top-1 % [95% CI]",
                "p (top-1)", "top-5 % [95% CI]", "p (top-5)", "mean rank"};
    for (const auto& m : r.results.scores)
      d.rows.push_back({m.method, m.prototype, std::to_string(m.n), std::to_string(m.classes),
                        format_interval(100 * m.top1, 100 * m.ci_top1.lo, 100 * m.ci_top1.hi, 1), format_p(m.p_top1),
                        format_interval(100 * m.top5, 100 * m.ci_top5.lo, 100 * m.ci_top5.hi, 1), format_p(m.p_top5),
                        format_number(m.mean_rank, 1)});
    if (!r.results.scores.empty())
      d.note = "Chance: top-1 " + pct(r.results.scores[0].chance_top1) + " %, top-5 " +
               pct(r.results.scores[0].chance_top5) + " %.";
    h.add_table(d);
  }
}

void ablation_section(HtmlReport& h, const fs::path& file) {
  auto t = experiment::load_ablation(file);
  h.add_section("Ablations (Tables 2-3)");
  Table tab;
  tab.caption = "Mean over subjects and seeds (" + t.prototype + " prototypes)";
  const std::string top_k = t.top_k_test == "mcnemar" ? "McNemar" : "sign-flip";
  tab.header = {"configuration",
                "V (library)",
                "B (virtual)",
                "batch",
                "encoder",
                "cells",
                "top-1 % (sd)",
                "top-5 % (sd)",
                "mean rank",
                "p " + top_k + " top-1",
                "p " + top_k + " top-5",
                "p sign-flip rank"};
  double best = -1;
  for (const auto& r : t.rows) best = std::max(best, r.top1.mean);
  for (size_t i = 0; i < t.rows.size(); ++i) {
    const auto& r = t.rows[i];
    if (r.top1.mean == best) tab.bold.insert({i, 6});
    tab.rows.push_back({r.name, r.library ? "on" : "off", r.virtual_brain ? "on" : "off", std::to_string(r.batch),
                        r.encoder, std::to_string(r.cells), pct(r.top1.mean) + " (" + pct(r.top1.sd) + ")",
                        pct(r.top5.mean) + " (" + pct(r.top5.sd) + ")", format_number(r.mean_rank, 2),
                        i ? format_p(r.test_top1.p_value) : "reference",
                        i ? format_p(r.test_top5.p_value) : "reference",
                        i ? format_p(r.test_rank.p_value) : "reference"});
  }
  tab.note =
      "p-values: each configuration against the first, " +
      std::string(t.top_k_test == "mcnemar"
                      ? "paired on (subject, test item) units: exact McNemar on top-1 / top-5, sign-flip on the rank."
                      : "paired on (subject, test item) units, each item averaged over the seeds first: sign-flip on "
                        "the seed-averaged top-1 / top-5 hit rates and ranks.");
  h.add_table(tab);
}

void roi_section(HtmlReport& h, const fs::path& file) {
  auto t = experiment::load_roi_table(file);
  h.add_section("Where the semantics are: ROI attribution");
  Table tab;
  tab.caption = "BrainSem zero-shot accuracy by ROI token (" + t.prototype + " prototypes), " +
                std::to_string(t.subjects.size()) + " subject(s) x " + std::to_string(t.seeds.size()) + " seed(s)";
  const std::string top_k = t.top_k_test == "mcnemar" ? "McNemar" : "sign-flip";
  tab.header = {"tokens",          "cells",         "top-1 %",   "95 % interval",
                "top-5 %",         "95 % interval", "mean rank", "p " + top_k + " top-1",
                "p sign-flip rank"};
  for (const auto& r : t.rows) {
    const bool ref = r.mode == "all";
    tab.rows.push_back(
        {r.name(), std::to_string(r.cells), pct(r.top1.mean), "[" + pct(r.ci_top1.lo) + ", " + pct(r.ci_top1.hi) + "]",
         pct(r.top5.mean), "[" + pct(r.ci_top5.lo) + ", " + pct(r.ci_top5.hi) + "]", format_number(r.mean_rank, 2),
         ref ? "reference" : format_p(r.test_top1.p_value), ref ? "reference" : format_p(r.test_rank.p_value)});
  }
  tab.note =
      "without R: trained and tested without R's token; only R: R's token alone; masked R: the full model "
      "with R's test token replaced by its training mean, no retraining. Intervals: " +
      t.interval + ". p-values against 'all', paired on (subject, test item) units.";
  h.add_table(tab);
  for (const auto& chart : save_roi_charts(t, file.parent_path())) h.add_figure(chart.file, chart.caption);
}

struct Analyses {
  fs::path retrieval, similarity, maps;
  double seconds = 0;
  std::string maps_skipped;  // why the maps were not computed (class names that are not synsets), or ""
};

// The first class of the run that is not a WordNet noun synset, or "" when all are: the maps'
// biotic/abiotic colouring needs ImageNet wnids, which datasets from `data import` need not have.
std::string first_non_synset(const experiment::TrainedRun& run, const data::WordNet& wn) {
  for (const auto* classes : {&run.study.subject.train_classes, &run.study.subject.test_classes})
    for (const auto& c : *classes)
      if (!wn.contains(c)) return c;
  return {};
}

Analyses ensure_analyses(const fs::path& analysis, const RunInfo& run, const StudyReportOptions& o) {
  Analyses a{analysis / "retrieval", analysis / "similarity", analysis / "maps", 0, ""};
  const bool need = !fs::exists(a.retrieval / "retrieval.json") || !fs::exists(a.similarity / "similarity.json") ||
                    (!fs::exists(a.maps / "maps.json") && data::WordNet::available(o.wordnet));
  if (!need || !o.compute_missing) return a;
  if (!train::has_checkpoint(run.dir)) return a;  // nothing to compute from
  auto t0 = std::chrono::steady_clock::now();
  auto tr = experiment::open_run(run.dir);
  auto fresh = [](const fs::path& d) {
    if (fs::exists(d)) fs::remove_all(d);  // an incomplete earlier attempt
  };
  if (!fs::exists(a.retrieval / "retrieval.json")) {
    std::string desc;
    auto store = analysis::default_retrieval_store(tr.study, &desc);
    auto r = analysis::retrieve_run(tr, store, desc, analysis::RetrievalOptions{});
    fresh(a.retrieval);
    core::build_directory_atomically(a.retrieval, [&](const fs::path& tmp) { analysis::write_retrieval(tmp, r); });
  }
  if (!fs::exists(a.similarity / "similarity.json")) {
    auto s = analysis::analyse_run_similarity(tr, 3);
    fresh(a.similarity);
    core::build_directory_atomically(a.similarity, [&](const fs::path& tmp) { analysis::write_similarity(tmp, s); });
  }
  if (!fs::exists(a.maps / "maps.json") && data::WordNet::available(o.wordnet)) {
    auto wn = data::WordNet::load(o.wordnet);
    if (auto c = first_non_synset(tr, wn); !c.empty()) {
      a.maps_skipped = "Embedding maps (Fig. 5) and the biotic/abiotic analysis were skipped: class '" + c +
                       "' is not a WordNet 3.0 noun synset, and the biotic label comes from WordNet (ImageNet "
                       "wnids such as n01443537). Every other section is computed as usual.";
    } else {
      analysis::MapOptions mo;
      mo.max_train = o.map_train_samples;
      mo.tsne_iterations = o.tsne_iterations;
      auto m = analysis::run_map_study(tr, wn, mo);
      fresh(a.maps);
      core::build_directory_atomically(a.maps, [&](const fs::path& tmp) { analysis::write_map_study(tmp, m); });
    }
  }
  a.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return a;
}

// Each run's permutation null and noise ceiling (train/score_context.h), as
// DIR/analysis/score_context/<subject>.json; missing ones are computed from the run's checkpoint.
// A run that cannot be reopened (moved inputs) is listed with the reason instead.
std::vector<std::pair<std::string, json>> ensure_score_contexts(const fs::path& analysis,
                                                                const std::vector<RunInfo>& runs,
                                                                const StudyReportOptions& o, double* seconds) {
  std::vector<std::pair<std::string, json>> out;
  auto t0 = std::chrono::steady_clock::now();
  for (const auto& run : runs) {
    const fs::path file = analysis / "score_context" / (run.subject + ".json");
    if (fs::exists(file)) {
      out.push_back({run.subject, json::parse(core::read_text_file(file))});
      continue;
    }
    if (!o.compute_missing || !train::has_checkpoint(run.dir)) continue;
    try {
      torch::NoGradGuard no_grad;
      auto tr = experiment::open_run(run.dir);
      auto embedding = tr.embed(tr.study.subject.test_x);  // [N_test, E]
      auto j = experiment::score_context("brainsem", embedding, tr.study, tr.config.seed).to_json();
      fs::create_directories(file.parent_path());
      core::write_text_atomically(file, j.dump(2) + "\n");
      out.push_back({run.subject, j});
    } catch (const Error& e) {
      out.push_back({run.subject, json{{"error", e.what()}}});
    }
  }
  *seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

void score_context_section(HtmlReport& h, const std::vector<std::pair<std::string, json>>& contexts,
                           const std::vector<RunInfo>& runs) {
  if (contexts.empty()) return;
  h.add_section("Reading the scores: permutation null and noise ceiling");
  h.add_paragraph(
      "Permutation null: the test labels shuffled across the test items 10000 times (the similarity matrix kept), p = "
      "(1 + #{shuffles scoring at least as well}) / 10001. Noise ceiling: a split-half, brain-side identification "
      "ceiling. The repeats of each test image are split at random into two halves (floor and ceil of half; images "
      "may have different repeat counts), each half averaged, and half A's pattern identifies its image when it "
      "correlates (Pearson across voxels) with the same image's half-B pattern at least as well as with every other "
      "image's; both directions, averaged over random splits. It says how reliably the averaged test fMRI tells the "
      "test images apart, on the same 1-of-N scale as the scores; it is not a bound proven for every decoder (each "
      "half averages only half the repeats, and a decoder matches brain patterns to image features). It needs the "
      "trial-level test data of a BData file.");
  Table t;
  t.caption = "BrainSem's zero-shot score next to its permutation null and the test data's noise ceiling";
  t.header = {"subject",
              "prototype",
              "BrainSem top-1 / top-5 %",
              "permutation p (top-1 / top-5)",
              "null mean top-1 / top-5 %",
              "noise ceiling top-1 / top-5 % (sd over splits)",
              "ceiling chance %",
              "images x repeats",
              "voxel reliability"};
  std::vector<std::string> errors;
  for (const auto& [subject, j] : contexts) {
    if (j.contains("error")) {
      errors.push_back(subject + ": " + j.at("error").get<std::string>());
      continue;
    }
    const auto& nc = j.at("noise_ceiling");
    std::vector<std::string> ceiling{"n/a", "", "", ""};
    if (!nc.is_null()) {
      const std::string reps = nc.at("min_repeats") == nc.at("max_repeats")
                                   ? std::to_string(nc.at("min_repeats").get<int64_t>())
                                   : std::to_string(nc.at("min_repeats").get<int64_t>()) + "-" +
                                         std::to_string(nc.at("max_repeats").get<int64_t>());
      ceiling = {
          pct(nc.at("top1").get<double>()) + " (" + pct(nc.at("top1_sd").get<double>()) + ") / " +
              pct(nc.at("top5").get<double>()),
          pct(nc.at("chance_top1").get<double>()) + " / " + pct(nc.at("chance_top5").get<double>()),
          std::to_string(nc.at("images").get<int64_t>()) + " x " + reps,
          nc.at("voxel_reliability").is_null() ? "n/a" : format_number(nc.at("voxel_reliability").get<double>(), 3)};
    }
    bool first = true;
    for (const auto& p : j.at("permutation_null")) {
      t.rows.push_back({first ? subject : "", p.at("prototype").get<std::string>(),
                        pct(p.at("top1").get<double>()) + " / " + pct(p.at("top5").get<double>()),
                        format_p(p.at("p_top1").get<double>()) + " / " + format_p(p.at("p_top5").get<double>()),
                        pct(p.at("null_mean_top1").get<double>()) + " / " + pct(p.at("null_mean_top5").get<double>()),
                        first ? ceiling[0] : "", first ? ceiling[1] : "", first ? ceiling[2] : "",
                        first ? ceiling[3] : ""});
      first = false;
    }
  }
  int64_t classes = 0;
  for (const auto& [subject, j] : contexts)
    if (j.contains("test_classes")) classes = j.at("test_classes").get<int64_t>();
  t.note = "The scores rank the " + std::to_string(classes) +
           " test classes; the ceiling identifies among the test images (the same number when each test class has one "
           "image, as in GOD).";
  if (runs.size() > contexts.size()) t.note += " Runs without a checkpoint have no entry.";
  if (!t.rows.empty()) h.add_table(t);
  for (const auto& e : errors) h.add_paragraph("Not computed for " + e);
}

void maps_section(HtmlReport& h, const fs::path& dir, const std::string& subject) {
  if (!fs::exists(dir / "maps.json")) return;
  auto j = json::parse(core::read_text_file(dir / "maps.json"));
  h.add_section("Embedding maps (Fig. 5)");
  h.add_paragraph(subject + ": " + std::to_string(j.at("points").get<int64_t>()) + " points (" +
                  std::to_string(j.at("test_points").get<int64_t>()) + " test items and training samples), " +
                  std::to_string(j.at("biotic_points").get<int64_t>()) +
                  " biotic (WordNet hyponyms of living_thing.n.01). Separability numbers are computed in each " +
                  j.at("metrics_space").get<std::string>() + ".");
  const bool grouped = !j.at("metrics").empty() && j.at("metrics")[0].contains("train_classes");
  if (!grouped) {
    // maps.json of an earlier version (folds not grouped by class): its numbers are not shown.
    h.add_paragraph("The separability numbers in " + (dir / "maps.json").string() +
                    " predate class-grouped cross-validation; delete that directory to recompute them.");
  } else {
    Table t;
    t.caption =
        "Biotic vs abiotic: is there a linear boundary? (training-class samples and unseen test-class items apart)";
    t.header = {"space",
                "dimensions",
                "points",
                "points / classes",
                "logistic-regression CV accuracy (sd over folds)",
                "majority-class rate",
                "k-NN purity (biotic, other classes)",
                "k-NN purity (class)"};
    auto num = [](const json& v, int d) {
      return v.is_null() ? std::string("n/a") : format_number(v.get<double>(), d);
    };
    std::vector<std::string> notes;
    for (const auto& m : j.at("metrics"))
      for (const char* subset : {"train_classes", "test_classes"}) {
        const auto& x = m.at(subset);
        const std::string which = std::string(subset) == "train_classes" ? "training classes" : "test classes (unseen)";
        t.rows.push_back(
            {m.at("space").get<std::string>(), std::to_string(m.at("dims").get<int64_t>()), which,
             std::to_string(x.at("points").get<int64_t>()) + " / " + std::to_string(x.at("classes").get<int64_t>()),
             x.at("logistic_cv_accuracy").is_null()
                 ? "n/a"
                 : num(x.at("logistic_cv_accuracy"), 3) + " (" + num(x.at("logistic_cv_sd"), 3) + ")",
             num(x.at("majority_rate"), 3), num(x.at("knn_purity_biotic"), 3), num(x.at("knn_purity_class"), 3)});
        if (x.contains("note") &&
            std::find(notes.begin(), notes.end(), which + ": " + x.at("note").get<std::string>()) == notes.end())
          notes.push_back(which + ": " + x.at("note").get<std::string>());
      }
    t.note =
        "Up to " + std::to_string(j.at("options").at("folds").get<int64_t>()) +
        "-fold CV with folds grouped by class (no class in both the training and the held-out folds; stratified by the "
        "biotic label), L2 logistic regression (C = " +
        format_number(j.at("options").at("c").get<double>(), 2) +
        "); up to k = " + std::to_string(j.at("options").at("knn").get<int64_t>()) +
        " nearest neighbours, for the biotic label drawn from other classes only.";
    for (const auto& n : notes) t.note += " " + n + ".";
    h.add_table(t);
  }
  static const std::map<std::string, std::string> names{
      {"raw_fmri", "raw fMRI"}, {"brainsem", "BrainSem embedding"}, {"clip", "CLIP"}};
  for (const auto& e : j.at("maps")) {
    // Only a figure beside maps.json: a name with a folder in it could pull any file on the
    // reader's disk into a page they then share.
    const std::string name = e.at("file").get<std::string>();
    if (name.empty() || name == "." || name == ".." || fs::path(name).filename().string() != name) {
      h.add_paragraph("A map named '" + name + "' in " + (dir / "maps.json").string() +
                      " is not a file in that folder and is not shown.");
      continue;
    }
    auto file = dir / (name + ".png");
    const std::string space = e.at("space").get<std::string>();
    const auto label = names.find(space);
    if (fs::exists(file))
      h.add_figure(file, (e.at("method") == "tsne" ? "t-SNE of " : "ISOMAP of ") +
                             (label == names.end() ? space : label->second) + " (" +
                             std::to_string(e.at("points").get<int64_t>()) + " points)");
  }
}

void similarity_section(HtmlReport& h, const fs::path& dir, const std::string& subject) {
  if (!fs::exists(dir / "similarity.json")) return;
  auto j = json::parse(core::read_text_file(dir / "similarity.json"));
  h.add_section("Similarity to the training images (Fig. 4)");
  auto num = [](const json& v, int d) { return v.is_null() ? std::string("n/a") : format_number(v.get<double>(), d); };
  h.add_paragraph(subject + ": " + std::to_string(j.at("correct").get<int64_t>()) + " of " +
                  std::to_string(j.at("n").get<int64_t>()) +
                  " test images decoded correctly (top-1). Mean CLIP cosine to the " +
                  std::to_string(j.at("top").get<int64_t>()) + " most similar training images: correct " +
                  num(j.at("mean_similarity_correct"), 4) + ", wrong " + num(j.at("mean_similarity_wrong"), 4) +
                  ". Point-biserial r = " + num(j.at("point_biserial").at("r"), 3) +
                  " (p = " + format_p(j.at("point_biserial").at("p").get<double>()) +
                  "); Spearman r(similarity, rank) = " + num(j.at("spearman_rank").at("r"), 3) +
                  " (p = " + format_p(j.at("spearman_rank").at("p").get<double>()) + ").");
  if (fs::exists(dir / "similarity.png"))
    h.add_figure(dir / "similarity.png",
                 "Each test image: similarity to the training set vs the rank of its true class.");
}

void retrieval_section(HtmlReport& h, const fs::path& dir, const std::string& subject, int64_t examples,
                       const data::WordNet* wn) {
  if (!fs::exists(dir / "retrieval.json")) return;
  auto j = json::parse(core::read_text_file(dir / "retrieval.json"));
  h.add_section("Retrieval (Fig. 3)");
  const int64_t k = j.at("k");
  h.add_paragraph(subject + ": top-" + std::to_string(k) + " of a pool of " +
                  std::to_string(j.at("pool").get<int64_t>()) + " images (" + j.at("store").get<std::string>() + "; " +
                  std::to_string(j.at("excluded_test_stimuli").get<int64_t>()) + " test stimuli and " +
                  std::to_string(j.at("excluded_near_duplicates").get<int64_t>()) +
                  " near-duplicates excluded). Recall@" + std::to_string(k) + " " +
                  pct(j.at("recall_at_k").get<double>()) + " % (chance " +
                  pct(j.at("chance_recall_at_k").get<double>()) + " %), precision@" + std::to_string(k) + " " +
                  pct(j.at("precision_at_k").get<double>()) + " %, mean rank of the first true-class image " +
                  format_number(j.at("mean_class_rank").get<double>(), 1) +
                  ". The stores hold features only (no image files), so examples are listed by name and similarity; "
                  "* marks a retrieved image of the test image's class.");
  Table t;
  t.caption = "Retrieval examples";
  t.header = {"test image", "class"};
  for (int64_t i = 1; i <= k; ++i) t.header.push_back("#" + std::to_string(i));
  int64_t shown = 0;
  for (const auto& it : j.at("items")) {
    if (shown++ >= examples) break;
    std::string cls = it.at("class");
    if (wn && wn->contains(cls)) cls += " (" + wn->name(cls) + ")";
    std::vector<std::string> row{it.at("name").get<std::string>(), cls};
    for (const auto& hit : it.at("hits"))
      row.push_back(hit.at("name").get<std::string>() + (hit.at("class") == it.at("class") ? " *" : "") + " " +
                    format_number(hit.at("similarity").get<double>(), 3));
    while (row.size() < t.header.size()) row.push_back("");
    t.rows.push_back(row);
  }
  h.add_table(t);
}

void manifest_section(HtmlReport& h, const fs::path& dir, bool demo, const std::vector<RunInfo>& runs,
                      double analysis_seconds) {
  h.add_section("Manifest");
  std::vector<std::pair<std::string, std::string>> m;
  m.push_back({"program", std::string("brainsem ") + BRAINSEM_VERSION});
  m.push_back({"libtorch", TORCH_VERSION});
  std::time_t now = std::time(nullptr);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  m.push_back({"report written", buf});
  m.push_back({"hardware", cpu_model() + ", " + std::to_string(std::thread::hardware_concurrency()) +
                               " hardware threads, torch threads " + std::to_string(torch::get_num_threads())});
  if (demo && fs::exists(dir / "manifest.json")) {
    try {
      flatten(json::parse(core::read_text_file(dir / "manifest.json")), "demo", m);
    } catch (const json::exception& e) {
      m.push_back({"demo manifest", std::string("unreadable: ") + e.what()});
    }
  }
  std::map<std::string, std::string> hashed;  // each input file hashed once
  for (const auto& r : runs) {
    const std::string p = r.subject + ".";
    m.push_back({p + "train seconds", format_number(r.results.train_seconds, 1)});
    m.push_back({p + "best step", r.results.best_step >= 0 ? std::to_string(r.results.best_step)
                                                           : std::string("the last (no held-out classes)")});
    if (fs::exists(r.dir / experiment::kRunConfigFile)) {
      const json c = experiment::read_run_config_fields(r.dir);
      if (c.contains("seed")) m.push_back({p + "seed", c.at("seed").dump()});
      m.push_back({p + "config", c.dump()});
    }
    if (fs::exists(r.dir / experiment::kRunInputsFile)) {
      const json in = experiment::read_run_inputs(r.dir).to_json();
      for (auto it = in.begin(); it != in.end(); ++it) {
        if (!it.value().is_string() || it.value().get<std::string>().empty()) continue;
        const std::string f = it.value();
        if (!hashed.count(f)) hashed[f] = file_fingerprint(f);
        m.push_back({p + it.key(), f + " (" + hashed[f] + ")"});
      }
    }
  }
  m.push_back({"analysis seconds (this report)", format_number(analysis_seconds, 1)});
  h.add_manifest(m);
}

}  // namespace

fs::path write_study_report(const fs::path& dir, const StudyReportOptions& o) {
  BRAINSEM_CHECK(fs::is_directory(dir), "report: ", dir, " is not a directory");
  bool demo = false;
  auto runs = find_runs(dir, &demo);
  const fs::path analysis = dir / "analysis";
  auto an = ensure_analyses(analysis, runs[0], o);
  std::unique_ptr<data::WordNet> wn;
  if (data::WordNet::available(o.wordnet)) wn = std::make_unique<data::WordNet>(data::WordNet::load(o.wordnet));

  HtmlReport h("BrainSem study report", demo ? std::to_string(runs.size()) + " subjects, " + dir.string()
                                             : "run " + fs::absolute(dir).lexically_normal().string());
  results_section(h, runs);
  score_context_section(h, ensure_score_contexts(analysis, runs, o, &an.seconds), runs);
  const fs::path ablation = demo ? dir / "ablation" / "ablation.json" : fs::path();
  if (!ablation.empty() && fs::exists(ablation)) ablation_section(h, ablation);
  const fs::path roi = demo ? dir / "roi" / "roi.json" : fs::path();
  if (!roi.empty() && fs::exists(roi)) roi_section(h, roi);
  maps_section(h, an.maps, runs[0].subject);
  if (!an.maps_skipped.empty()) {
    h.add_section("Embedding maps (Fig. 5)");
    h.add_paragraph(an.maps_skipped);
  }
  similarity_section(h, an.similarity, runs[0].subject);
  retrieval_section(h, an.retrieval, runs[0].subject, o.retrieval_examples, wn.get());
  manifest_section(h, dir, demo, runs, an.seconds);
  const fs::path out = o.output.empty() ? dir / "report.html" : o.output;
  h.save(out);
  return out;
}

void write_study_report(const fs::path& dir) { write_study_report(dir, StudyReportOptions{}); }

}  // namespace brainsem::report
