#include "brainsem/train/trainer.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <limits>
#include <memory>

#include "brainsem/core/atomic_file.h"
#include "brainsem/core/error.h"
#include "brainsem/eval/ridge.h"
#include "brainsem/eval/stats.h"
#include "brainsem/eval/zero_shot.h"
#include "brainsem/train/checkpoint.h"
#include "testing/paths.h"

using namespace brainsem;

namespace {

// A small world with a known answer: class centres on the unit sphere in E dims, fMRI tokens a
// fixed linear image of the image feature plus noise. Unseen test classes share the same map,
// so a decoder that learns it generalises zero-shot.
struct World {
  train::TrainingData data;
  torch::Tensor test_x, test_protos;  // [T, R, P], [T, E]
};

World make_world(int64_t train_classes = 40, int64_t test_classes = 20, uint64_t seed = 1) {
  torch::manual_seed(seed);
  const int64_t e = 16, r = 3, p = 12, per = 8, lib = 10;
  auto map = torch::randn({e, r * p});
  auto centres = torch::nn::functional::normalize(torch::randn({train_classes + test_classes, e}),
                                                  torch::nn::functional::NormalizeFuncOptions().dim(1));
  auto image = [&](int64_t c) {
    return torch::nn::functional::normalize(centres[c] + 0.3 * torch::randn({e}),
                                            torch::nn::functional::NormalizeFuncOptions().dim(0));
  };
  World w;
  auto& d = w.data;
  std::vector<torch::Tensor> xs, feats, libs;
  for (int64_t c = 0; c < train_classes; ++c) {
    d.class_names.push_back("c" + std::to_string(c));
    d.rows_of_class.emplace_back();
    d.library_rows_of_class.emplace_back();
    for (int64_t i = 0; i < per; ++i) {
      auto f = image(c);
      feats.push_back(f);
      xs.push_back((f.matmul(map) + 0.5 * torch::randn({r * p})).view({r, p}));
      d.rows_of_class[c].push_back(static_cast<int64_t>(d.sample_class.size()));
      d.sample_class.push_back(c);
    }
    for (int64_t i = 0; i < lib; ++i) {
      d.library_rows_of_class[c].push_back(static_cast<int64_t>(d.library_class.size()));
      d.library_rows.push_back(static_cast<int64_t>(d.library_class.size()));
      d.library_class.push_back(c);
      libs.push_back(image(c));
    }
  }
  d.x = torch::stack(xs);
  d.sample_feature = torch::stack(feats);
  d.library = torch::stack(libs);
  std::vector<torch::Tensor> tx, tp;
  for (int64_t c = train_classes; c < train_classes + test_classes; ++c) {
    auto f = image(c);
    tp.push_back(f);
    tx.push_back((f.matmul(map) + 0.5 * torch::randn({r * p})).view({r, p}));
  }
  w.test_x = torch::stack(tx);
  w.test_protos = torch::stack(tp);
  return w;
}

train::TrainConfig small_config(const std::string& kind) {
  train::TrainConfig c = train::random_start_config();
  c.encoder.kind = kind;
  c.encoder.width = 32;
  c.encoder.depth = 1;
  c.encoder.heads = 2;
  c.encoder.mlp = 64;
  c.steps = 300;
  c.batch = 64;
  c.lr = 3e-3;
  c.temperature = 0.1;
  c.seed = 3;
  return c;
}

std::vector<int64_t> iota_vec(int64_t n) {
  std::vector<int64_t> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = i;
  return v;
}

// A run of cfg stopped at `half_steps`, checkpointed to `path`, and a fresh trainer resumed from
// it (not yet run further); `first` is the stopped run, for comparing what the checkpoint held.
struct Resumed {
  std::unique_ptr<train::Trainer> first, resumed;
};
Resumed stop_and_resume(const train::TrainConfig& cfg, const train::TrainingData& data, int64_t half_steps,
                        const std::filesystem::path& path) {
  auto half = cfg;
  half.steps = half_steps;
  Resumed r;
  r.first = std::make_unique<train::Trainer>(half, data);
  r.first->run();
  r.first->save_checkpoint(path);
  r.resumed = std::make_unique<train::Trainer>(cfg, data);
  r.resumed->load_checkpoint(path);
  return r;
}

// A short linear run of a small world, already trained: the subject of the checkpoint tests.
struct ShortRun {
  explicit ShortRun(int64_t steps) : w(make_world(20, 5)), cfg(small_config("linear")) {
    cfg.steps = steps;
    a = std::make_unique<train::Trainer>(cfg, w.data);
    a->run();
  }
  World w;
  train::TrainConfig cfg = train::random_start_config();
  brainsem::testing::TempDir dir;
  std::unique_ptr<train::Trainer> a;  // keeps a reference to w.data: a ShortRun is never moved
};

void expect_same_parameters(train::Trainer& a, train::Trainer& b) {
  auto pa = a.encoder()->parameters(), pb = b.encoder()->parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(torch::equal(pa[i], pb[i])) << "parameter " << i;
}

}  // namespace

TEST(Trainer, LearnsAZeroShotMapFarAboveChance) {
  auto w = make_world();
  train::Trainer t(small_config("linear"), w.data);
  t.run();
  auto r = eval::zero_shot(t.embed(w.test_x), w.test_protos, iota_vec(20));
  int64_t hits = static_cast<int64_t>(r.top1 * 20 + 0.5);
  // Chance is 1/20; require p < 1e-3 under the exact binomial test.
  EXPECT_LT(eval::binomial_upper_tail(hits, 20, 1.0 / 20), 1e-3) << "top-1 " << r.top1;
  EXPECT_LT(t.losses().back(), t.losses().front());
}

// The combined objective: the same first batch and weights, so the first losses differ by exactly
// the regression term, which at random weights is about 1 (cosine about 0); the combined run still
// learns the zero-shot map.
TEST(Trainer, RegressionWeightAddsTheCentredCosineTermAndStillLearns) {
  auto w = make_world();
  auto cfg = small_config("linear");
  train::Trainer plain(cfg, w.data);
  cfg.regression_weight = 2.0;
  train::Trainer combined(cfg, w.data);
  const double first_plain = plain.step_once(), first_combined = combined.step_once();
  EXPECT_GT(first_combined - first_plain, 2.0 * 0.7);
  EXPECT_LT(first_combined - first_plain, 2.0 * 1.3);
  combined.run();
  auto r = eval::zero_shot(combined.embed(w.test_x), w.test_protos, iota_vec(20));
  const int64_t hits = static_cast<int64_t>(r.top1 * 20 + 0.5);
  EXPECT_LT(eval::binomial_upper_tail(hits, 20, 1.0 / 20), 1e-3) << "top-1 " << r.top1;
  cfg.regression_weight = -1;
  EXPECT_THROW(train::validate(cfg), std::exception);
}

TEST(Trainer, ViTLearnsToo) {
  auto w = make_world();
  auto cfg = small_config("vit");
  cfg.lr = 1e-3;
  train::Trainer t(cfg, w.data);
  t.run();
  auto r = eval::zero_shot(t.embed(w.test_x), w.test_protos, iota_vec(20));
  EXPECT_GT(r.top1, 0.3) << "top-1 " << r.top1;  // chance 0.05
}

TEST(Trainer, SameSeedSameLossCurveAndResumeEqualsUninterrupted) {
  auto w = make_world(20, 5);
  auto cfg = small_config("vit");
  cfg.steps = 20;
  cfg.batch = 32;
  cfg.encoder.dropout = 0.1;  // dropout masks must be reproducible too
  train::Trainer a(cfg, w.data), b(cfg, w.data);
  a.run();
  b.run();
  EXPECT_EQ(a.losses(), b.losses());

  brainsem::testing::TempDir dir;
  auto r = stop_and_resume(cfg, w.data, 10, dir / "ck.safetensors");
  r.resumed->run();
  EXPECT_EQ(r.resumed->step(), 20);
  expect_same_parameters(a, *r.resumed);
  // A different seed gives a different run.
  auto other = cfg;
  other.seed = 99;
  train::Trainer c(other, w.data);
  c.run();
  EXPECT_NE(a.losses(), c.losses());
}

TEST(Trainer, RefusesCheckpointOfAnotherConfig) {
  ShortRun r(2);
  r.a->save_checkpoint(r.dir / "ck.safetensors");
  auto other = r.cfg;
  other.lr = 0.5;
  train::Trainer b(other, r.w.data);
  EXPECT_THROW(b.load_checkpoint(r.dir / "ck.safetensors"), brainsem::Error);
  EXPECT_THROW(b.load_checkpoint(r.dir / "missing.pt"), brainsem::Error);
}

TEST(Trainer, HeldOutClassesChooseTheStepAndAreNeverTrainedOn) {
  auto w = make_world(40, 10);
  auto cfg = small_config("linear");
  cfg.val_classes = 8;
  cfg.eval_every = 50;
  train::Trainer t(cfg, w.data);
  t.run();
  EXPECT_EQ(t.val_classes().size(), 8u);
  EXPECT_GT(t.best_step(), 0);
  EXPECT_GT(t.best_val(), 0.3);  // chance 1/8
}

TEST(Ridge, RecoversALinearMapAndZeroShotsWell) {
  auto w = make_world();
  auto x = w.data.x.flatten(1);
  eval::RidgeConfig rc;
  rc.alphas = {0.1, 1, 10, 100, 1000};
  rc.folds = 4;
  auto cv = eval::fit_ridge_cv(x, w.data.sample_feature, w.data.sample_class, rc, 0);
  auto r = eval::zero_shot(cv.model.predict(w.test_x.flatten(1)), w.test_protos, iota_vec(20));
  EXPECT_GT(r.top1, 0.5);
  // Oracle check of the dual solution against the primal normal equations.
  auto m = eval::fit_ridge(x, w.data.sample_feature, 10.0);
  auto z = ((x.to(torch::kFloat64) - m.x_mean) / m.x_scale);
  auto primal = torch::linalg::solve(z.t().matmul(z) + 10.0 * torch::eye(z.size(1), torch::kFloat64),
                                     z.t().matmul(w.data.sample_feature.to(torch::kFloat64) - m.y_mean), true);
  EXPECT_TRUE(torch::allclose(primal, m.weight, 1e-6, 1e-8));
}

TEST(ZeroShot, RanksAndTopK) {
  auto protos = torch::eye(6);
  auto pred = torch::zeros({2, 6});
  pred[0][2] = 1;                                      // exactly class 2
  pred[1][0] = 1, pred[1][1] = 0.9, pred[1][3] = 0.8;  // class 3 ranks 3rd
  auto r = eval::zero_shot(pred, protos, {2, 3});
  EXPECT_EQ(r.rank, (std::vector<int64_t>{1, 3}));
  EXPECT_DOUBLE_EQ(r.top1, 0.5);
  EXPECT_DOUBLE_EQ(r.top5, 1.0);
  EXPECT_THROW(eval::zero_shot(pred, protos, {2}), brainsem::Error);
}

TEST(Trainer, ResumeWithValidationAndLearnableTemperatureEqualsUninterrupted) {
  // Every piece of state a checkpoint carries: held-out-class selection (best step, best score,
  // best weights) and the learnable temperature. best_val once came back as an int64 bit pattern.
  auto w = make_world(40, 10);
  auto cfg = small_config("linear");
  cfg.steps = 40;
  cfg.val_classes = 8;
  cfg.eval_every = 10;
  cfg.learn_temperature = true;
  train::Trainer a(cfg, w.data);
  a.run();

  brainsem::testing::TempDir dir;
  auto r = stop_and_resume(cfg, w.data, 20, dir / "ck.safetensors");
  EXPECT_EQ(r.resumed->best_val(), r.first->best_val());
  EXPECT_EQ(r.resumed->best_step(), r.first->best_step());
  r.resumed->run();
  EXPECT_GT(a.best_val(), 0.0);
  EXPECT_LE(a.best_val(), 1.0);
  EXPECT_EQ(r.resumed->best_val(), a.best_val());
  EXPECT_EQ(r.resumed->best_step(), a.best_step());
  expect_same_parameters(a, *r.resumed);
  EXPECT_TRUE(torch::equal(a.embed(w.test_x), r.resumed->embed(w.test_x)));  // the selected weights
}

TEST(Trainer, RefusesACheckpointWithNonFiniteWeights) {
  ShortRun r(2);
  {
    torch::NoGradGuard g;
    r.a->encoder()->parameters()[0].view(-1)[0] = std::numeric_limits<float>::quiet_NaN();
  }
  r.a->save_checkpoint(r.dir / "ck.safetensors");
  train::Trainer b(r.cfg, r.w.data);
  try {
    b.load_checkpoint(r.dir / "ck.safetensors");
    FAIL() << "a NaN weight was accepted";
  } catch (const brainsem::Error& e) {
    EXPECT_NE(std::string(e.what()).find("non-finite"), std::string::npos) << e.what();
  }
}

namespace {
// What BrainSem before the safetensors checkpoint wrote (a TorchScript archive), for the legacy tests.
void write_legacy_checkpoint(train::Trainer& t, const std::filesystem::path& path) {
  torch::serialize::OutputArchive root, model_ar, opt_ar, best_ar;
  t.encoder()->save(model_ar);
  root.write("model", model_ar);
  torch::optim::AdamW fresh(t.encoder()->parameters());  // moments are not compared below
  fresh.save(opt_ar);
  root.write("optimizer", opt_ar);
  root.write("best", best_ar);
  root.write("step", torch::tensor(t.step(), torch::kInt64));
  root.write("best_step", torch::tensor(t.best_step(), torch::kInt64));
  root.write("best_val", torch::tensor(t.best_val(), torch::kFloat64));
  nlohmann::json cfg;
  to_json(cfg, t.config());
  root.write("config", c10::IValue(cfg.dump()));
  root.save_to(path.string());
}
}  // namespace

TEST(Trainer, LegacyTorchScriptCheckpointsAreReadOnlyWhenTrusted) {
  ShortRun r(4);
  auto& w = r.w;
  auto& cfg = r.cfg;
  auto& dir = r.dir;
  auto& a = *r.a;
  write_legacy_checkpoint(a, dir / "checkpoint.pt");
  EXPECT_TRUE(train::is_legacy_checkpoint(dir / "checkpoint.pt"));
  EXPECT_EQ(train::checkpoint_in(dir.path()), dir / "checkpoint.pt");  // the only one there
  train::Trainer b(cfg, w.data);
  try {
    b.load_checkpoint(dir / "checkpoint.pt");
    FAIL() << "a legacy checkpoint was read without trust";
  } catch (const brainsem::Error& e) {
    EXPECT_NE(std::string(e.what()).find("can run code"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("--trust-checkpoint"), std::string::npos) << e.what();
  }
  EXPECT_THROW(train::Trainer::checkpoint_step(dir / "checkpoint.pt"), brainsem::Error);
  b.load_checkpoint(dir / "checkpoint.pt", /*trust_legacy=*/true);
  EXPECT_EQ(b.step(), 4);
  EXPECT_TRUE(torch::equal(a.embed(w.test_x), b.embed(w.test_x)));
  // Converted, it is read like any other, and preferred over the .pt beside it.
  b.save_checkpoint(dir / "checkpoint.safetensors");
  EXPECT_FALSE(train::is_legacy_checkpoint(dir / "checkpoint.safetensors"));
  EXPECT_EQ(train::checkpoint_in(dir.path()), dir / "checkpoint.safetensors");
  train::Trainer c(cfg, w.data);
  c.load_checkpoint(dir / "checkpoint.safetensors");
  EXPECT_TRUE(torch::equal(a.embed(w.test_x), c.embed(w.test_x)));
}

TEST(Trainer, DamagedOrForeignCheckpointsAreRefusedNotReadOutOfBounds) {
  ShortRun r(2);
  auto& w = r.w;
  auto& cfg = r.cfg;
  auto& dir = r.dir;
  auto& a = *r.a;
  a.save_checkpoint(dir / "ck.safetensors");
  const std::string bytes = brainsem::core::read_text_file(dir / "ck.safetensors");
  auto error_loading = [&](const std::string& content) {
    { std::ofstream(dir / "bad.safetensors", std::ios::binary) << content; }
    train::Trainer b(cfg, w.data);
    try {
      b.load_checkpoint(dir / "bad.safetensors");
    } catch (const brainsem::Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  // Tensor data shorter than the header's shapes: refused by the reader, never read past the end.
  for (size_t keep : {bytes.size() - 16, size_t{100}}) {
    const std::string what = error_loading(bytes.substr(0, keep));
    EXPECT_NE(what.find("bad.safetensors"), std::string::npos) << keep << " bytes: '" << what << "'";
  }
  // A checkpoint of a different model (another token width) is refused by name and shape.
  auto other = make_world(20, 5);
  auto wider = other.data;
  wider.x = torch::cat({other.data.x, torch::zeros({other.data.x.size(0), other.data.x.size(1), 4})}, 2);
  auto wide_cfg = cfg;
  train::Trainer c(wide_cfg, wider);
  c.run();
  c.save_checkpoint(dir / "wide.safetensors");
  train::Trainer d(cfg, w.data);
  try {
    d.load_checkpoint(dir / "wide.safetensors");
    FAIL() << "a checkpoint of another model shape was loaded";
  } catch (const brainsem::Error& e) {
    EXPECT_NE(std::string(e.what()).find("has shape"), std::string::npos) << e.what();
  }
}

TEST(Trainer, LossesReadBackEveryFewStepsEqualStepByStep) {
  // run() reads losses from the device only at log, validation and checkpoint steps; the curve and
  // the weights must be those of stepping one at a time.
  auto w = make_world(20, 5);
  auto cfg = small_config("vit");
  cfg.steps = 23;
  cfg.batch = 32;
  cfg.log_every = 7;
  train::Trainer a(cfg, w.data), b(cfg, w.data);
  a.run();
  std::vector<double> one_by_one;
  for (int i = 0; i < 23; ++i) one_by_one.push_back(b.step_once());
  EXPECT_EQ(a.losses().size(), 23u);
  EXPECT_EQ(a.losses(), one_by_one);
  EXPECT_EQ(b.losses(), one_by_one);
  expect_same_parameters(a, b);
}

TEST(Trainer, ADivergedRunStopsNamingTheFirstBadStepBeforeAnyCheckpoint) {
  auto w = make_world(20, 5);
  w.data.x[0][0][0] = std::numeric_limits<float>::quiet_NaN();  // every virtual sample of class 0 is NaN
  auto cfg = small_config("linear");
  cfg.steps = 40;
  cfg.log_every = 10;
  cfg.checkpoint_every = 5;
  train::Trainer t(cfg, w.data);
  brainsem::testing::TempDir dir;
  try {
    t.run(dir / "run");
    FAIL() << "a NaN loss was not reported";
  } catch (const brainsem::Error& e) {
    // Read back at step 5 (the first checkpoint), the message names the step that diverged.
    EXPECT_NE(std::string(e.what()).find("training diverged at step 1 (loss "), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(train::checkpoint_in(dir / "run")));
}

TEST(Trainer, Bf16AutocastOnTheCpuTrainsCloseToFloat32ButNotIdentically) {
  auto w = make_world(20, 5);
  auto cfg = small_config("vit");
  cfg.steps = 40;
  cfg.batch = 32;
  train::Trainer fp32(cfg, w.data);
  train::Trainer bf16(cfg, w.data, core::parse_compute_target("cpu", "bf16"));
  fp32.run();
  bf16.run();
  ASSERT_EQ(bf16.losses().size(), 40u);
  EXPECT_NE(bf16.losses(), fp32.losses());  // the matrix products did run in bf16
  EXPECT_LT(bf16.losses().back(), bf16.losses().front());
  EXPECT_NEAR(bf16.losses().back(), fp32.losses().back(), 0.05 * fp32.losses().back());
  // Weights stay float32; embeddings come back float32 on the CPU.
  for (const auto& p : bf16.encoder()->parameters()) EXPECT_EQ(p.scalar_type(), torch::kFloat32);
  const auto e = bf16.embed(w.test_x);
  EXPECT_EQ(e.scalar_type(), torch::kFloat32);
  EXPECT_TRUE(e.device().is_cpu());
  EXPECT_TRUE(torch::allclose(e, fp32.embed(w.test_x), 0.1, 0.1));
}

TEST(Device, TrainingOnTheTestDeviceMatchesTheCpuAndResumesOnTheCpu) {
  // BRAINSEM_TEST_DEVICE picks the device (scripts/device_check.sh sets cuda); on the CPU every
  // number must be identical, on a GPU close (TF32 products, other reduction orders).
  const char* env = std::getenv("BRAINSEM_TEST_DEVICE");
  const auto target = core::parse_compute_target(env ? env : "cpu", "fp32");
  const bool exact = target.device.is_cpu();
  auto w = make_world(20, 5);
  auto cfg = small_config("vit");
  cfg.steps = 20;
  cfg.batch = 32;
  cfg.val_classes = 5;  // validation and a learnable temperature: state beyond the weights
  cfg.eval_every = 10;
  cfg.learn_temperature = true;
  train::Trainer on_cpu(cfg, w.data);
  on_cpu.run();
  auto half = cfg;
  half.steps = 10;
  train::Trainer on_device(half, w.data, target);
  on_device.run();
  brainsem::testing::TempDir dir;
  on_device.save_checkpoint(dir / "ck.safetensors");
  train::Trainer resumed(cfg, w.data);  // the CPU continues the device's run
  resumed.load_checkpoint(dir / "ck.safetensors");
  resumed.run();
  ASSERT_EQ(on_device.losses().size(), 10u);
  for (size_t i = 0; i < 10; ++i) {
    if (exact)
      EXPECT_EQ(on_device.losses()[i], on_cpu.losses()[i]) << "step " << i + 1;
    else
      EXPECT_NEAR(on_device.losses()[i], on_cpu.losses()[i], 0.02 * on_cpu.losses()[i]) << "step " << i + 1;
  }
  const auto e_device = on_device.embed(w.test_x), e_cpu = resumed.embed(w.test_x), e_ref = on_cpu.embed(w.test_x);
  EXPECT_TRUE(e_device.device().is_cpu());
  if (exact) {
    EXPECT_EQ(resumed.best_step(), on_cpu.best_step());
    expect_same_parameters(resumed, on_cpu);
    EXPECT_TRUE(torch::equal(e_cpu, e_ref));
  } else {
    EXPECT_TRUE(torch::allclose(e_cpu, e_ref, 0.05, 0.05));
  }
}
