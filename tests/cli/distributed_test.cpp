// Multi-process runs of the program, started as torchrun and srun start them (real processes over
// Gloo on 127.0.0.1): a distributed or sharded `embed` writes the same bytes as one process, a failed
// rank fails the job naming it, and a rerun redoes only the missing part.
#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "brainsem/core/atomic_file.h"
#include "brainsem/core/output_lock.h"
#include "brainsem/core/process_group.h"
#include "brainsem/data/feature_store.h"
#include "brainsem/train/checkpoint.h"
#include "brainsem/train/trainer.h"
#include "testing/paths.h"
#include "testing/ranks.h"

namespace fs = std::filesystem;
namespace bt = brainsem::testing;
using bt::run_cli;
using bt::shared_dir;

namespace {
std::string q(const fs::path& p) { return "'" + p.string() + "'"; }

std::string bytes_of(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// 12 photos, one of them again under another folder (a duplicate name) and one corrupt JPEG: the
// store lists both as skipped, so the parts must agree on them too.
fs::path make_image_folder(const fs::path& dir) {
  const fs::path imgs = dir / "imgs";
  fs::create_directories(imgs / "more");
  int n = 0;
  for (const auto& e : fs::directory_iterator(shared_dir() / "images/k92")) {
    if (e.path().extension() != ".png" || n >= 12) continue;
    fs::create_symlink(e.path(), imgs / e.path().filename());
    if (n++ == 3) fs::create_symlink(e.path(), imgs / "more" / e.path().filename());
  }
  brainsem::core::write_text_atomically(imgs / "05_broken.jpg", "not a jpeg");
  return imgs;
}

// The command line of a rank: the program and its arguments.
std::string program(const std::string& args) { return "'" + bt::cli_binary().string() + "' " + args; }

std::string embed_args(const fs::path& imgs, const fs::path& out) {
  return "embed -q --model " + q(shared_dir() / "golden/clip_openai/openai_vit_tiny.safetensors") + " --images " +
         q(imgs) + " --out " + q(out) + " --batch 3 --checkpoint-every 2 --threads 1";
}

std::vector<bt::RankOutcome> embed_job(int world, bool srun, const fs::path& imgs, const fs::path& out,
                                       const fs::path& logs) {
  const int port = bt::free_tcp_port();
  return bt::run_ranks(
      world, [&](int) { return program(embed_args(imgs, out)); },
      [&](int r) { return srun ? bt::srun_env(r, world, port) : bt::torchrun_env(r, world, port); }, logs);
}
// The folder and its single-process store: what every multi-process run must equal, byte for byte.
struct EmbedReference {
  fs::path imgs, store;
};
EmbedReference embed_reference(const fs::path& dir) {
  EmbedReference r{make_image_folder(dir), dir / "single.safetensors"};
  std::string out;
  EXPECT_EQ(run_cli(embed_args(r.imgs, r.store), &out), 0) << out;
  return r;
}
}  // namespace

TEST(CliDistributed, EmbedOverTwoAndThreeRanksWritesTheSingleProcessBytes) {
  BRAINSEM_REQUIRE_SHARED("images/k92/01_human_bodypart.png");
  BRAINSEM_REQUIRE_SHARED("golden/clip_openai/openai_vit_tiny.safetensors");
  if (!brainsem::core::has_distributed_support()) GTEST_SKIP() << "built without Gloo (libgloo-dev)";
  bt::TempDir dir;
  const auto [imgs, single_path] = embed_reference(dir.path());
  const auto single = brainsem::data::FeatureStore::open(single_path);
  ASSERT_EQ(single.size(), 12);
  ASSERT_EQ(single.skipped.size(), 2u);  // the duplicate name and the corrupt file
  const std::string reference = bytes_of(single_path);

  for (const auto& [world, srun] : {std::pair{2, false}, std::pair{3, true}}) {
    const fs::path joined = dir / ("joined" + std::to_string(world) + ".safetensors");
    const auto ranks = embed_job(world, srun, imgs, joined, dir.path());
    for (int r = 0; r < world; ++r) ASSERT_EQ(ranks[r].exit_code, 0) << "rank " << r << ": " << ranks[r].output;
    EXPECT_NE(ranks[0].output.find("joined " + std::to_string(world) + " parts"), std::string::npos) << ranks[0].output;
    EXPECT_TRUE(bytes_of(joined) == reference) << world << " ranks wrote other bytes than one process";
    for (int k = 0; k < world; ++k) EXPECT_FALSE(fs::exists(brainsem::data::part_path(joined, k, world)));
  }
}

TEST(CliDistributed, AFailedRankFailsTheEmbedJobNamingItAndARerunRedoesOnlyItsPart) {
  BRAINSEM_REQUIRE_SHARED("images/k92/01_human_bodypart.png");
  BRAINSEM_REQUIRE_SHARED("golden/clip_openai/openai_vit_tiny.safetensors");
  if (!brainsem::core::has_distributed_support()) GTEST_SKIP() << "built without Gloo (libgloo-dev)";
  bt::TempDir dir;
  const auto [imgs, single] = embed_reference(dir.path());
  const fs::path joined = dir / "lib.safetensors";
  {
    // Another process holds part 1: rank 1 stops at once, and rank 0 finishes its part, then fails.
    const brainsem::core::OutputLock held(brainsem::data::part_path(joined, 1, 2));
    const auto ranks = embed_job(2, false, imgs, joined, dir.path());
    EXPECT_NE(ranks[1].exit_code, 0) << ranks[1].output;
    EXPECT_NE(ranks[0].exit_code, 0) << ranks[0].output;
    EXPECT_NE(ranks[0].output.find("rank 1 failed: "), std::string::npos) << ranks[0].output;
    EXPECT_NE(ranks[0].output.find("is in use by process"), std::string::npos) << ranks[0].output;
    EXPECT_FALSE(fs::exists(joined));
    EXPECT_TRUE(fs::exists(brainsem::data::part_path(joined, 0, 2)));
  }
  const auto ranks = embed_job(2, false, imgs, joined, dir.path());
  for (int r = 0; r < 2; ++r) ASSERT_EQ(ranks[r].exit_code, 0) << "rank " << r << ": " << ranks[r].output;
  EXPECT_NE(ranks[0].output.find("embedded 0 new, "), std::string::npos) << ranks[0].output;
  EXPECT_NE(ranks[1].output.find(" new, 0 already present"), std::string::npos) << ranks[1].output;
  EXPECT_TRUE(bytes_of(joined) == bytes_of(single));

  // A second rerun reuses the joined store: nothing is embedded again.
  const auto again = embed_job(2, false, imgs, joined, dir.path());
  for (int r = 0; r < 2; ++r) {
    ASSERT_EQ(again[r].exit_code, 0) << again[r].output;
    EXPECT_NE(again[r].output.find("embedded 0 new, "), std::string::npos) << again[r].output;
  }
  EXPECT_TRUE(bytes_of(joined) == bytes_of(single));
}

TEST(CliDistributed, ShardsFromAnArrayJobMergeIntoTheSingleProcessBytes) {
  BRAINSEM_REQUIRE_SHARED("images/k92/01_human_bodypart.png");
  BRAINSEM_REQUIRE_SHARED("golden/clip_openai/openai_vit_tiny.safetensors");
  bt::TempDir dir;
  const auto [imgs, single] = embed_reference(dir.path());
  std::string out;
  const fs::path lib = dir / "lib.safetensors";
  for (int k : {2, 0, 1}) {
    ASSERT_EQ(run_cli(embed_args(imgs, lib) + " --shard " + std::to_string(k) + "/3", &out), 0) << out;
    EXPECT_NE(out.find("part " + std::to_string(k) + " of 3 done"), std::string::npos) << out;
  }
  const auto part = [&](int k) { return q(brainsem::data::part_path(lib, k, 3)); };
  EXPECT_NE(run_cli("features merge --out " + q(lib) + " " + part(0) + " " + part(2), &out), 0);
  EXPECT_NE(out.find("2 parts were given"), std::string::npos) << out;
  EXPECT_NE(run_cli("features merge --out " + q(lib) + " " + part(0) + " " + q(single) + " " + part(2), &out), 0);
  EXPECT_NE(out.find("is not a part of an embed run"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(lib));
  ASSERT_EQ(run_cli("features merge --out " + q(lib) + " " + part(2) + " " + part(0) + " " + part(1), &out), 0) << out;
  EXPECT_NE(out.find("joined 3 parts: 12 rows"), std::string::npos) << out;
  EXPECT_TRUE(bytes_of(lib) == bytes_of(single));
  EXPECT_NE(run_cli("embed --shard 3/3 --model m --images " + q(imgs) + " --out " + q(lib), &out), 0);
  EXPECT_NE(out.find("K must be below N"), std::string::npos) << out;
}

namespace {
// A small synthetic study, generated once for the training tests.
const fs::path& study_dir() {
  static bt::TempDir* dir = new bt::TempDir();
  static fs::path data = [] {
    std::string out;
    EXPECT_EQ(run_cli("synth -q --out " + q(dir->path() / "data") + " --subjects 1 --library-per-class 20", &out), 0)
        << out;
    return dir->path() / "data";
  }();
  return data;
}

std::string train_args(const fs::path& out, const std::string& extra) {
  const fs::path d = study_dir();
  return "train -q --subject " + q(d / "Subject1.h5") + " --stimuli " + q(d / "stimuli.safetensors") + " --library " +
         q(d / "library_train.safetensors") + " --library-test " + q(d / "library_test.safetensors") +
         " --seed 3 --log-every 1 --val-classes 0 --out " + q(out) + " " + extra;
}

std::vector<double> losses(const fs::path& run) {
  std::vector<double> v;
  std::ifstream in(run / "train_log.jsonl");
  std::string line;
  int64_t step = 0;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line);
    if (j["step"] == 0) continue;  // the ridge start's entry: its alpha, no loss
    EXPECT_EQ(j["step"].get<int64_t>(), ++step) << "train_log.jsonl of " << run << " skips or repeats a step";
    v.push_back(j["loss"].get<double>());
  }
  return v;
}

// Data-parallel steps equal single-process ones up to float rounding of the split products and the
// summed gradients (measured: 2e-7 relative over 30 steps); 1e-5 leaves room and still catches a
// wrong batch split, a missing or doubled gradient, or a step drawn differently.
void expect_same_curve(const std::vector<double>& a, const std::vector<double>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-5 * std::abs(a[i])) << "step " << i + 1;
}
}  // namespace

TEST(CliDistributed, TrainOverRanksFollowsTheSingleProcessLossCurve) {
  if (!brainsem::core::has_distributed_support()) GTEST_SKIP() << "built without Gloo (libgloo-dev)";
  bt::TempDir dir;
  // 2 ranks with the default batch; 3 ranks with a learnable temperature (its gradient is averaged).
  for (const auto& [world, extra] : {std::pair<int, std::string>{2, "--steps 25"},
                                     std::pair<int, std::string>{3, "--steps 15 --batch 60 --learn-temperature"}}) {
    const fs::path single = dir / ("single" + std::to_string(world)), ddp = dir / ("ddp" + std::to_string(world));
    std::string out;
    ASSERT_EQ(run_cli(train_args(single, extra), &out), 0) << out;
    const int port = bt::free_tcp_port();
    const auto ranks = bt::run_ranks(
        world, [&](int) { return program(train_args(ddp, extra)); },
        [&](int r) { return bt::torchrun_env(r, world, port); }, dir.path());
    for (int r = 0; r < world; ++r) ASSERT_EQ(ranks[r].exit_code, 0) << "rank " << r << ": " << ranks[r].output;
    EXPECT_NE(ranks[1].output.find("rank 0 scores and writes"), std::string::npos) << ranks[1].output;
    expect_same_curve(losses(single), losses(ddp));
    EXPECT_TRUE(fs::exists(ddp / "results.json"));
  }
  std::string out;
  const int port = bt::free_tcp_port();
  const auto odd = bt::run_ranks(
      3, [&](int) { return program(train_args(dir / "odd", "--steps 2 --batch 100")); },
      [&](int r) { return bt::torchrun_env(r, 3, port); }, dir.path());
  EXPECT_NE(odd[0].exit_code, 0);
  EXPECT_NE(odd[0].output.find("--batch 100 must be a multiple of the number of processes (3)"), std::string::npos)
      << odd[0].output;
}

TEST(CliDistributed, AKilledTrainingRankFailsTheJobNamingItAndTheRerunResumesFromRankZerosCheckpoint) {
  if (!brainsem::core::has_distributed_support()) GTEST_SKIP() << "built without Gloo (libgloo-dev)";
  bt::TempDir dir;
  const fs::path run = dir / "run";
  const std::string long_run = "--steps 100000000 --checkpoint-every 5";
  const int port = bt::free_tcp_port();
  std::vector<bt::RankProcess> ranks;
  for (int r = 0; r < 2; ++r)
    ranks.push_back(bt::start_process(bt::torchrun_env(r, 2, port), program(train_args(run, long_run)),
                                      dir / ("rank" + std::to_string(r) + ".log")));
  const fs::path checkpoint = run / brainsem::train::kCheckpointFile;
  for (int i = 0; i < 1200 && !fs::exists(checkpoint); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(fs::exists(checkpoint)) << "rank 0 wrote no checkpoint";
  kill(ranks[1].pid, SIGKILL);
  const auto killed = bt::wait_process(ranks[1]);
  const auto survivor = bt::wait_process(ranks[0]);
  EXPECT_EQ(killed.exit_code, -1);
  EXPECT_NE(survivor.exit_code, 0);
  EXPECT_NE(survivor.output.find("rank 1 stopped (killed or lost)"), std::string::npos) << survivor.output;
  EXPECT_FALSE(fs::exists(run / "results.json"));

  // The rerun continues rank 0's last checkpoint for a few more steps, as one process would.
  const int64_t at = brainsem::train::Trainer::checkpoint_step(checkpoint);
  ASSERT_GE(at, 5);
  const std::string resumed = "--checkpoint-every 5 --resume --steps " + std::to_string(at + 5);
  const int port2 = bt::free_tcp_port();
  const auto rerun = bt::run_ranks(
      2, [&](int) { return program(train_args(run, resumed)); }, [&](int r) { return bt::torchrun_env(r, 2, port2); },
      dir.path());
  for (int r = 0; r < 2; ++r) ASSERT_EQ(rerun[r].exit_code, 0) << "rank " << r << ": " << rerun[r].output;
  std::string out;
  ASSERT_EQ(run_cli(train_args(dir / "single", "--checkpoint-every 5 --steps " + std::to_string(at + 5)), &out), 0)
      << out;
  expect_same_curve(losses(dir / "single"), losses(run));
}
