#include "brainsem/data/subject.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <set>

#include "brainsem/core/error.h"
#include "brainsem/data/god_stimuli.h"
#include "brainsem/data/subject_export.h"
#include "brainsem/io/bdata.h"
#include "brainsem/io/safetensors.h"
#include "testing/errors.h"
#include "testing/paths.h"

namespace fs = std::filesystem;
using namespace brainsem::data;
using brainsem::io::BData;

namespace {

fs::path fixture() { return brainsem::testing::shared_dir() / "god/synthetic_god_like_Subject.h5"; }

const std::vector<int64_t> kSizes = {12, 10, 9, 7, 6, 5, 4};

using brainsem::testing::error_of;

void expect_same(const SubjectData& a, const SubjectData& b) {
  EXPECT_TRUE(torch::equal(a.train_x, b.train_x));
  EXPECT_TRUE(torch::equal(a.test_x, b.test_x));
  EXPECT_TRUE(torch::equal(a.train_stimulus_id, b.train_stimulus_id));
  EXPECT_TRUE(torch::equal(a.test_stimulus_id, b.test_stimulus_id));
  EXPECT_EQ(a.train_names, b.train_names);
  EXPECT_EQ(a.test_names, b.test_names);
  EXPECT_EQ(a.train_classes, b.train_classes);
  EXPECT_EQ(a.test_classes, b.test_classes);
  EXPECT_EQ(a.roi_names, b.roi_names);
  EXPECT_EQ(a.roi_sizes, b.roi_sizes);
}

// Drops every key for which `drop(key)` holds.
BData without_keys(const BData& b, const std::function<bool(const std::string&)>& drop) {
  BData o;
  o.dataset = b.dataset;
  std::vector<int64_t> keep;
  for (size_t k = 0; k < b.keys.size(); ++k)
    if (!drop(b.keys[k])) {
      keep.push_back(static_cast<int64_t>(k));
      o.keys.push_back(b.keys[k]);
      o.descriptions.push_back(b.descriptions[k]);
    }
  o.values = b.values.index_select(0, torch::tensor(keep, torch::kInt64));
  return o;
}

}  // namespace

TEST(Subject, PacksTheFixtureWithNaiveOracleChecks) {
  BRAINSEM_REQUIRE_SHARED("god/synthetic_god_like_Subject.h5");
  BData b = brainsem::io::read_bdata(fixture());
  SubjectData s = load_subject(fixture());
  EXPECT_EQ(s.roi_names, god_rois());
  EXPECT_EQ(s.roi_sizes, kSizes);
  ASSERT_EQ(s.train_x.sizes(), (std::vector<int64_t>{1200, 7, 12}));
  ASSERT_EQ(s.test_x.sizes(), (std::vector<int64_t>{50, 7, 12}));
  EXPECT_EQ(s.train_x.scalar_type(), torch::kFloat32);
  EXPECT_EQ(s.train_stimulus_id.scalar_type(), torch::kFloat64);

  auto dt = b.select("DataType"), sid = b.select("stimulus_id"), idx = b.select("image_index");
  std::vector<std::vector<int64_t>> cols;
  for (const auto& r : god_rois()) cols.push_back(b.columns("ROI_" + r));
  // Training rows: file order, exact copies (cast to float32), zero padding.
  int64_t t = 0;
  for (int64_t i = 0; i < b.dataset.size(0); ++i) {
    if (dt[i][0].item<double>() != 1) continue;
    EXPECT_EQ(s.train_stimulus_id[t].item<double>(), sid[i][0].item<double>());
    // Names via image_index into the (lexicographic) GOD table agree with the decoded id.
    auto k = static_cast<size_t>(idx[i][0].item<double>());
    EXPECT_EQ(s.train_names[t], god_training_stimuli()[k - 1].name);
    EXPECT_EQ(s.train_classes[t], god_training_stimuli()[k - 1].synset());
    if (t % 97 == 0) {
      for (int r = 0; r < 7; ++r) {
        for (int64_t v = 0; v < 12; ++v) {
          float want = v < kSizes[r] ? static_cast<float>(b.dataset[i][cols[r][v]].item<double>()) : 0.0f;
          ASSERT_EQ(s.train_x[t][r][v].item<float>(), want) << "row " << i << " roi " << r << " voxel " << v;
        }
      }
    }
    ++t;
  }
  EXPECT_EQ(t, 1200);
  // Test rows: a naive per-image mean of the 35 repeats, in ascending stimulus_id.
  std::map<double, std::vector<int64_t>> rows_of;
  for (int64_t i = 0; i < b.dataset.size(0); ++i)
    if (dt[i][0].item<double>() == 2) rows_of[sid[i][0].item<double>()].push_back(i);
  ASSERT_EQ(rows_of.size(), 50u);
  int64_t u = 0;
  std::set<std::string> test_names(s.test_names.begin(), s.test_names.end());
  for (const auto& g : god_test_stimuli()) EXPECT_EQ(test_names.count(g.name), 1u) << g.name;
  for (const auto& [id, rows] : rows_of) {
    EXPECT_EQ(rows.size(), 35u);
    EXPECT_EQ(s.test_stimulus_id[u].item<double>(), id);
    EXPECT_EQ(s.test_names[u], god_stimulus_name(id));
    for (int r = 0; r < 7; ++r)
      for (int64_t v = 0; v < 12; ++v) {
        double want = 0;
        if (v < kSizes[r]) {
          for (int64_t i : rows) want += b.dataset[i][cols[r][v]].item<double>();
          want /= static_cast<double>(rows.size());
        }
        // float32 of a value near 100: 1 ulp = 7.6e-6; sums in another order differ by ~1e-13.
        ASSERT_NEAR(s.test_x[u][r][v].item<float>(), want, 1e-5) << "stimulus " << id << " roi " << r;
      }
    ++u;
  }
  EXPECT_EQ(image_index_mismatches(b), 0);
}

TEST(Subject, KeepsTheTestTrialsBehindTheAverages) {
  BRAINSEM_REQUIRE_SHARED("god/synthetic_god_like_Subject.h5");
  BData b = brainsem::io::read_bdata(fixture());
  SubjectData s = pack_subject(b);
  ASSERT_TRUE(s.has_test_trials());
  ASSERT_EQ(s.test_trials_x.sizes(), (std::vector<int64_t>{50 * 35, 7, 12}));
  ASSERT_EQ(s.test_trial_image.size(), 1750u);
  // Every trial is its file row (ROI columns, zero padding) and the trials of an image average to
  // that image's test_x row.
  auto dt = b.select("DataType"), sid = b.select("stimulus_id");
  std::vector<std::vector<int64_t>> cols;
  for (const auto& r : god_rois()) cols.push_back(b.columns("ROI_" + r));
  std::map<double, std::vector<int64_t>> rows_of;
  for (int64_t i = 0; i < b.dataset.size(0); ++i)
    if (dt[i][0].item<double>() == 2) rows_of[sid[i][0].item<double>()].push_back(i);
  std::vector<int64_t> file_row;  // trial -> BData row, in the packed order (by image, file order within)
  for (const auto& [id, rows] : rows_of) file_row.insert(file_row.end(), rows.begin(), rows.end());
  for (int64_t t : {0, 1, 34, 35, 900, 1749}) {
    EXPECT_EQ(s.test_trial_image[t], t / 35);
    for (int r = 0; r < 7; ++r)
      for (int64_t v = 0; v < 12; ++v) {
        float want = v < kSizes[r] ? static_cast<float>(b.dataset[file_row[t]][cols[r][v]].item<double>()) : 0.0f;
        ASSERT_EQ(s.test_trials_x[t][r][v].item<float>(), want) << "trial " << t << " roi " << r << " voxel " << v;
      }
  }
  auto mean_of_trials = s.test_trials_x.to(torch::kFloat64).view({50, 35, 7, 12}).mean(1);
  EXPECT_TRUE(torch::allclose(mean_of_trials, s.test_x.to(torch::kFloat64), 0, 1e-4));
  // z-scoring is affine per voxel, so it commutes with averaging the trials.
  SubjectData z = pack_subject(b, LoadOptions{Normalize::zscore, {}});
  auto z_mean = z.test_trials_x.to(torch::kFloat64).view({50, 35, 7, 12}).mean(1);
  EXPECT_TRUE(torch::allclose(z_mean, z.test_x.to(torch::kFloat64), 0, 1e-4));
  // Unequal repeats: drop 2 of the first image's trials and 1 of the last image's.
  std::vector<int64_t> keep;
  std::set<int64_t> dropped{rows_of.begin()->second[0], rows_of.begin()->second[5], rows_of.rbegin()->second[1]};
  for (int64_t i = 0; i < b.dataset.size(0); ++i)
    if (!dropped.count(i)) keep.push_back(i);
  BData fewer = b;
  fewer.dataset = b.dataset.index_select(0, torch::tensor(keep, torch::kInt64));
  SubjectData f = pack_subject(fewer);
  ASSERT_EQ(f.test_trials_x.size(0), 1747);
  EXPECT_EQ(std::count(f.test_trial_image.begin(), f.test_trial_image.end(), 0), 33);
  EXPECT_EQ(std::count(f.test_trial_image.begin(), f.test_trial_image.end(), 49), 34);
  EXPECT_EQ(std::count(f.test_trial_image.begin(), f.test_trial_image.end(), 7), 35);
  // An export holds the averages only.
  brainsem::testing::TempDir dir;
  write_subject_safetensors(dir / "s.safetensors", s, Normalize::none);
  EXPECT_FALSE(load_subject(dir / "s.safetensors").has_test_trials());
}

TEST(Subject, ZscoreUsesTrainingStatisticsWithDdof1) {
  BRAINSEM_REQUIRE_SHARED("god/synthetic_god_like_Subject.h5");
  SubjectData raw = load_subject(fixture());
  SubjectData z = load_subject(fixture(), Normalize::zscore);
  auto tr = raw.train_x.to(torch::kFloat64);
  for (int r = 0; r < 7; ++r) {
    for (int64_t v = 0; v < 12; ++v) {
      auto col = z.train_x.select(1, r).select(1, v).to(torch::kFloat64);
      if (v >= kSizes[r]) {
        EXPECT_EQ(col.abs().max().item<double>(), 0.0);  // padding stays exactly zero
        EXPECT_EQ(z.test_x.select(1, r).select(1, v).abs().max().item<float>(), 0.0f);
        continue;
      }
      EXPECT_NEAR(col.mean().item<double>(), 0.0, 1e-5);
      double ss = (col - col.mean()).pow(2).sum().item<double>() / 1199.0;  // ddof = 1
      EXPECT_NEAR(ss, 1.0, 1e-5);
      // Test rows use the training mean/sd (oracle from the raw packed data).
      auto x = tr.select(1, r).select(1, v);
      double m = x.mean().item<double>();
      double sd = std::sqrt((x - m).pow(2).sum().item<double>() / 1199.0);
      for (int64_t u : {0, 17, 49}) {
        double want = (raw.test_x[u][r][v].item<float>() - m) / sd;
        EXPECT_NEAR(z.test_x[u][r][v].item<float>(), want, 1e-4);
      }
    }
  }
}

TEST(Subject, FilesFromOtherWritersPackIdentically) {
  BRAINSEM_REQUIRE_SHARED("god/synthetic_god_like_Subject.h5");
  brainsem::testing::TempDir dir;
  BData a = brainsem::io::read_bdata(fixture());
  SubjectData want = pack_subject(a);
  // Move the 6 design/label columns to the front (voxel order kept), reverse the key order,
  // add an unrelated key; write with legacy names and variable-length strings.
  const int64_t C = a.dataset.size(1);
  std::vector<int64_t> perm;
  for (int64_t c = 55; c < C; ++c) perm.push_back(c);
  for (int64_t c = 0; c < 55; ++c) perm.push_back(c);
  std::vector<int64_t> kperm;
  for (int64_t k = static_cast<int64_t>(a.keys.size()) - 1; k >= 0; --k) kperm.push_back(k);
  BData v;
  auto p = torch::tensor(perm, torch::kInt64);
  v.dataset = a.dataset.index_select(1, p);
  v.values = a.values.index_select(1, p).index_select(0, torch::tensor(kperm, torch::kInt64));
  for (int64_t k : kperm) {
    v.keys.push_back(a.keys[k]);
    v.descriptions.push_back(a.descriptions[k]);
  }
  v.add_metadata("Session", torch::full({C}, 1.0, torch::kFloat64), "1 = Session");
  brainsem::io::write_bdata(dir / "variant.h5", v, {true, true});
  expect_same(load_subject(dir / "variant.h5"), want);
  // Without image_index the names come from stimulus_id alone.
  brainsem::io::write_bdata(dir / "noidx.h5", without_keys(a, [](const std::string& k) { return k == "image_index"; }));
  expect_same(load_subject(dir / "noidx.h5"), want);
  // A wrong image_index (e.g. a pre-2020 file) is counted, and names still follow stimulus_id.
  BData w = a;
  w.dataset = a.dataset.clone();
  int64_t ci = a.columns("image_index")[0];
  w.dataset[0][ci] = w.dataset[0][ci].item<double>() == 1 ? 2.0 : 1.0;
  EXPECT_EQ(image_index_mismatches(w), 1);
  expect_same(pack_subject(w), want);
}

TEST(Subject, RoiSubsetsIncludingLvcHvcVc) {
  BRAINSEM_REQUIRE_SHARED("god/synthetic_god_like_Subject.h5");
  LoadOptions o;
  o.rois = {"LVC", "ROI_HVC", "VC"};
  SubjectData s = load_subject(fixture(), o);
  EXPECT_EQ(s.roi_names, (std::vector<std::string>{"LVC", "HVC", "VC"}));
  EXPECT_EQ(s.roi_sizes, (std::vector<int64_t>{38, 17, 55}));
  EXPECT_EQ(s.train_x.size(2), 55);
}

TEST(Subject, SafetensorsRoundTripAndRoiSelection) {
  BRAINSEM_REQUIRE_SHARED("god/synthetic_god_like_Subject.h5");
  brainsem::testing::TempDir dir;
  SubjectData s = load_subject(fixture());
  write_subject_safetensors(dir / "s.safetensors", s, Normalize::none);
  brainsem::io::SafetensorsFile f(dir / "s.safetensors");
  EXPECT_EQ(f.names(), (std::vector<std::string>{"train_x", "train_stimulus_id", "test_x", "test_stimulus_id"}));
  EXPECT_EQ(f.metadata_at("rois"), R"(["V1","V2","V3","V4","LOC","FFA","PPA"])");
  EXPECT_EQ(f.metadata_at("roi_sizes"), "[12,10,9,7,6,5,4]");
  EXPECT_EQ(f.metadata_at("P"), "12");
  EXPECT_EQ(f.metadata_at("normalize"), "none");
  SubjectData r = load_subject(dir / "s.safetensors");
  expect_same(r, s);
  // z-scoring on load from an unnormalised export equals z-scoring from the .h5 (float32 input).
  SubjectData z1 = load_subject(dir / "s.safetensors", Normalize::zscore);
  SubjectData z2 = load_subject(fixture(), Normalize::zscore);
  EXPECT_TRUE(torch::allclose(z1.train_x, z2.train_x, 0, 2e-4));
  EXPECT_TRUE(torch::allclose(z1.test_x, z2.test_x, 0, 2e-4));
  LoadOptions o;
  o.rois = {"PPA", "V2"};
  SubjectData sub = load_subject(dir / "s.safetensors", o);
  EXPECT_EQ(sub.roi_sizes, (std::vector<int64_t>{4, 10}));
  ASSERT_EQ(sub.train_x.sizes(), (std::vector<int64_t>{1200, 2, 10}));
  EXPECT_TRUE(torch::equal(sub.train_x.select(1, 0), s.train_x.select(1, 6).narrow(1, 0, 10)));
  EXPECT_TRUE(torch::equal(sub.test_x.select(1, 1), s.test_x.select(1, 1).narrow(1, 0, 10)));
  o.rois = {"V1", "XYZ"};
  std::string m = error_of([&] { load_subject(dir / "s.safetensors", o); });
  EXPECT_NE(m.find("unknown ROI 'XYZ'"), std::string::npos) << m;
}

TEST(Subject, SelectingRoiTokensKeepsTrialsAndPaddingConsistent) {
  BRAINSEM_REQUIRE_SHARED("god/synthetic_god_like_Subject.h5");
  SubjectData s = load_subject(fixture(), Normalize::zscore);
  ASSERT_TRUE(s.has_test_trials());
  SubjectData sub = select_roi_tokens(s, {"ROI_FFA", "V3"}, "fixture");
  EXPECT_EQ(sub.roi_names, (std::vector<std::string>{"FFA", "V3"}));
  EXPECT_EQ(sub.roi_sizes, (std::vector<int64_t>{5, 9}));
  ASSERT_EQ(sub.train_x.sizes(), (std::vector<int64_t>{1200, 2, 9}));
  ASSERT_EQ(sub.test_trials_x.sizes(), (std::vector<int64_t>{1750, 2, 9}));
  EXPECT_TRUE(torch::equal(sub.test_trials_x.select(1, 1), s.test_trials_x.select(1, 2).narrow(1, 0, 9)));
  EXPECT_TRUE(torch::equal(sub.test_x.select(1, 0), s.test_x.select(1, 5).narrow(1, 0, 9)));
  EXPECT_NO_THROW(validate_subject(sub, "subset"));  // FFA's padding (columns 5..8) stays zero
  std::string m = error_of([&] { select_roi_tokens(s, {"V1", "MT"}, "fixture.h5"); });
  EXPECT_NE(m.find("fixture.h5: unknown ROI 'MT'"), std::string::npos) << m;
  EXPECT_THROW(select_roi_tokens(s, {}, "fixture.h5"), brainsem::Error);
}

TEST(Subject, SafetensorsWithoutIdsNeedNames) {
  brainsem::testing::TempDir dir;
  SubjectData s;
  s.train_x = torch::zeros({3, 2, 2});
  s.train_x.select(1, 0).fill_(1.0f);
  s.train_x.select(1, 1).select(1, 0).fill_(2.0f);  // ROI b: 1 voxel, padded
  s.test_x = torch::ones({2, 2, 2});
  s.test_x.select(1, 1).select(1, 1).zero_();
  s.roi_names = {"a", "b"};
  s.roi_sizes = {2, 1};
  s.train_names = {"cat_1", "cat_2", "dog_1"};
  s.train_classes = {"cat", "cat", "dog"};
  s.test_names = {"eel_1", "fox_1"};
  s.test_classes = {"eel", "fox"};
  s.source = "import";
  write_subject_safetensors(dir / "n.safetensors", s, Normalize::none);
  EXPECT_EQ(brainsem::io::SafetensorsFile(dir / "n.safetensors").info("train_stimulus_id").shape,
            (std::vector<int64_t>{0}));
  SubjectData r = load_subject(dir / "n.safetensors");
  EXPECT_TRUE(torch::equal(r.train_x, s.train_x));
  EXPECT_EQ(r.train_names, s.train_names);
  EXPECT_EQ(r.test_classes, s.test_classes);
  EXPECT_EQ(r.train_stimulus_id.numel(), 0);
  // Same tensors but no names and no ids: refused with the rule in the message.
  brainsem::io::write_safetensors(
      dir / "bad.safetensors",
      {{"train_x", s.train_x},
       {"train_stimulus_id", torch::empty({0}, torch::kFloat64)},
       {"test_x", s.test_x},
       {"test_stimulus_id", torch::empty({0}, torch::kFloat64)}},
      {{"format", kSubjectFormat}, {"rois", R"(["a","b"])"}, {"roi_sizes", "[2,1]"}, {"P", "2"}});
  std::string m = error_of([&] { load_subject(dir / "bad.safetensors"); });
  EXPECT_NE(m.find("train_names is absent"), std::string::npos) << m;
  // Nonzero padding, a wrong P, an extra tensor and a foreign format are refused.
  auto meta = std::map<std::string, std::string>{{"format", kSubjectFormat},
                                                 {"rois", R"(["a","b"])"},
                                                 {"roi_sizes", "[2,2]"},
                                                 {"P", "2"},
                                                 {"train_names", R"(["x_1","x_2","y_1"])"},
                                                 {"test_names", R"(["z_1","w_1"])"}};
  auto tensors = std::vector<std::pair<std::string, torch::Tensor>>{{"train_x", s.train_x}, {"test_x", s.test_x}};
  brainsem::io::write_safetensors(dir / "ok.safetensors", tensors, meta);
  EXPECT_EQ(load_subject(dir / "ok.safetensors").test_classes, (std::vector<std::string>{"z", "w"}));
  meta["roi_sizes"] = "[2,1]";
  auto bad_pad = s.train_x.clone();
  bad_pad[0][1][1] = 5.0f;
  brainsem::io::write_safetensors(dir / "pad.safetensors", {{"train_x", bad_pad}, {"test_x", s.test_x}}, meta);
  m = error_of([&] { load_subject(dir / "pad.safetensors"); });
  EXPECT_NE(m.find("zero-padded"), std::string::npos) << m;
  meta["P"] = "3";
  brainsem::io::write_safetensors(dir / "p.safetensors", tensors, meta);
  m = error_of([&] { load_subject(dir / "p.safetensors"); });
  EXPECT_NE(m.find("P = '3'"), std::string::npos) << m;
  meta["P"] = "2";
  tensors.push_back({"extra", torch::zeros({1})});
  brainsem::io::write_safetensors(dir / "x.safetensors", tensors, meta);
  m = error_of([&] { load_subject(dir / "x.safetensors"); });
  EXPECT_NE(m.find("unexpected tensor 'extra'"), std::string::npos) << m;
  tensors.pop_back();
  meta["format"] = "brainsem.features.v1";
  brainsem::io::write_safetensors(dir / "f.safetensors", tensors, meta);
  m = error_of([&] { load_subject(dir / "f.safetensors"); });
  EXPECT_NE(m.find("not a brainsem subject file"), std::string::npos) << m;
}

TEST(Subject, BadInputsNameTheFileAndTheProblem) {
  BRAINSEM_REQUIRE_SHARED("god/synthetic_god_like_Subject.h5");
  brainsem::testing::TempDir dir;
  BData a = brainsem::io::read_bdata(fixture());
  auto expect_error = [&](const fs::path& p, const std::string& what, const LoadOptions& o = {}) {
    std::string m = error_of([&] { load_subject(p, o); });
    EXPECT_NE(m.find(p.filename().string()), std::string::npos) << m;
    EXPECT_NE(m.find(what), std::string::npos) << m;
  };
  expect_error(dir / "absent.h5", "file not found");
  std::ofstream(dir / "junk.h5") << "not hdf5 at all, and not safetensors";
  expect_error(dir / "junk.h5", "neither an HDF5");
  brainsem::io::write_bdata(dir / "noroi.h5",
                            without_keys(a, [](const std::string& k) { return k.rfind("ROI_", 0) == 0; }));
  expect_error(dir / "noroi.h5", "no ROI_ keys");
  BData n = a;
  n.dataset = a.dataset.clone();
  n.dataset[2000][3] = std::numeric_limits<double>::quiet_NaN();  // a test row, V1 voxel 4
  brainsem::io::write_bdata(dir / "nan.h5", n);
  expect_error(dir / "nan.h5", "row 2000, column 3 (ROI_V1)");
  // Finite but beyond float32: once called "non-finite" without --normalize and silently zeroed
  // with --normalize zscore.
  BData big = a;
  big.dataset = a.dataset.clone();
  big.dataset[10][3] = 1e300;
  brainsem::io::write_bdata(dir / "big.h5", big);
  for (auto norm : {Normalize::none, Normalize::zscore}) {
    LoadOptions z;
    z.normalize = norm;
    expect_error(dir / "big.h5", "row 10, column 3 (ROI_V1) is outside float32's range", z);
  }
  LoadOptions o;
  o.rois = {"V1", "MT"};
  expect_error(fixture(), "unknown ROI 'MT'", o);
  brainsem::io::write_bdata(dir / "nodt.h5", without_keys(a, [](const std::string& k) { return k == "DataType"; }));
  expect_error(dir / "nodt.h5", "'DataType' is missing");
  BData bad_id = a;
  bad_id.dataset = a.dataset.clone();
  bad_id.dataset[0][a.columns("stimulus_id")[0]] = 1518878.12345678;
  brainsem::io::write_bdata(dir / "badid.h5", bad_id);
  expect_error(dir / "badid.h5", "row 0");
}
