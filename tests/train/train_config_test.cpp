// The paper-like recipe, training length in epochs, and the retrain-all trainer.
#include "brainsem/train/train_config.h"

#include <gtest/gtest.h>

#include "brainsem/core/error.h"
#include "brainsem/train/checkpoint.h"
#include "brainsem/train/trainer.h"
#include "testing/errors.h"
#include "testing/paths.h"

using namespace brainsem;

namespace {

// C classes of `per` real samples and `lib` library images each; tokens [R=3, P=4], features E.
train::TrainingData tiny_data(int64_t classes, int64_t per, int64_t lib, int64_t e = 8) {
  torch::manual_seed(5);
  train::TrainingData d;
  std::vector<torch::Tensor> xs, feats, libs;
  for (int64_t c = 0; c < classes; ++c) {
    d.class_names.push_back("c" + std::to_string(c));
    d.rows_of_class.emplace_back();
    d.library_rows_of_class.emplace_back();
    auto centre = torch::randn({e});
    for (int64_t i = 0; i < per; ++i) {
      d.rows_of_class[c].push_back(static_cast<int64_t>(d.sample_class.size()));
      d.sample_class.push_back(c);
      feats.push_back(centre + 0.1 * torch::randn({e}));
      xs.push_back(torch::randn({3, 4}));
    }
    for (int64_t i = 0; i < lib; ++i) {
      d.library_rows_of_class[c].push_back(static_cast<int64_t>(d.library_class.size()));
      d.library_rows.push_back(static_cast<int64_t>(d.library_class.size()));
      d.library_class.push_back(c);
      libs.push_back(centre + 0.1 * torch::randn({e}));
    }
  }
  d.x = torch::stack(xs);
  d.sample_feature = torch::stack(feats);
  d.library = torch::stack(libs);
  return d;
}

train::TrainConfig linear_config() {
  train::TrainConfig c = train::random_start_config();
  c.batch = 16;
  c.steps = 12;
  c.seed = 7;
  return c;
}

}  // namespace

TEST(TrainConfig, OneEncoderDefaultEverywhere) {
  EXPECT_EQ(train::TrainConfig{}.encoder.kind, model::FmriEncoderConfig{}.kind);
  EXPECT_EQ(train::TrainConfig{}.encoder.kind, "linear");
  EXPECT_EQ(train::TrainConfig{}.encoder.head, "linear");
}

TEST(TrainConfig, PaperRecipeUsesTheClsOutputAndFiveEpochs) {
  auto p = train::paper_config();
  EXPECT_EQ(p.encoder.kind, "vit");
  EXPECT_EQ(p.encoder.depth, 24);
  EXPECT_EQ(p.encoder.heads, 16);
  EXPECT_EQ(p.encoder.width, 512);
  EXPECT_EQ(p.encoder.head, "none");
  EXPECT_EQ(p.epochs, 5.0);
  EXPECT_EQ(p.batch, 200);
  EXPECT_DOUBLE_EQ(p.lr, 1e-4);
  EXPECT_NO_THROW(train::validate(p, 512));  // CLIP ViT-B/16 features
  // ViT-L/14 features (768) do not fit a 512-wide CLS output without a head.
  try {
    train::validate(p, 768);
    ADD_FAILURE() << "a 512-wide CLS output was accepted for 768-d features";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--head linear"), std::string::npos) << e.what();
  }
  p.encoder.head = "linear";
  EXPECT_NO_THROW(train::validate(p, 768));
  auto linear = train::TrainConfig{};
  linear.encoder.head = "none";
  EXPECT_THROW(train::validate(linear), Error);  // a linear encoder has no CLS output
}

TEST(TrainConfig, JsonRoundTripAndOldRecordsWithoutNewKeys) {
  auto p = train::paper_config();
  p.val_classes = 10;
  p.retrain_all = true;
  nlohmann::json j;
  train::to_json(j, p);
  train::TrainConfig back;
  train::apply_overrides(back, j, "test");
  nlohmann::json again;
  train::to_json(again, back);
  EXPECT_EQ(again, j);
  // A config.json written before head, epochs, retrain_all and init existed meant a linear head,
  // steps, and a random start with nothing held out at the defaults of then (lr 1e-3).
  j["encoder"].erase("head");
  for (const char* key : {"epochs", "retrain_all", "init", "val_classes", "lr", "eval_every"}) j.erase(key);
  const auto old = train::train_config_from_document(j, "old/config.json");
  EXPECT_EQ(old.encoder.head, "linear");
  EXPECT_EQ(old.epochs, 0.0);
  EXPECT_FALSE(old.retrain_all);
  EXPECT_EQ(old.init, "random");
  EXPECT_EQ(old.val_classes, 0);
  EXPECT_EQ(old.lr, 1e-3);
  EXPECT_EQ(old.eval_every, 50);
  // A record of this version has every key, so the current defaults never fill a gap silently.
  nlohmann::json current;
  train::to_json(current, train::TrainConfig{});
  const auto now = train::train_config_from_document(current, "new/config.json");
  EXPECT_EQ(now.init, "ridge");
  EXPECT_EQ(now.val_classes, 30);
  EXPECT_TRUE(now.retrain_all);
  EXPECT_EQ(now.lr, 1e-4);
}

TEST(TrainConfig, TheDefaultIsTheRidgeStartWithHeldOutStepSelection) {
  const train::TrainConfig d;
  EXPECT_EQ(d.encoder.kind, "linear");
  EXPECT_EQ(d.init, "ridge");
  EXPECT_EQ(d.lr, 1e-4);
  EXPECT_EQ(d.val_classes, 30);
  EXPECT_TRUE(d.retrain_all);
  EXPECT_EQ(d.eval_every, 25);
  EXPECT_EQ(d.steps, 300);
  // The paper-like recipe and the random start keep everything else and start at random.
  for (const auto& other : {train::paper_config(), train::random_start_config()}) {
    EXPECT_EQ(other.init, "random");
    EXPECT_EQ(other.val_classes, 0);
    EXPECT_FALSE(other.retrain_all);
    EXPECT_NO_THROW(train::validate(other));
  }
}

TEST(TrainConfig, OverridesOfTheWrongKindAreRefusedNamingTheKey) {
  // Each of these converted silently before (0.5 -> 0, -2 -> 2^64-2, true -> 1 head, 1e308 -> UB).
  const std::vector<std::pair<const char*, const char*>> bad = {
      {R"({"val_classes": 0.5})", "'val_classes' must be an integer"},
      {R"({"seed": -2})", "'seed' must be a non-negative integer"},
      {R"({"steps": 1e308})", "'steps' must be an integer"},
      {R"({"encoder": {"heads": true}})", "'encoder.heads' must be an integer"},
      {R"({"library": 1})", "'library' must be true or false"},
      {R"({"normalize": 3})", "'normalize' must be a string"},
      {R"({"encoder": 7})", "'encoder' must be an object"},
      {R"({"lr": "1e-3"})", "'lr' must be a number"}};
  for (const auto& [text, expected] : bad) {
    train::TrainConfig c;
    const std::string error =
        brainsem::testing::error_of([&] { train::apply_overrides(c, nlohmann::json::parse(text), "my.json"); });
    EXPECT_NE(error.find(expected), std::string::npos) << text << " -> " << error;
    EXPECT_NE(error.find("my.json"), std::string::npos) << error;
  }
  // Integers where a real number is expected are fine, as are the right kinds.
  train::TrainConfig c;
  train::apply_overrides(c, nlohmann::json::parse(R"({"lr": 1, "seed": 5, "encoder": {"dropout": 0}, "steps": 7})"),
                         "ok.json");
  EXPECT_EQ(c.lr, 1.0);
  EXPECT_EQ(c.seed, 5u);
  EXPECT_EQ(c.steps, 7);
}

TEST(TrainConfig, TheDataMustHaveClassesEnoughForSelectionAndTheRidgeStart) {
  train::TrainConfig c;  // 30 held out, ridge start
  EXPECT_NO_THROW(train::validate_for_classes(c, 150));
  EXPECT_NO_THROW(train::validate_for_classes(c, 40));  // 10 left for the ridge's 5 folds of 2
  std::string error = brainsem::testing::error_of([&] { train::validate_for_classes(c, 34); });
  EXPECT_NE(error.find("between 5 and 29 for data with 34 training classes"), std::string::npos) << error;
  error = brainsem::testing::error_of([&] { train::validate_for_classes(c, 39); });
  EXPECT_NE(error.find("needs at least 10 trained classes; this run trains on 9"), std::string::npos) << error;
  EXPECT_NE(error.find("--init random"), std::string::npos) << error;
  c.val_classes = 0;
  EXPECT_NO_THROW(train::validate_for_classes(c, 10));
  EXPECT_THROW(train::validate_for_classes(c, 9), Error);
  c.init = "random";  // nothing held out, no ridge: any number of classes
  EXPECT_NO_THROW(train::validate_for_classes(c, 2));
}

TEST(TrainConfig, RejectsInconsistentLengthAndSelection) {
  auto c = train::random_start_config();
  c.steps = 0;
  EXPECT_THROW(train::validate(c), Error);
  c.epochs = 1;
  EXPECT_NO_THROW(train::validate(c));
  c.epochs = -1;
  EXPECT_THROW(train::validate(c), Error);
  c = train::TrainConfig{};
  c.steps = 0;  // the ridge start is a decoder already: 0 steps is the ridge itself
  EXPECT_NO_THROW(train::validate(c));
  c.val_classes = 0;  // retrain-all with nothing held out trains every class: nothing to refuse
  EXPECT_NO_THROW(train::validate(c));
  c = train::TrainConfig{};
  c.encoder.kind = "mlp";  // the default ridge start is a linear map; the error names the fix
  const std::string error = brainsem::testing::error_of([&] { train::validate(c); });
  EXPECT_NE(error.find("--init random"), std::string::npos) << error;
  EXPECT_EQ(train::steps_for_epochs(5, 1000, 200), 25);
  EXPECT_EQ(train::steps_for_epochs(5, 1001, 200), 26);
  EXPECT_EQ(train::steps_for_epochs(0.01, 10, 200), 1);
}

TEST(Trainer, EpochsBecomeStepsOverTheTrainedPool) {
  auto d = tiny_data(20, 4, 6);
  auto c = linear_config();
  c.epochs = 2;
  train::Trainer library_on(c, d);
  EXPECT_EQ(library_on.pool_size(), 20 * 6);
  EXPECT_EQ(library_on.config().steps, 15);  // ceil(2 x 120 / 16)
  c.library = false;
  train::Trainer library_off(c, d);
  EXPECT_EQ(library_off.pool_size(), 20 * 4);
  EXPECT_EQ(library_off.config().steps, 10);  // 2 x 80 / 16
  c.library = true;
  c.val_classes = 5;  // held-out classes are not part of an epoch
  train::Trainer held_out(c, d);
  EXPECT_EQ(held_out.pool_size(), 15 * 6);
  EXPECT_EQ(held_out.config().steps, 12);  // ceil(2 x 90 / 16)
  held_out.run();
  EXPECT_EQ(held_out.step(), 12);
}

TEST(Trainer, RetrainAllTrainsOnEveryClassExactlyAsAPlainRun) {
  auto d = tiny_data(20, 4, 6);
  auto plain_cfg = linear_config();
  auto retrain_cfg = plain_cfg;
  retrain_cfg.val_classes = 5;
  retrain_cfg.retrain_all = true;
  train::Trainer plain(plain_cfg, d), retrain(retrain_cfg, d);
  EXPECT_TRUE(retrain.val_classes().empty());
  EXPECT_EQ(retrain.pool_size(), 20 * 6);
  plain.run();
  retrain.run();
  EXPECT_EQ(retrain.losses(), plain.losses());
  EXPECT_EQ(retrain.best_step(), -1);  // nothing held out, nothing chosen
  auto a = plain.encoder()->parameters(), b = retrain.encoder()->parameters();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i], b[i])) << "parameter " << i;
  // The same flags without retrain_all hold 5 classes out.
  retrain_cfg.retrain_all = false;
  train::Trainer select(retrain_cfg, d);
  EXPECT_EQ(select.val_classes().size(), 5u);
  EXPECT_EQ(select.pool_size(), 15 * 6);
}

TEST(Trainer, CheckpointOfAnEpochRunResumesWithAnyLength) {
  auto d = tiny_data(20, 4, 6);
  auto c = linear_config();
  c.epochs = 1;  // 8 steps
  brainsem::testing::TempDir dir;
  train::Trainer first(c, d);
  first.run();
  first.save_checkpoint(dir / "ck.safetensors");
  EXPECT_EQ(train::Trainer::checkpoint_step(dir / "ck.safetensors"), 8);
  auto longer = c;
  longer.epochs = 2;
  train::Trainer resumed(longer, d);
  resumed.load_checkpoint(dir / "ck.safetensors");
  resumed.run();
  EXPECT_EQ(resumed.step(), 15);
  train::Trainer straight(longer, d);
  straight.run();
  auto a = straight.encoder()->parameters(), b = resumed.encoder()->parameters();
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i], b[i])) << "parameter " << i;
}

// A checkpoint written before the ridge start existed has no init, val_classes, retrain_all, lr or
// eval_every in its config; its run's config.json lacks them too. Both read as the random start of
// then, so the run still opens (it once compared against today's defaults and was refused).
TEST(Trainer, ACheckpointWithoutTheNewerKeysOpensAsTheRandomStartItWas) {
  auto d = tiny_data(20, 4, 6);
  const auto c = linear_config();  // the random start at lr 1e-3
  brainsem::testing::TempDir dir;
  train::Trainer first(c, d);
  first.run();
  first.save_checkpoint(dir / "ck.safetensors");
  auto state = train::read_checkpoint(dir / "ck.safetensors");
  for (const char* key : {"init", "val_classes", "retrain_all", "lr", "eval_every"}) state.config.erase(key);
  train::write_checkpoint(dir / "old.safetensors", state);
  const auto reopened_cfg = train::config_from_stored_fields(state.config);
  EXPECT_EQ(reopened_cfg.init, "random");
  EXPECT_EQ(reopened_cfg.lr, 1e-3);
  train::Trainer reopened(reopened_cfg, d);
  EXPECT_NO_THROW(reopened.load_checkpoint(dir / "old.safetensors"));
  // Today's defaults are a different configuration, and say so.
  auto today = c;
  today.init = "ridge";
  train::Trainer other(today, d);
  EXPECT_THROW(other.load_checkpoint(dir / "old.safetensors"), Error);
}

// The ridge start is fitted once, when the weights are first used; a loaded checkpoint replaces
// it, so reopening a run does not fit a ridge again.
TEST(Trainer, TheRidgeStartIsFittedOnFirstUseAndNotWhenACheckpointIsLoaded) {
  auto d = tiny_data(20, 4, 6);
  auto c = linear_config();
  c.init = "ridge";
  c.steps = 3;
  brainsem::testing::TempDir dir;
  train::Trainer fresh(c, d);
  EXPECT_EQ(fresh.ridge_alpha(), 0.0);  // not fitted by the constructor
  const auto start = fresh.embed(d.x);  // first use: fitted
  EXPECT_GT(fresh.ridge_alpha(), 0.0);
  fresh.run();
  fresh.save_checkpoint(dir / "ck.safetensors");
  train::Trainer reopened(c, d);
  reopened.load_checkpoint(dir / "ck.safetensors");
  EXPECT_TRUE(torch::equal(reopened.embed(d.x), fresh.embed(d.x)));
  EXPECT_EQ(reopened.ridge_alpha(), 0.0);  // never fitted: the checkpoint's weights are the model
  // step_once() starts from the ridge as run() does.
  train::Trainer stepped(c, d), ran(c, d);
  for (int i = 0; i < 3; ++i) stepped.step_once();
  ran.run();
  EXPECT_TRUE(torch::equal(stepped.embed(d.x), ran.embed(d.x)));
  EXPECT_FALSE(torch::equal(start, ran.embed(d.x)));  // and the steps moved it
}
