// The study's ridge baseline (experiment/baselines.h predict_ridge, eval/ridge.h) against an independent
// centred closed-form ridge written here from scratch, with alpha chosen by its own
// class-grouped cross-validation on training classes, on a generated GOD-shaped subject. The two
// differ in fold assignment and selection criterion, so they may pick neighbouring alphas; they
// must agree to within 2 of the 50 test items.
#include <gtest/gtest.h>

#include <map>

#include "brainsem/data/synth.h"
#include "brainsem/eval/ridge.h"
#include "brainsem/eval/zero_shot.h"
#include "brainsem/experiment/baselines.h"
#include "brainsem/experiment/study.h"
#include "testing/paths.h"

using namespace brainsem;
namespace F = torch::nn::functional;

namespace {

// Top-1 hits of an independent ridge: primal solve on voxels z-scored with training statistics,
// centred targets, alpha from 5 folds of training classes (class index mod 5) by held-out top-1
// (ties to the smaller alpha), prediction compared by cosine with the test prototypes.
int64_t independent_ridge_hits(const experiment::LoadedStudy& s, const torch::Tensor& prototypes, double* alpha_out) {
  auto flat = [&](const torch::Tensor& t) { return eval::flatten_rois(t, s.subject.roi_sizes).to(torch::kFloat64); };
  auto x = flat(s.subject.train_x), xt = flat(s.subject.test_x);
  auto rows = s.stimuli.rows_of_names(s.subject.train_names, "stimuli");
  auto y = F::normalize(s.stimuli.features.index_select(0, torch::tensor(rows)).to(torch::kFloat64),
                        F::NormalizeFuncOptions().dim(1));
  std::map<std::string, int64_t> class_index;
  std::vector<int64_t> cls;
  for (const auto& c : s.subject.train_classes) cls.push_back(class_index.emplace(c, class_index.size()).first->second);
  // Dual solve (N << V), written directly: pred = Zb Za^T (Za Za^T + alpha I)^-1 (Ya - mean).
  struct Fit {
    torch::Tensor gram, cross, yc;  // Za Za^T, Zb Za^T, centred Ya
  };
  auto prepare = [](const torch::Tensor& xa, const torch::Tensor& ya, const torch::Tensor& xb) {
    auto mu = xa.mean(0), sd = xa.std(0).clamp_min(1e-8);
    auto za = (xa - mu) / sd, zb = (xb - mu) / sd;
    return Fit{za.matmul(za.t()), zb.matmul(za.t()), ya - ya.mean(0)};
  };
  auto predict = [](const Fit& f, double alpha) {
    return f.cross.matmul(
        torch::linalg::solve(f.gram + alpha * torch::eye(f.gram.size(0), torch::kFloat64), f.yc, true));
  };
  auto hits = [](const torch::Tensor& pred, const torch::Tensor& protos, const std::vector<int64_t>& truth) {
    auto sim = F::normalize(pred, F::NormalizeFuncOptions().dim(1)).matmul(protos.t()).contiguous();
    auto a = sim.accessor<double, 2>();
    int64_t h = 0;
    for (size_t i = 0; i < truth.size(); ++i) {
      bool best = true;
      for (int64_t j = 0; j < sim.size(1); ++j)
        if (j != truth[i] && a[i][j] >= a[i][truth[i]]) best = false;
      h += best;
    }
    return h;
  };
  const std::vector<double> alphas{1e1, 1e2, 1e3, 3e3, 1e4, 3e4, 1e5, 3e5, 1e6, 1e7};
  std::vector<double> score(alphas.size(), 0.0);
  for (int fold = 0; fold < 5; ++fold) {
    std::vector<int64_t> tr, te, te_label;
    std::map<int64_t, int64_t> local;
    for (size_t i = 0; i < cls.size(); ++i) {
      if (cls[i] % 5 != fold) {
        tr.push_back(i);
        continue;
      }
      te.push_back(i);
      te_label.push_back(local.emplace(cls[i], local.size()).first->second);
    }
    auto protos = torch::zeros({static_cast<int64_t>(local.size()), y.size(1)}, torch::kFloat64);
    for (size_t k = 0; k < te.size(); ++k) protos[te_label[k]] += y[te[k]];
    protos = F::normalize(protos, F::NormalizeFuncOptions().dim(1));
    auto ti = torch::tensor(tr), ei = torch::tensor(te);
    auto fit = prepare(x.index_select(0, ti), y.index_select(0, ti), x.index_select(0, ei));
    for (size_t a = 0; a < alphas.size(); ++a)
      score[a] += static_cast<double>(hits(predict(fit, alphas[a]), protos, te_label));
  }
  double best_alpha = 0, best_score = -1;
  for (size_t a = 0; a < alphas.size(); ++a)
    if (score[a] > best_score) best_score = score[a], best_alpha = alphas[a];
  *alpha_out = best_alpha;
  std::vector<int64_t> truth = s.test_truth;
  return hits(predict(prepare(x, y, xt), best_alpha),
              F::normalize(prototypes.to(torch::kFloat64), F::NormalizeFuncOptions().dim(1)), truth);
}

}  // namespace

TEST(StudyRidge, MatchesAnIndependentCentredRidgeWithinTwoItems) {
  brainsem::testing::TempDir tmp;
  data::SynthConfig c;
  c.subjects = 2;
  c.library_per_class = 1;
  c.imagery = false;
  data::write_synthetic_dataset(tmp / "d", c);
  for (int subject = 1; subject <= 2; ++subject) {
    experiment::StudyInputs in;
    in.subject = tmp / "d" / ("Subject" + std::to_string(subject) + ".h5");
    in.stimuli = tmp / "d" / "stimuli.safetensors";
    auto study = experiment::load_study(in, brainsem::data::Normalize::none);
    auto ridge = experiment::predict_ridge(study, 0);
    auto protos = experiment::test_prototypes(study).at(0).features;
    auto program = eval::zero_shot(ridge.test_prediction, protos, study.test_truth);
    const int64_t program_hits = static_cast<int64_t>(std::llround(program.top1 * 50));
    double alpha = 0;
    const int64_t independent_hits = independent_ridge_hits(study, protos, &alpha);
    std::printf("Subject%d: program ridge %lld/50 (alpha %.3g), independent %lld/50 (alpha %.3g)\n", subject,
                static_cast<long long>(program_hits), ridge.alpha, static_cast<long long>(independent_hits), alpha);
    EXPECT_LE(std::abs(program_hits - independent_hits), 2);
    EXPECT_GE(program_hits, 3);  // well above chance (1 of 50) on the calibrated world
    EXPECT_EQ(ridge.details.at("alpha").get<double>(), ridge.alpha);
    EXPECT_EQ(ridge.details.at("normalized_targets").get<bool>(), true);
  }
}
