// The C++ half of bench/run.sh: each mode prints one JSON object on stdout, which run.sh sets
// against scripts/bench_pytorch.py's same measurement, run in the same script.
//
//   compare_bench train-step --token-width P --depth D --heads H [--batch 200] [--steps 3]
//     One BrainSem training step (ViT encoder over 7 ROI tokens, fuzzy matching loss, Adam) on
//     fixed random inputs: step_ms (median over --steps after one warm-up step) and gemm_ms, the
//     time the step's matrix products take when each is run alone with torch::mm/bmm in this
//     process (its GEMM-bound time at the sgemm rate measured now).
//   compare_bench embed --images DIR [--count 32] [--batch 8]
//     Random-weight CLIP ViT-B/16 over DIR's images: decode+preprocess only (Pillow-exact,
//     on --threads workers), the model only (preprocessed batches), and end to end through
//     clip::embed_images (what `brainsem embed` runs), each in images/s; decode+preprocess and
//     end to end again with --fast-jpeg, and its difference from the exact crops in 8-bit levels.
// --threads N sets LibTorch's intra-op threads (default: one per core); --device cuda[:N] runs the
// step, the products and the model on a GPU (times taken after a device synchronisation).
#include <torch/torch.h>

#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <future>
#include <nlohmann/json.hpp>
#include <thread>

#include "brainsem/clip/embed_images.h"
#include "brainsem/clip/image_encoder.h"
#include "brainsem/clip/preprocess.h"
#include "brainsem/core/progress.h"
#include "brainsem/core/runtime.h"
#include "brainsem/model/fmri_encoder.h"
#include "brainsem/model/fuzzy_matching_loss.h"
#include "brainsem/train/multi_tensor_adamw.h"

namespace fs = std::filesystem;
namespace model = brainsem::model;
namespace train = brainsem::train;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

torch::Device g_device = torch::kCPU;

// Waits for the GPU's queued work so that a clock reading includes it (a no-op on the CPU).
void sync() {
  if (g_device.is_cuda()) torch::cuda::synchronize(g_device.index());
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// One matrix product of the step: `count` products of [batch x] [m, k] x [k, n].
struct Gemm {
  int64_t batch, m, k, n, count;
};

// The matrix products of one training step of the ViT encoder with head none (the paper's), in
// the order forward, then backward (input gradient and weight gradient of each Linear; the first
// Linear needs no input gradient). Attention products are batched over B x heads.
std::vector<Gemm> step_gemms(const model::FmriEncoderConfig& c, int64_t b) {
  const int64_t t = c.tokens + 1, d = c.width, bt = b * t, hd = d / c.heads, bh = b * c.heads;
  std::vector<Gemm> g;
  auto linear = [&](int64_t rows, int64_t in, int64_t out, bool input_grad) {
    g.push_back({1, rows, in, out, 1});                  // forward  [rows, in] x [in, out]
    if (input_grad) g.push_back({1, rows, out, in, 1});  // dX [rows, out] x [out, in]
    g.push_back({1, out, rows, in, 1});                  // dW [out, rows] x [rows, in]
  };
  linear(b * c.tokens, c.token_width, d, false);
  for (int64_t l = 0; l < c.depth; ++l) {
    linear(bt, d, 3 * d, true);
    g.push_back({bh, t, hd, t, 3});  // q k^T, and its two gradients
    g.push_back({bh, t, t, hd, 3});  // attn v, and its two gradients
    linear(bt, d, d, true);
    linear(bt, d, c.mlp, true);
    linear(bt, c.mlp, d, true);
  }
  g.push_back({1, b, c.out_dim, b, 3});  // cosine logits [B, E] x [E, B] and its two gradients
  return g;
}

double gemm_ms(const std::vector<Gemm>& gemms) {
  double total = 0;
  for (const auto& g : gemms) {
    const auto on = torch::TensorOptions().device(g_device);
    auto a = torch::randn({g.batch, g.m, g.k}, on);
    auto bm = torch::randn({g.batch, g.k, g.n}, on);
    auto out = torch::empty({g.batch, g.m, g.n}, on);
    auto a2 = a[0], b2 = bm[0], out2 = out[0];  // views: one plain sgemm when batch is 1
    auto run = [&] {
      if (g.batch == 1)
        torch::mm_out(out2, a2, b2);
      else
        torch::bmm_out(out, a, bm);
    };
    run();
    sync();
    std::vector<double> times;
    for (int i = 0; i < 5; ++i) {
      auto t0 = Clock::now();
      run();
      sync();
      times.push_back(ms_since(t0));
    }
    total += median(times) * static_cast<double>(g.count);
  }
  return total;
}

json train_step(int64_t token_width, int64_t depth, int64_t heads, int64_t batch, int steps) {
  torch::manual_seed(0);
  model::FmriEncoderConfig c;
  c.kind = "vit";
  c.tokens = 7;
  c.token_width = token_width;
  c.depth = depth;
  c.heads = heads;
  c.head = "none";  // the paper: the CLS output (width 512) is the embedding
  c.out_dim = c.width;
  model::FmriEncoder encoder(c);
  encoder->to(g_device);
  // What the trainer runs: AdamW without decay (Adam) in multi-tensor form.
  torch::optim::AdamW adam(encoder->parameters(), torch::optim::AdamWOptions(1e-4).weight_decay(0));
  const auto on = torch::TensorOptions().device(g_device);
  auto x = torch::randn({batch, c.tokens, token_width}, on);
  auto y = torch::randn({batch, c.out_dim}, on);
  auto classes = torch::randint(150, {batch}, on.dtype(torch::kInt64));
  model::FuzzyLossOptions loss_opts;  // temperature 1: the paper's plain cosine logits
  auto step = [&] {
    adam.zero_grad();
    auto loss = model::fuzzy_matching_loss(encoder->forward(x), y, classes, loss_opts);
    loss.backward();
    train::multi_tensor_adamw_step(adam);
    return loss.item<double>();
  };
  step();  // warm-up: allocations and Adam's state
  std::vector<double> times;
  for (int i = 0; i < steps; ++i) {
    auto t0 = Clock::now();
    step();
    times.push_back(ms_since(t0));
  }
  return {{"mode", "train-step"},
          {"impl", "brainsem"},
          {"device", g_device.str()},
          {"token_width", token_width},
          {"depth", depth},
          {"heads", heads},
          {"batch", batch},
          {"steps", steps},
          {"step_ms", median(times)},
          {"gemm_ms", gemm_ms(step_gemms(c, batch))},
          {"threads", torch::get_num_threads()}};
}

json embed(const fs::path& images, int count, int batch) {
  using namespace brainsem::clip;
  brainsem::core::Progress::set_quiet(true);
  auto entries = list_images(images);
  if (count > 0 && static_cast<int>(entries.size()) > count) entries.resize(count);
  const int64_t n = static_cast<int64_t>(entries.size());
  auto encoder = random_vit_encoder(VitConfig{});  // ViT-B/16 shapes
  encoder->to(g_device, torch::kFloat32);
  PreprocessConfig pre;
  const int workers = torch::get_num_threads();

  // Decode + preprocess only, on the same number of workers as the pipeline uses: [N, 3, 224, 224]
  // and the seconds it took.
  auto decode_all = [&](const PreprocessConfig& cfg) {
    const auto start = Clock::now();
    std::vector<torch::Tensor> pixels(n);
    std::vector<std::future<void>> jobs;
    for (int w = 0; w < workers; ++w)
      jobs.push_back(std::async(std::launch::async, [&, w] {
        for (int64_t i = w; i < n; i += workers)
          pixels[i] = preprocess(read_image(entries[i].path, kDefaultMaxPixels, cfg.jpeg_min_side()), cfg);
      }));
    for (auto& j : jobs) j.get();
    const double seconds = ms_since(start) / 1000;
    return std::pair{torch::stack(pixels), seconds};
  };
  const auto [all, decode_s] = decode_all(pre);
  PreprocessConfig fast = pre;
  fast.fast_jpeg = true;
  const auto [all_fast, fast_decode_s] = decode_all(fast);
  // --fast-jpeg's difference from the Pillow-exact crops, in 8-bit levels (normalised values x std x 255).
  const auto levels =
      ((all_fast - all) * torch::tensor({pre.std[0], pre.std[1], pre.std[2]}).view({3, 1, 1}) * 255).abs();

  // The model only, on the preprocessed batches (one warm-up batch first).
  encoder->encode(all.slice(0, 0, std::min<int64_t>(batch, n)));
  sync();
  auto t0 = Clock::now();
  for (int64_t i = 0; i < n; i += batch) encoder->encode(all.slice(0, i, std::min<int64_t>(i + batch, n)));
  sync();
  const double model_s = ms_since(t0) / 1000;

  // End to end: what `brainsem embed` runs, into a fresh store.
  const fs::path out = fs::temp_directory_path() / ("brainsem_compare_" + std::to_string(::getpid()) + ".safetensors");
  fs::remove(out);
  EmbedOptions opts;
  opts.batch = batch;
  opts.decode_threads = workers;
  t0 = Clock::now();
  embed_images(*encoder, entries, out, opts);
  const double end_to_end_s = ms_since(t0) / 1000;
  fs::remove(out);
  opts.fast_jpeg = true;
  t0 = Clock::now();
  embed_images(*encoder, entries, out, opts);
  const double fast_end_to_end_s = ms_since(t0) / 1000;
  fs::remove(out);
  return {{"mode", "embed"},
          {"impl", "brainsem"},
          {"device", g_device.str()},
          {"images", n},
          {"batch", batch},
          {"threads", workers},
          {"decode_preprocess_images_per_s", n / decode_s},
          {"model_images_per_s", n / model_s},
          {"end_to_end_images_per_s", n / end_to_end_s},
          {"fast_jpeg_decode_preprocess_images_per_s", n / fast_decode_s},
          {"fast_jpeg_end_to_end_images_per_s", n / fast_end_to_end_s},
          {"fast_jpeg_max_abs_levels", levels.max().item<double>()},
          {"fast_jpeg_mean_abs_levels", levels.mean().item<double>()}};
}

}  // namespace

int main(int argc, char** argv) {
  brainsem::core::ensure_runtime_env(argc, argv);  // the settings `brainsem` runs with
  CLI::App app{"BrainSem's side of bench/run.sh (one JSON object per run)"};
  app.require_subcommand(1);
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  app.add_option("--threads", threads, "LibTorch intra-op threads (and decode workers)")->capture_default_str();
  std::string device = "cpu";
  app.add_option("--device", device, "cpu or cuda[:N]")->capture_default_str();
  int64_t token_width = 1000, depth = 6, heads = 4, batch = 200;
  int steps = 3, count = 32, embed_batch = 8;
  fs::path images;
  auto* step_cmd = app.add_subcommand("train-step", "one training step, and its GEMM-bound time");
  step_cmd->add_option("--token-width", token_width, "P, the widest ROI")->capture_default_str();
  step_cmd->add_option("--depth", depth, "transformer blocks")->capture_default_str();
  step_cmd->add_option("--heads", heads, "attention heads")->capture_default_str();
  step_cmd->add_option("--batch", batch, "items per step")->capture_default_str();
  step_cmd->add_option("--steps", steps, "timed steps (after one warm-up step)")->capture_default_str();
  auto* embed_cmd = app.add_subcommand("embed", "image embedding: decode, model, end to end");
  embed_cmd->add_option("--images", images, "folder of images")->required();
  embed_cmd->add_option("--count", count, "images used (0 = all)")->capture_default_str();
  embed_cmd->add_option("--batch", embed_batch, "images per model batch")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  torch::set_num_threads(threads);
  try {
    g_device = torch::Device(device);
    if (g_device.is_cuda() && !torch::cuda::is_available())
      throw std::runtime_error("--device " + device + ": no CUDA");
    json result = step_cmd->parsed() ? train_step(token_width, depth, heads, batch, std::max(1, steps))
                                     : embed(images, count, embed_batch);
    // This process's peak RSS (one run, one configuration): ru_maxrss is in KiB on Linux.
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    result["peak_rss_mb"] = static_cast<double>(usage.ru_maxrss) / 1024;
    std::printf("%s\n", result.dump().c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "compare_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
