// CLIP image pipeline throughput (items/s = images/s):
//   decode+preprocess alone, the model alone (tiny golden models and ViT-B/16 shapes with random
//   weights), and end to end through embed_images. Each measurement has a baseline measured in
//   the same run (run_benchmarks.sh prints the ratios):
//   * Preprocess/PillowExact vs Preprocess/TorchFloatAA: our fixed-point Pillow clone against
//     LibTorch's float antialiased bicubic (not bit-exact, the usual fast substitute);
//   * Model/*/Ours vs Model/*/TorchScript: our C++ tower against the traced reference (tiny);
//   * EndToEnd/Threads:N vs EndToEnd/Threads:1: decode overlap and parallelism.
// CPU by default; BRAINSEM_BENCH_CUDA=1 runs the models on the GPU (float32 and bf16).
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "brainsem/clip/embed_images.h"
#include "brainsem/clip/image_encoder.h"
#include "brainsem/clip/preprocess.h"
#include "brainsem/clip/resize.h"
#include "brainsem/core/progress.h"

namespace fs = std::filesystem;
using namespace brainsem::clip;

namespace {

fs::path shared() {
  const char* env = std::getenv("BRAINSEM_SHARED_DIR");
  return env ? fs::path(env) : fs::path(BRAINSEM_SHARED_DIR);
}
fs::path photo() { return shared() / "golden/clip_openai/images/dog.jpg"; }  // 768x576 JPEG

torch::Device bench_device() {
  const char* env = std::getenv("BRAINSEM_BENCH_CUDA");
  return (env && std::string(env) == "1" && torch::cuda::is_available()) ? torch::Device(torch::kCUDA)
                                                                         : torch::Device(torch::kCPU);
}

void BM_Decode(benchmark::State& st) {
  for (auto _ : st) benchmark::DoNotOptimize(read_image(photo()).pixels.data());
  st.SetItemsProcessed(st.iterations());
}
BENCHMARK(BM_Decode)->Name("Decode/JPEG768x576")->Unit(benchmark::kMillisecond);

void BM_PreprocessPillow(benchmark::State& st) {
  const Image im = read_image(photo());
  PreprocessConfig cfg;
  for (auto _ : st) benchmark::DoNotOptimize(preprocess(im, cfg).data_ptr<float>());
  st.SetItemsProcessed(st.iterations());
}
BENCHMARK(BM_PreprocessPillow)->Name("Preprocess/PillowExact")->Unit(benchmark::kMillisecond);

void BM_PreprocessTorch(benchmark::State& st) {
  // Baseline: uint8 -> float, LibTorch's antialiased bicubic, crop, normalise.
  const Image im = read_image(photo());
  PreprocessConfig cfg;
  auto mean = torch::tensor({cfg.mean[0], cfg.mean[1], cfg.mean[2]}).view({3, 1, 1});
  auto stdv = torch::tensor({cfg.std[0], cfg.std[1], cfg.std[2]}).view({3, 1, 1});
  const auto [w, h] = resized_size(im.width, im.height, 224);
  for (auto _ : st) {
    auto t = torch::from_blob(const_cast<uint8_t*>(im.pixels.data()), {1, im.height, im.width, 3}, torch::kUInt8)
                 .permute({0, 3, 1, 2})
                 .to(torch::kFloat32);
    auto r = at::_upsample_bicubic2d_aa(t, {h, w}, false).clamp(0, 255).round();
    r = r.narrow(2, (h - 224) / 2, 224).narrow(3, (w - 224) / 2, 224)[0];
    benchmark::DoNotOptimize(((r / 255.0 - mean) / stdv).contiguous().data_ptr<float>());
  }
  st.SetItemsProcessed(st.iterations());
}
BENCHMARK(BM_PreprocessTorch)->Name("Preprocess/TorchFloatAA")->Unit(benchmark::kMillisecond);

void run_model(benchmark::State& st, ImageEncoder& enc, int batch) {
  auto x = torch::randn({batch, 3, enc.info().image_size, enc.info().image_size});
  enc.encode(x);  // warm-up (allocations, cuDNN plans)
  for (auto _ : st) benchmark::DoNotOptimize(enc.encode(x).data_ptr<float>());
  st.SetItemsProcessed(st.iterations() * batch);
}

void BM_ModelTiny(benchmark::State& st, const char* file) {
  auto enc = load_image_encoder(shared() / "golden/clip_openai" / file);
  enc->to(bench_device(), torch::kFloat32);
  run_model(st, *enc, 16);
}
BENCHMARK_CAPTURE(BM_ModelTiny, vit_ours, "openai_vit_tiny.safetensors")
    ->Name("Model/TinyViT/Ours")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ModelTiny, vit_jit, "openai_vit_tiny_visual_jit.pt")
    ->Name("Model/TinyViT/TorchScript")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ModelTiny, rn_ours, "openai_rn_tiny.safetensors")
    ->Name("Model/TinyRN/Ours")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ModelTiny, rn_jit, "openai_rn_tiny_visual_jit.pt")
    ->Name("Model/TinyRN/TorchScript")
    ->Unit(benchmark::kMillisecond);

VitConfig vit_b16() {
  VitConfig c;  // defaults are ViT-B/16
  return c;
}

void BM_ModelB16(benchmark::State& st) {
  const auto dtype = st.range(1) ? torch::kBFloat16 : torch::kFloat32;
  auto enc = random_vit_encoder(vit_b16());
  enc->to(bench_device(), dtype);
  run_model(st, *enc, static_cast<int>(st.range(0)));
}
BENCHMARK(BM_ModelB16)
    ->Name("Model/ViT-B16")
    ->ArgNames({"batch", "bf16"})
    ->Args({4, 0})
    ->Args({2, 1})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

void BM_EndToEnd(benchmark::State& st, bool b16) {
  brainsem::core::Progress::set_quiet(true);
  std::unique_ptr<ImageEncoder> enc =
      b16 ? random_vit_encoder(vit_b16())
          : load_image_encoder(shared() / "golden/clip_openai/openai_vit_tiny.safetensors");
  enc->to(bench_device(), torch::kFloat32);
  auto entries = list_images(shared() / "images/k92");
  entries.resize(b16 ? 8 : 32);
  EmbedOptions opts;
  opts.batch = 8;
  opts.decode_threads = static_cast<int>(st.range(0));
  const fs::path out = fs::temp_directory_path() / ("brainsem_bench_" + std::to_string(::getpid()) + ".safetensors");
  for (auto _ : st) {
    fs::remove(out);
    embed_images(*enc, entries, out, opts);
  }
  fs::remove(out);
  st.SetItemsProcessed(st.iterations() * static_cast<int64_t>(entries.size()));
}
BENCHMARK_CAPTURE(BM_EndToEnd, tiny, false)
    ->Name("EndToEnd/TinyViT")
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_EndToEnd, b16, true)
    ->Name("EndToEnd/ViT-B16")
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
