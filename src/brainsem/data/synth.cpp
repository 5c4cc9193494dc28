#include "brainsem/data/synth.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>
#include <unordered_map>

#include "brainsem/core/atomic_file.h"
#include "brainsem/core/error.h"
#include "brainsem/core/progress.h"
#include "brainsem/core/resources.h"
#include "brainsem/data/feature_store.h"
#include "brainsem/data/synth_rng.h"
#include "brainsem/io/safetensors.h"

#ifndef BRAINSEM_VERSION
#define BRAINSEM_VERSION "unknown"
#endif

namespace fs = std::filesystem;
using nlohmann::json;

namespace brainsem::data {

namespace {

constexpr int kTrainRuns = 24, kTrainPerRun = 50;
constexpr int kImageryRuns = 20, kImageryPerRun = 25;

uint64_t wnid_number(const std::string& wnid) { return std::stoull(wnid.substr(1)); }

// Fisher-Yates shuffle of 0..n-1.
std::vector<int64_t> permutation(synth_rng::Stream& rng, int64_t n) {
  std::vector<int64_t> p(static_cast<size_t>(n));
  std::iota(p.begin(), p.end(), 0);
  for (int64_t i = n - 1; i > 0; --i) {
    int64_t j = static_cast<int64_t>(rng.uniform() * static_cast<double>(i + 1));
    if (j > i) j = i;
    std::swap(p[static_cast<size_t>(i)], p[static_cast<size_t>(j)]);
  }
  return p;
}

// One image feature: normalise(centre + instance_scale * g / sqrt(E)), g ~ N(0, I).
torch::Tensor image_feature(const torch::Tensor& centre, double instance_scale, synth_rng::Stream rng) {
  const int64_t dim = centre.size(0);
  torch::Tensor f = centre + rng.normal_tensor({dim}, instance_scale / std::sqrt(static_cast<double>(dim)));
  return f / f.norm();
}

torch::Tensor apply_phi(const torch::Tensor& a, const std::string& phi) {
  if (phi == "linear") return a;
  if (phi == "tanh") return torch::tanh(a);
  if (phi == "relu") return torch::relu(a);
  fail("unknown ROI nonlinearity '", phi, "' (linear, tanh or relu)");
}

bool prefers(const GodClass& c, const std::string& category) {
  if (category == "animate") return c.animate;
  if (category == "place") return c.place;
  return false;
}

std::string json_list(const std::vector<std::string>& v) { return json(v).dump(); }

}  // namespace

// ---------------------------------------------------------------------------------------------
// Config

std::vector<SynthRoi> god_like_rois() {
  // name, voxels, semantic, low-level, noise, nonlinearity, preferred category
  return {
      {"V1", 1000, 0.10, 1.00, 6.0, "linear", ""},    {"V2", 1000, 0.15, 0.90, 6.0, "linear", ""},
      {"V3", 800, 0.25, 0.75, 6.0, "linear", ""},     {"V4", 500, 0.45, 0.50, 6.0, "tanh", ""},
      {"LOC", 500, 0.80, 0.25, 6.0, "tanh", ""},      {"FFA", 350, 0.80, 0.15, 6.0, "relu", "animate"},
      {"PPA", 300, 0.80, 0.15, 6.0, "relu", "place"},
  };
}

json SynthConfig::to_json() const {
  json rj = json::array();
  for (const auto& r : rois)
    rj.push_back({{"name", r.name},
                  {"voxels", r.voxels},
                  {"semantic_weight", r.semantic_weight},
                  {"lowlevel_weight", r.lowlevel_weight},
                  {"noise_sd", r.noise_sd},
                  {"nonlinearity", r.nonlinearity},
                  {"category", r.category}});
  return {{"seed", seed},
          {"subjects", subjects},
          {"library_per_class", library_per_class},
          {"instance_scale", instance_scale},
          {"centre_jitter", centre_jitter},
          {"geometry_seed", geometry_seed},
          {"lowlevel_dim", lowlevel_dim},
          {"rois", rj},
          {"roi_size_jitter", roi_size_jitter},
          {"min_total_voxels", min_total_voxels},
          {"max_total_voxels", max_total_voxels},
          {"voxel_gain_jitter", voxel_gain_jitter},
          {"subject_noise_jitter", subject_noise_jitter},
          {"category_gain", category_gain},
          {"category_offset", category_offset},
          {"baseline_sd", baseline_sd},
          {"baseline_mean", baseline_mean},
          {"run_shift_sd", run_shift_sd},
          {"test_repeats", test_repeats},
          {"imagery", imagery},
          {"imagery_gain", imagery_gain},
          {"write_truth", write_truth}};
}

SynthConfig SynthConfig::from_json(const json& j) {
  BRAINSEM_CHECK(j.is_object(), "synthetic-data config must be a JSON object");
  SynthConfig c;
  static const std::set<std::string> known = {"seed",
                                              "subjects",
                                              "library_per_class",
                                              "instance_scale",
                                              "centre_jitter",
                                              "geometry_seed",
                                              "lowlevel_dim",
                                              "rois",
                                              "roi_size_jitter",
                                              "min_total_voxels",
                                              "max_total_voxels",
                                              "voxel_gain_jitter",
                                              "subject_noise_jitter",
                                              "category_gain",
                                              "category_offset",
                                              "baseline_sd",
                                              "baseline_mean",
                                              "run_shift_sd",
                                              "test_repeats",
                                              "imagery",
                                              "imagery_gain",
                                              "write_truth"};
  for (auto it = j.begin(); it != j.end(); ++it)
    BRAINSEM_CHECK(known.count(it.key()), "synthetic-data config: unknown key '", it.key(),
                   "' (see docs/synthetic_data.md)");
  try {
#define BRAINSEM_SYNTH_GET(key) \
  if (j.contains(#key)) j.at(#key).get_to(c.key);
    BRAINSEM_SYNTH_GET(seed)
    BRAINSEM_SYNTH_GET(subjects)
    BRAINSEM_SYNTH_GET(library_per_class)
    BRAINSEM_SYNTH_GET(instance_scale)
    BRAINSEM_SYNTH_GET(centre_jitter)
    BRAINSEM_SYNTH_GET(geometry_seed)
    BRAINSEM_SYNTH_GET(lowlevel_dim)
    BRAINSEM_SYNTH_GET(roi_size_jitter)
    BRAINSEM_SYNTH_GET(min_total_voxels)
    BRAINSEM_SYNTH_GET(max_total_voxels)
    BRAINSEM_SYNTH_GET(voxel_gain_jitter)
    BRAINSEM_SYNTH_GET(subject_noise_jitter)
    BRAINSEM_SYNTH_GET(category_gain)
    BRAINSEM_SYNTH_GET(category_offset)
    BRAINSEM_SYNTH_GET(baseline_sd)
    BRAINSEM_SYNTH_GET(baseline_mean)
    BRAINSEM_SYNTH_GET(run_shift_sd)
    BRAINSEM_SYNTH_GET(test_repeats)
    BRAINSEM_SYNTH_GET(imagery)
    BRAINSEM_SYNTH_GET(imagery_gain)
    BRAINSEM_SYNTH_GET(write_truth)
#undef BRAINSEM_SYNTH_GET
    if (j.contains("rois")) {
      c.rois.clear();
      for (const auto& r : j.at("rois")) {
        SynthRoi roi;
        r.at("name").get_to(roi.name);
        r.at("voxels").get_to(roi.voxels);
        r.at("semantic_weight").get_to(roi.semantic_weight);
        r.at("lowlevel_weight").get_to(roi.lowlevel_weight);
        r.at("noise_sd").get_to(roi.noise_sd);
        r.at("nonlinearity").get_to(roi.nonlinearity);
        if (r.contains("category")) r.at("category").get_to(roi.category);
        c.rois.push_back(roi);
      }
    }
  } catch (const json::exception& e) {
    fail("synthetic-data config: ", e.what(), " (see docs/synthetic_data.md for the knobs and their types)");
  }
  return c;
}

void SynthConfig::validate() const {
  auto bad = [](const char* knob, const auto& value, const char* rule) {
    fail("synthetic-data config: ", knob, " = ", value, " is invalid: ", rule);
  };
  if (subjects < 1 || subjects > 100) bad("subjects", subjects, "must be 1..100");
  if (library_per_class < 1 || library_per_class > 1000) bad("library_per_class", library_per_class, "must be 1..1000");
  if (!(instance_scale >= 0)) bad("instance_scale", instance_scale, "must be >= 0");
  if (!(centre_jitter >= 0)) bad("centre_jitter", centre_jitter, "must be >= 0");
  if (lowlevel_dim < 1 || lowlevel_dim > 4096) bad("lowlevel_dim", lowlevel_dim, "must be 1..4096");
  if (rois.empty()) bad("rois", "[]", "needs at least one ROI");
  std::set<std::string> names;
  for (const auto& r : rois) {
    if (r.name.empty() || !names.insert(r.name).second) bad("rois[].name", r.name, "must be non-empty and unique");
    if (r.voxels < 1) bad("rois[].voxels", r.voxels, "must be >= 1");
    if (!(r.noise_sd >= 0) || !(r.semantic_weight >= 0) || !(r.lowlevel_weight >= 0))
      bad("rois[] weights", r.name, "semantic_weight, lowlevel_weight and noise_sd must be >= 0");
    if (r.nonlinearity != "linear" && r.nonlinearity != "tanh" && r.nonlinearity != "relu")
      bad("rois[].nonlinearity", r.nonlinearity, "must be linear, tanh or relu");
    if (!r.category.empty() && r.category != "animate" && r.category != "place")
      bad("rois[].category", r.category, "must be empty, animate or place");
  }
  if (min_total_voxels < static_cast<int64_t>(rois.size()) || max_total_voxels < min_total_voxels)
    bad("min_total_voxels/max_total_voxels", min_total_voxels, "need #ROIs <= min <= max");
  if (max_total_voxels > 200000) bad("max_total_voxels", max_total_voxels, "must be <= 200000");
  if (!(roi_size_jitter >= 0) || !(voxel_gain_jitter >= 0) || !(subject_noise_jitter >= 0))
    bad("jitters", roi_size_jitter, "roi_size_jitter, voxel_gain_jitter, subject_noise_jitter must be >= 0");
  if (!(category_gain >= 0) || !(category_offset >= 0)) bad("category_gain/offset", category_gain, "must be >= 0");
  if (!(baseline_sd >= 0) || !(run_shift_sd >= 0) || !std::isfinite(baseline_mean))
    bad("baseline_sd/run_shift_sd", baseline_sd, "must be >= 0");
  if (test_repeats < 1 || test_repeats > 1000) bad("test_repeats", test_repeats, "must be 1..1000");
  if (!(imagery_gain >= 0)) bad("imagery_gain", imagery_gain, "must be >= 0");
}

// ---------------------------------------------------------------------------------------------
// The model

torch::Tensor SynthTruth::expected_response(int s, const torch::Tensor& features, const torch::Tensor& low,
                                            const std::vector<int64_t>& class_index, bool perception) const {
  const SynthSubjectTruth& sub = subjects.at(static_cast<size_t>(s));
  const int64_t n = features.size(0);
  BRAINSEM_CHECK(static_cast<int64_t>(class_index.size()) == n, "expected_response: ", n, " features but ",
                 class_index.size(), " class indices");
  torch::Tensor drive = torch::matmul((features - semantic_mean) / semantic_scale, sub.w_sem.t());  // [n, V]
  torch::Tensor out = sub.baseline.unsqueeze(0).repeat({n, 1});
  const double gain = perception ? 1.0 : config.imagery_gain;
  int64_t start = 0;
  for (size_t r = 0; r < config.rois.size(); ++r) {
    const SynthRoi& roi = config.rois[r];
    const int64_t len = sub.roi_sizes[r];
    torch::Tensor sem = apply_phi(drive.narrow(1, start, len), roi.nonlinearity);  // [n, len]
    torch::Tensor pref = torch::zeros({n, 1}, torch::kFloat32);
    if (!roi.category.empty())
      for (int64_t i = 0; i < n; ++i)
        if (prefers(classes.at(static_cast<size_t>(class_index[static_cast<size_t>(i)])), roi.category))
          pref[i][0] = 1.0f;
    torch::Tensor resp = sem * (1.0 + config.category_gain * pref) * sub.sem_gain.narrow(0, start, len) +
                         pref * sub.cat_offset.narrow(0, start, len);
    out.narrow(1, start, len).add_(gain * resp);
    start += len;
  }
  if (perception) out += torch::matmul(low, sub.w_low.t()) * sub.low_gain;
  return out;
}

SynthTruth build_synth_truth(const SynthConfig& cfg_in) {
  SynthTruth t;
  t.config = cfg_in;
  if (t.config.rois.empty()) t.config.rois = god_like_rois();
  const SynthConfig& cfg = t.config;
  cfg.validate();
  const uint64_t seed = cfg.seed;

  t.classes = god_classes();
  t.class_centres = class_centres(t.classes, cfg.centre_jitter, cfg.geometry_seed);
  const int64_t dim = t.class_centres.size(1);
  std::unordered_map<std::string, int64_t> class_row;
  for (size_t i = 0; i < t.classes.size(); ++i) class_row.emplace(t.classes[i].wnid, static_cast<int64_t>(i));

  t.stimuli = god_training_stimuli();
  for (const auto& s : god_test_stimuli()) t.stimuli.push_back(s);
  const int64_t n_stim = static_cast<int64_t>(t.stimuli.size());
  t.stimulus_features = torch::empty({n_stim, dim}, torch::kFloat32);
  t.lowlevel = torch::empty({n_stim, cfg.lowlevel_dim}, torch::kFloat32);
  for (int64_t i = 0; i < n_stim; ++i) {
    const GodStimulus& st = t.stimuli[static_cast<size_t>(i)];
    auto it = class_row.find(st.synset());
    BRAINSEM_CHECK(it != class_row.end(), "stimulus ", st.name, " has no class in the class-centre table");
    t.stimulus_class.push_back(it->second);
    // Keyed by the image name: the same image gets the same feature whatever else changes.
    const auto us = st.name.find('_');
    const uint64_t img = std::stoull(st.name.substr(us + 1));
    t.stimulus_features[i] = image_feature(t.class_centres[it->second], cfg.instance_scale,
                                           synth_rng::Stream(seed, "stimulus", wnid_number(st.synset()), img));
    t.lowlevel[i] =
        synth_rng::Stream(seed, "lowlevel", wnid_number(st.synset()), img).normal_tensor({cfg.lowlevel_dim});
  }
  torch::Tensor train_f = t.stimulus_features.narrow(0, 0, 1200);
  t.semantic_mean = train_f.mean(0);
  t.semantic_scale = std::sqrt((train_f - t.semantic_mean).pow(2).sum(1).mean().item<double>());

  const int n_runs = kTrainRuns + cfg.test_repeats + (cfg.imagery ? kImageryRuns : 0);
  for (int s = 0; s < cfg.subjects; ++s) {
    SynthSubjectTruth sub;
    synth_rng::Stream rs(seed, "subject", static_cast<uint64_t>(s));
    // ROI sizes: a total drawn in [min, max], split by jittered proportions (largest remainder).
    const int64_t total =
        cfg.min_total_voxels +
        static_cast<int64_t>(rs.uniform() * static_cast<double>(cfg.max_total_voxels - cfg.min_total_voxels + 1));
    std::vector<double> w;
    for (const auto& r : cfg.rois)
      w.push_back(static_cast<double>(r.voxels) * std::exp(cfg.roi_size_jitter * rs.normal()));
    const double wsum = std::accumulate(w.begin(), w.end(), 0.0);
    std::vector<std::pair<double, size_t>> frac;
    int64_t assigned = 0;
    for (size_t r = 0; r < w.size(); ++r) {
      const double exact = static_cast<double>(total) * w[r] / wsum;
      sub.roi_sizes.push_back(std::max<int64_t>(1, static_cast<int64_t>(std::floor(exact))));
      assigned += sub.roi_sizes.back();
      frac.emplace_back(exact - std::floor(exact), r);
    }
    std::stable_sort(frac.begin(), frac.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    for (size_t k = 0; assigned < total; k = (k + 1) % frac.size(), ++assigned) ++sub.roi_sizes[frac[k].second];
    sub.noise_scale = std::exp(cfg.subject_noise_jitter * rs.normal());
    const int64_t V = std::accumulate(sub.roi_sizes.begin(), sub.roi_sizes.end(), int64_t{0});

    sub.w_sem = synth_rng::Stream(seed, "w_sem", s).normal_tensor({V, dim});  // unit-variance drive
    sub.w_low =
        synth_rng::Stream(seed, "w_low", s).normal_tensor({V, cfg.lowlevel_dim}, 1.0 / std::sqrt(cfg.lowlevel_dim));
    sub.sem_gain = torch::empty({V}, torch::kFloat32);
    sub.low_gain = torch::empty({V}, torch::kFloat32);
    sub.cat_offset = torch::zeros({V}, torch::kFloat32);
    sub.noise_sd = torch::empty({V}, torch::kFloat32);
    sub.roi_index = torch::empty({V}, torch::kInt64);
    synth_rng::Stream rv(seed, "voxel", s);
    const double gj = cfg.voxel_gain_jitter;
    int64_t v = 0;
    for (size_t r = 0; r < cfg.rois.size(); ++r) {
      const SynthRoi& roi = cfg.rois[r];
      for (int64_t k = 0; k < sub.roi_sizes[r]; ++k, ++v) {
        // Log-normal gains with mean 1: voxels differ in how strongly they carry each part.
        sub.sem_gain[v] = roi.semantic_weight * std::exp(gj * rv.normal() - 0.5 * gj * gj);
        sub.low_gain[v] = roi.lowlevel_weight * std::exp(gj * rv.normal() - 0.5 * gj * gj);
        sub.cat_offset[v] = roi.category.empty() ? 0.0 : cfg.category_offset * std::abs(rv.normal());
        sub.noise_sd[v] = roi.noise_sd * sub.noise_scale;
        sub.roi_index[v] = static_cast<int64_t>(r);
      }
    }
    sub.baseline = synth_rng::Stream(seed, "baseline", s).normal_tensor({V}, cfg.baseline_sd) + cfg.baseline_mean;
    sub.run_shift = synth_rng::Stream(seed, "run_shift", s).normal_tensor({n_runs, V}, cfg.run_shift_sd);
    t.subjects.push_back(std::move(sub));
  }
  return t;
}

SynthSamples sample_subject(const SynthTruth& t, int s) {
  const SynthConfig& cfg = t.config;
  const SynthSubjectTruth& sub = t.subjects.at(static_cast<size_t>(s));
  const uint64_t seed = cfg.seed;
  SynthSamples out;
  int run = 0, block = 0;
  auto push = [&](int dt, int64_t stim_row, int64_t class_row) {
    out.data_type.push_back(dt);
    out.run.push_back(run);
    out.block.push_back(++block);
    out.stimulus_row.push_back(stim_row);
    out.class_row.push_back(class_row);
    if (stim_row >= 0) {
      const GodStimulus& st = t.stimuli[static_cast<size_t>(stim_row)];
      out.stimulus_id.push_back(st.stimulus_id);
      out.category_index.push_back(static_cast<int>(st.category_index));
      out.image_index.push_back(static_cast<int>(st.image_index));
    } else {
      const GodClass& c = t.classes[static_cast<size_t>(class_row)];
      out.stimulus_id.push_back(static_cast<double>(wnid_number(c.wnid)));  // imagery: category id
      out.category_index.push_back(c.category_index);
      out.image_index.push_back(0);
    }
  };
  // Presentation order differs per subject, as it did in GOD.
  synth_rng::Stream order(seed, "order", static_cast<uint64_t>(s));
  auto train_perm = permutation(order, 1200);
  for (int r = 0; r < kTrainRuns; ++r) {
    ++run;
    for (int k = 0; k < kTrainPerRun; ++k) {
      const int64_t i = train_perm[static_cast<size_t>(r * kTrainPerRun + k)];
      push(1, i, t.stimulus_class[static_cast<size_t>(i)]);
    }
  }
  for (int r = 0; r < cfg.test_repeats; ++r) {
    ++run;
    for (int64_t k : permutation(order, 50)) push(2, 1200 + k, t.stimulus_class[static_cast<size_t>(1200 + k)]);
  }
  std::vector<int64_t> test_class_rows;
  for (size_t i = 0; i < t.classes.size(); ++i)
    if (t.classes[i].split == "test") test_class_rows.push_back(static_cast<int64_t>(i));
  if (cfg.imagery) {
    std::vector<int64_t> seq;
    for (int rep = 0; rep < 10; ++rep)
      for (int64_t k : permutation(order, static_cast<int64_t>(test_class_rows.size())))
        seq.push_back(test_class_rows[static_cast<size_t>(k)]);
    for (int r = 0; r < kImageryRuns; ++r) {
      ++run;
      for (int k = 0; k < kImageryPerRun; ++k) push(3, -1, seq[static_cast<size_t>(r * kImageryPerRun + k)]);
    }
  }

  // Expected responses once per image / imagined class, then run shift + noise per row.
  torch::Tensor mean_stim =
      t.expected_response(s, t.stimulus_features, t.lowlevel, t.stimulus_class, true);  // [1250, V]
  torch::Tensor mean_imag;
  if (cfg.imagery) {
    // Imagery carries the class centre, scaled like an image feature's class part.
    torch::Tensor centres = torch::index_select(t.class_centres, 0, torch::tensor(test_class_rows)) /
                            std::sqrt(1.0 + cfg.instance_scale * cfg.instance_scale);
    mean_imag =
        t.expected_response(s, centres, torch::zeros({centres.size(0), cfg.lowlevel_dim}), test_class_rows, false);
  }
  std::unordered_map<int64_t, int64_t> imag_row;
  for (size_t k = 0; k < test_class_rows.size(); ++k) imag_row[test_class_rows[k]] = static_cast<int64_t>(k);
  const int64_t n = static_cast<int64_t>(out.data_type.size());
  const int64_t V = sub.noise_sd.size(0);
  out.voxels = synth_rng::Stream(seed, "noise", static_cast<uint64_t>(s)).normal_tensor({n, V});  // [N, V]
  out.voxels.mul_(sub.noise_sd);
  for (int64_t i = 0; i < n; ++i) {
    const auto iu = static_cast<size_t>(i);
    torch::Tensor mean =
        out.stimulus_row[iu] >= 0 ? mean_stim[out.stimulus_row[iu]] : mean_imag[imag_row.at(out.class_row[iu])];
    out.voxels[i].add_(mean).add_(sub.run_shift[out.run[iu] - 1]);
  }
  return out;
}

io::BData subject_bdata(const SynthTruth& t, int s, const SynthSamples& smp) {
  const SynthConfig& cfg = t.config;
  const SynthSubjectTruth& sub = t.subjects.at(static_cast<size_t>(s));
  const int64_t n = smp.voxels.size(0), V = smp.voxels.size(1);
  const double nan = std::nan("");
  // Columns: voxels, Run, Block, DataType, Label = [stimulus_id, category_index, image_index].
  const int64_t c_run = V, c_block = V + 1, c_dt = V + 2, c_sid = V + 3, c_cat = V + 4, c_img = V + 5, C = V + 6;
  io::BData b;
  b.dataset = torch::empty({n, C}, torch::kFloat64);
  b.dataset.narrow(1, 0, V).copy_(smp.voxels);
  auto acc = b.dataset.accessor<double, 2>();
  for (int64_t i = 0; i < n; ++i) {
    const auto iu = static_cast<size_t>(i);
    acc[i][c_run] = smp.run[iu];
    acc[i][c_block] = smp.block[iu];
    acc[i][c_dt] = smp.data_type[iu];
    acc[i][c_sid] = smp.stimulus_id[iu];
    acc[i][c_cat] = smp.category_index[iu];
    acc[i][c_img] = smp.image_index[iu] > 0 ? smp.image_index[iu] : nan;
  }
  std::vector<torch::Tensor> rows;
  auto add = [&](const std::string& key, const std::string& desc, const std::function<double(int64_t)>& value) {
    torch::Tensor v = torch::empty({C}, torch::kFloat64);
    auto a = v.accessor<double, 1>();
    for (int64_t c = 0; c < C; ++c) a[c] = value(c);
    b.keys.push_back(key);
    b.descriptions.push_back(desc);
    rows.push_back(v);
  };
  auto only = [&](std::vector<int64_t> cols) {
    return [cols, nan](int64_t c) { return std::find(cols.begin(), cols.end(), c) != cols.end() ? 1.0 : nan; };
  };
  add("VoxelData", "1 = VoxelData", [&](int64_t c) { return c < V ? 1.0 : nan; });
  add("Run", "1 = Run", only({c_run}));
  add("Block", "1 = Block", only({c_block}));
  add("DataType", "1 = DataType", only({c_dt}));
  add("Label", "1 = Label", only({c_sid, c_cat, c_img}));
  add("stimulus_id", "Label stimulus_id", only({c_sid}));
  add("category_index", "Label category_index", only({c_cat}));
  add("image_index", "Label image_index", only({c_img}));
  std::vector<int64_t> start(cfg.rois.size() + 1, 0);
  for (size_t r = 0; r < cfg.rois.size(); ++r) start[r + 1] = start[r] + sub.roi_sizes[r];
  auto roi_flag = [&](const std::function<bool(size_t)>& member) {
    return [&, member](int64_t c) {
      if (c >= V) return nan;
      size_t r = static_cast<size_t>(std::upper_bound(start.begin(), start.end(), c) - start.begin()) - 1;
      return member(r) ? 1.0 : 0.0;
    };
  };
  for (size_t r = 0; r < cfg.rois.size(); ++r)
    add("ROI_" + cfg.rois[r].name, "1 = ROI " + cfg.rois[r].name, roi_flag([r](size_t q) { return q == r; }));
  // LVC = V1-V4, HVC = LOC/FFA/PPA, VC = all (GOD's definitions), when those ROIs are present.
  auto is_lvc = [&](size_t q) {
    const auto& nm = cfg.rois[q].name;
    return nm == "V1" || nm == "V2" || nm == "V3" || nm == "V4";
  };
  auto is_hvc = [&](size_t q) {
    const auto& nm = cfg.rois[q].name;
    return nm == "LOC" || nm == "FFA" || nm == "PPA";
  };
  add("ROI_LVC", "1 = ROI LVC", roi_flag(is_lvc));
  add("ROI_HVC", "1 = ROI HVC", roi_flag(is_hvc));
  add("ROI_VC", "1 = ROI VC", roi_flag([](size_t) { return true; }));
  // Placeholder coordinates on a 3-mm grid, one slab of 12 x 12 voxels per ROI (not anatomical).
  add("voxel_x", "Voxel x coordinate", [&](int64_t c) {
    return c < V
               ? 3.0 * static_cast<double>(
                           (c -
                            start[static_cast<size_t>(std::upper_bound(start.begin(), start.end(), c) - start.begin()) -
                                  1]) %
                           12)
               : nan;
  });
  add("voxel_y", "Voxel y coordinate", [&](int64_t c) {
    return c < V
               ? 3.0 *
                     static_cast<double>(
                         ((c -
                           start[static_cast<size_t>(std::upper_bound(start.begin(), start.end(), c) - start.begin()) -
                                 1]) /
                          12) %
                         12)
               : nan;
  });
  add("voxel_z", "Voxel z coordinate", [&](int64_t c) {
    if (c >= V) return nan;
    const auto r = static_cast<size_t>(std::upper_bound(start.begin(), start.end(), c) - start.begin()) - 1;
    return 3.0 * static_cast<double>((c - start[r]) / 144) + 30.0 * static_cast<double>(r);
  });
  b.values = torch::stack(rows);
  return b;
}

void library_features(const SynthTruth& t, const std::vector<int64_t>& class_rows, torch::Tensor& features,
                      std::vector<std::string>& names, std::vector<std::string>& classes) {
  const int per = t.config.library_per_class;
  const int64_t dim = t.class_centres.size(1);
  features = torch::empty({static_cast<int64_t>(class_rows.size()) * per, dim}, torch::kFloat32);
  names.clear();
  classes.clear();
  int64_t row = 0;
  for (int64_t k : class_rows) {
    const std::string& wnid = t.classes.at(static_cast<size_t>(k)).wnid;
    for (int j = 1; j <= per; ++j, ++row) {
      features[row] =
          image_feature(t.class_centres[k], t.config.instance_scale,
                        synth_rng::Stream(t.config.seed, "library", wnid_number(wnid), static_cast<uint64_t>(j)));
      char buf[16];
      std::snprintf(buf, sizeof buf, "%04d", j);
      names.push_back("lib_" + wnid + "_" + buf);
      classes.push_back(wnid);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Files

namespace {

void save_store(const fs::path& path, torch::Tensor features, std::vector<std::string> names,
                std::vector<std::string> classes, const std::string& what) {
  FeatureStore fsx;
  fsx.features = std::move(features);
  fsx.names = std::move(names);
  fsx.classes = std::move(classes);
  fsx.encoder = kSynthEncoder;
  fsx.preprocessing = kSynthPreprocessing;
  fsx.extra = {{"generator", "brainsem synth"}, {"content", what}};
  fsx.save(path);
}

void write_truth(const fs::path& path, const SynthTruth& t) {
  std::vector<std::pair<std::string, torch::Tensor>> tensors = {
      {"class_centres", t.class_centres},
      {"stimulus_features", t.stimulus_features},
      {"lowlevel", t.lowlevel},
      {"semantic_mean", t.semantic_mean},
  };
  json subjects = json::array();
  for (size_t s = 0; s < t.subjects.size(); ++s) {
    const auto& sub = t.subjects[s];
    const std::string p = "subject" + std::to_string(s + 1) + ".";
    for (const auto& [name, tensor] : std::vector<std::pair<std::string, torch::Tensor>>{{"w_sem", sub.w_sem},
                                                                                         {"w_low", sub.w_low},
                                                                                         {"sem_gain", sub.sem_gain},
                                                                                         {"low_gain", sub.low_gain},
                                                                                         {"cat_offset", sub.cat_offset},
                                                                                         {"noise_sd", sub.noise_sd},
                                                                                         {"baseline", sub.baseline},
                                                                                         {"run_shift", sub.run_shift},
                                                                                         {"roi_index", sub.roi_index}})
      tensors.emplace_back(p + name, tensor);
    subjects.push_back({{"roi_sizes", sub.roi_sizes}, {"noise_scale", sub.noise_scale}});
  }
  json classes = json::array();
  for (const auto& c : t.classes)
    classes.push_back({{"wnid", c.wnid},
                       {"split", c.split},
                       {"category_index", c.category_index},
                       {"name", c.name},
                       {"source", c.source},
                       {"distance", c.distance},
                       {"neighbours", c.neighbours},
                       {"animate", c.animate},
                       {"place", c.place}});
  std::vector<std::string> stim_names;
  for (const auto& st : t.stimuli) stim_names.push_back(st.name);
  io::write_safetensors(path, tensors,
                        {{"format", "brainsem.synth.truth.v1"},
                         {"config", t.config.to_json().dump()},
                         {"classes", classes.dump()},
                         {"stimuli", json_list(stim_names)},
                         {"semantic_scale", json(t.semantic_scale).dump()},
                         {"subjects", subjects.dump()}});
}

}  // namespace

void write_synthetic_dataset(const fs::path& dir, const SynthConfig& cfg_in) {
  SynthConfig cfg = cfg_in;
  if (cfg.rois.empty()) cfg.rois = god_like_rois();
  cfg.validate();
  // Refuse early, before any work, with a message that says how to fix it.
  BRAINSEM_CHECK(!fs::exists(dir) || (fs::is_directory(dir) && fs::is_empty(dir)), "output directory ", dir,
                 " already exists and is not empty; choose another --out or remove it");
  fs::path parent = dir.parent_path();
  if (parent.empty()) parent = ".";
  BRAINSEM_CHECK(fs::is_directory(parent), "cannot create output directory ", dir, ": its parent ", parent,
                 " does not exist; create it first");
  BRAINSEM_CHECK(access(parent.c_str(), W_OK) == 0, "cannot create output directory ", dir, ": its parent ", parent,
                 " is not writable; choose another --out");

  core::Progress progress("synth", cfg.subjects + 2, "step");
  try {
    core::build_directory_atomically(dir, [&](const fs::path& tmp) {
      SynthTruth t = build_synth_truth(cfg);
      std::vector<int64_t> train_rows, test_rows;
      for (size_t i = 0; i < t.classes.size(); ++i)
        (t.classes[i].split == "train" ? train_rows : test_rows).push_back(static_cast<int64_t>(i));

      // Stimulus-image and library feature stores.
      std::vector<std::string> names, classes;
      for (size_t i = 0; i < t.stimuli.size(); ++i) {
        names.push_back(t.stimuli[i].name);
        classes.push_back(t.stimuli[i].synset());
      }
      save_store(tmp / "stimuli.safetensors", t.stimulus_features, names, classes,
                 "GOD stimulus images (1200 train + 50 test)");
      torch::Tensor lf;
      library_features(t, train_rows, lf, names, classes);
      save_store(tmp / "library_train.safetensors", lf, names, classes, "semantic library, training classes only");
      library_features(t, test_rows, lf, names, classes);
      save_store(tmp / "library_test.safetensors", lf, names, classes,
                 "semantic library, test classes only (prototypes)");
      progress.update(1, "features");

      core::write_text_atomically(tmp / "stimulus_ImageNetTraining.tsv", std::string(core::resource("god_train_tsv")));
      core::write_text_atomically(tmp / "stimulus_ImageNetTest.tsv", std::string(core::resource("god_test_tsv")));
      if (cfg.imagery) {
        std::string imag;
        for (int64_t k : test_rows) {
          const GodClass& c = t.classes[static_cast<size_t>(k)];
          imag += c.wnid + "\t" + std::to_string(wnid_number(c.wnid)) + "\t" + std::to_string(c.category_index) + "\n";
        }
        core::write_text_atomically(tmp / "category_GODImagery.tsv", imag);
      }

      json subjects = json::array();
      for (int s = 0; s < cfg.subjects; ++s) {
        SynthSamples smp = sample_subject(t, s);
        const std::string file = "Subject" + std::to_string(s + 1) + ".h5";
        io::write_bdata(tmp / file, subject_bdata(t, s, smp));
        const auto& sub = t.subjects[static_cast<size_t>(s)];
        json sizes = json::object();
        for (size_t r = 0; r < cfg.rois.size(); ++r) sizes[cfg.rois[r].name] = sub.roi_sizes[r];
        int64_t counts[4] = {0, 0, 0, 0};
        for (int dt : smp.data_type) ++counts[dt];
        subjects.push_back({{"name", "Subject" + std::to_string(s + 1)},
                            {"file", file},
                            {"roi_sizes", sizes},
                            {"total_voxels", sub.noise_sd.size(0)},
                            {"noise_scale", sub.noise_scale},
                            {"samples", {{"train", counts[1]}, {"test", counts[2]}, {"imagery", counts[3]}}}});
        progress.update(s + 2, file);
      }
      if (cfg.write_truth) write_truth(tmp / "truth.safetensors", t);

      int from_in1k[2] = {0, 0};
      for (const auto& c : t.classes)
        if (c.source == "imagenet") ++from_in1k[c.split == "train" ? 0 : 1];
      json manifest = {
          {"format", kSynthFormat},
          {"version", BRAINSEM_VERSION},
          {"seed", cfg.seed},
          {"config", cfg.to_json()},
          {"encoder", kSynthEncoder},
          {"preprocessing", kSynthPreprocessing},
          {"feature_dim", t.class_centres.size(1)},
          {"classes",
           {{"train", train_rows.size()},
            {"test", test_rows.size()},
            {"train_from_imagenet", from_in1k[0]},
            {"test_from_imagenet", from_in1k[1]}}},
          {"library_per_class", cfg.library_per_class},
          {"subjects", subjects},
          {"truth", cfg.write_truth ? "truth.safetensors" : ""},
      };
      core::write_text_atomically(tmp / "synth.json", manifest.dump(2) + "\n");
      progress.finish(std::to_string(cfg.subjects) + " subjects");
    });
  } catch (const fs::filesystem_error& e) {
    fail("cannot write the synthetic dataset to ", dir, ": ", e.what(), "; choose a writable --out");
  }
}

SynthTruth read_synth_truth(const fs::path& path) {
  io::SafetensorsFile f(path);
  const std::string where = path.string();
  BRAINSEM_CHECK(f.metadata_at("format") == "brainsem.synth.truth.v1", where,
                 " is not a synthetic-data truth file (format '", f.metadata_at("format"),
                 "'); write one with `brainsem synth --write-truth`");
  SynthTruth t;
  try {
    t.config = SynthConfig::from_json(json::parse(f.metadata_at("config")));
    for (const auto& c : json::parse(f.metadata_at("classes"))) {
      GodClass g;
      c.at("wnid").get_to(g.wnid);
      c.at("split").get_to(g.split);
      c.at("category_index").get_to(g.category_index);
      c.at("name").get_to(g.name);
      c.at("source").get_to(g.source);
      c.at("distance").get_to(g.distance);
      c.at("neighbours").get_to(g.neighbours);
      c.at("animate").get_to(g.animate);
      c.at("place").get_to(g.place);
      t.classes.push_back(std::move(g));
    }
    t.semantic_scale = json::parse(f.metadata_at("semantic_scale")).get<double>();
    auto stim_names = json::parse(f.metadata_at("stimuli")).get<std::vector<std::string>>();
    std::unordered_map<std::string, GodStimulus> table;
    for (const auto* list : {&god_training_stimuli(), &god_test_stimuli()})
      for (const auto& st : *list) table.emplace(st.name, st);
    std::unordered_map<std::string, int64_t> class_row;
    for (size_t i = 0; i < t.classes.size(); ++i) class_row.emplace(t.classes[i].wnid, static_cast<int64_t>(i));
    for (const auto& n : stim_names) {
      BRAINSEM_CHECK(table.count(n) && class_row.count(table.at(n).synset()), where, ": stimulus ", n,
                     " is not a GOD stimulus");
      t.stimuli.push_back(table.at(n));
      t.stimulus_class.push_back(class_row.at(table.at(n).synset()));
    }
    auto own = [&](const std::string& name) { return f.tensor(name).clone(); };
    t.class_centres = own("class_centres");
    t.stimulus_features = own("stimulus_features");
    t.lowlevel = own("lowlevel");
    t.semantic_mean = own("semantic_mean");
    const json subjects = json::parse(f.metadata_at("subjects"));
    for (size_t s = 0; s < subjects.size(); ++s) {
      SynthSubjectTruth sub;
      const std::string p = "subject" + std::to_string(s + 1) + ".";
      subjects[s].at("roi_sizes").get_to(sub.roi_sizes);
      subjects[s].at("noise_scale").get_to(sub.noise_scale);
      sub.w_sem = own(p + "w_sem");
      sub.w_low = own(p + "w_low");
      sub.sem_gain = own(p + "sem_gain");
      sub.low_gain = own(p + "low_gain");
      sub.cat_offset = own(p + "cat_offset");
      sub.noise_sd = own(p + "noise_sd");
      sub.baseline = own(p + "baseline");
      sub.run_shift = own(p + "run_shift");
      sub.roi_index = own(p + "roi_index");
      t.subjects.push_back(std::move(sub));
    }
  } catch (const json::exception& e) {
    fail(where, ": malformed truth metadata: ", e.what());
  }
  BRAINSEM_CHECK(static_cast<int>(t.subjects.size()) == t.config.subjects && t.stimuli.size() == 1250u &&
                     t.class_centres.size(0) == static_cast<int64_t>(t.classes.size()),
                 where, ": truth file is inconsistent (subjects, stimuli or classes); regenerate it");
  return t;
}

}  // namespace brainsem::data
