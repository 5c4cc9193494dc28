// Image towers against the reference implementations (shared/golden): the references' own
// pixel_values go in, image_embeds must match within 1e-4 (float32 on CPU; observed ~1e-6).
#include "brainsem/clip/image_encoder.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "brainsem/core/error.h"
#include "brainsem/io/safetensors.h"
#include "golden.h"
#include "testing/errors.h"
#include "testing/paths.h"

namespace brainsem::clip {
namespace {

using testing::all_close;
using testing::error_of;
using testing::shared_dir;
using testing::TempDir;

constexpr double kEmbedTol = 1e-4;

TEST(Encoder, HuggingFaceViTMatchesTransformers) {
  BRAINSEM_REQUIRE_SHARED("golden/clip_hf/clip_tiny_quickgelu/model.safetensors");
  const auto dir = shared_dir() / "golden/clip_hf";
  auto enc = load_image_encoder(dir / "clip_tiny_quickgelu");
  EXPECT_EQ(enc->info().format, "hf");
  EXPECT_EQ(enc->info().embed_dim, 32);
  EXPECT_EQ(enc->info().preprocess.pipeline, Pipeline::HF);
  io::SafetensorsFile ref(dir / "reference_outputs.safetensors");
  auto got = enc->encode(ref.tensor("pixel_values"));
  EXPECT_TRUE(all_close(got, ref.tensor("clip_tiny_quickgelu.image_embeds"), kEmbedTol));
  // The same weights given as the model.safetensors file.
  auto enc2 = load_image_encoder(dir / "clip_tiny_quickgelu/model.safetensors");
  EXPECT_TRUE(all_close(enc2->encode(ref.tensor("pixel_values")), got, 0.0));
}

TEST(Encoder, OpenAIViTAndResNetMatchOpenAICLIP) {
  BRAINSEM_REQUIRE_SHARED("golden/clip_openai/reference_outputs.safetensors");
  const auto dir = shared_dir() / "golden/clip_openai";
  io::SafetensorsFile ref(dir / "reference_outputs.safetensors");
  auto px = ref.tensor("pixel_values");
  auto vit = load_image_encoder(dir / "openai_vit_tiny.safetensors");
  EXPECT_EQ(vit->info().id, "openai:openai_vit_tiny");
  EXPECT_TRUE(all_close(vit->encode(px), ref.tensor("vit_tiny.image_embeds"), kEmbedTol));
  auto rn = load_image_encoder(dir / "openai_rn_tiny.safetensors");
  EXPECT_NE(rn->info().arch.find("ModifiedResNet"), std::string::npos);
  EXPECT_TRUE(all_close(rn->encode(px), ref.tensor("rn_tiny.image_embeds"), kEmbedTol));
}

TEST(Encoder, TorchScriptArchivesMatchOpenAICLIP) {
  BRAINSEM_REQUIRE_SHARED("golden/clip_openai/openai_vit_tiny_visual_jit.pt");
  const auto dir = shared_dir() / "golden/clip_openai";
  io::SafetensorsFile ref(dir / "reference_outputs.safetensors");
  auto px = ref.tensor("pixel_values");
  for (auto [file, key] : {std::pair{"openai_vit_tiny_visual_jit.pt", "vit_tiny.image_embeds"},
                           std::pair{"openai_rn_tiny_visual_jit.pt", "rn_tiny.image_embeds"}}) {
    auto enc = load_image_encoder(dir / file);
    EXPECT_EQ(enc->info().format, "torchscript");
    EXPECT_EQ(enc->info().image_size, 224) << file;
    EXPECT_EQ(enc->info().embed_dim, 32) << file;
    EXPECT_TRUE(all_close(enc->encode(px), ref.tensor(key), kEmbedTol)) << file;
  }
}

TEST(Encoder, BFloat16StaysCloseToFloat32) {
  BRAINSEM_REQUIRE_SHARED("golden/clip_openai/reference_outputs.safetensors");
  const auto dir = shared_dir() / "golden/clip_openai";
  io::SafetensorsFile ref(dir / "reference_outputs.safetensors");
  auto enc = load_image_encoder(dir / "openai_vit_tiny.safetensors");
  auto want = ref.tensor("vit_tiny.image_embeds");
  enc->to(torch::kCPU, torch::kBFloat16);
  auto got = enc->encode(ref.tensor("pixel_values"));
  const double cos = torch::cosine_similarity(got, want, 1).min().item<double>();
  EXPECT_GT(cos, 0.99);
  EXPECT_FALSE(all_close(got, want, 1e-6));  // it really ran in bf16
}

// Writes a copy of the tiny OpenAI ViT with one tensor renamed, one dropped, one reshaped.
TEST(Encoder, StrictLoadingListsEveryProblemAtOnce) {
  BRAINSEM_REQUIRE_SHARED("golden/clip_openai/openai_vit_tiny.safetensors");
  const auto dir = shared_dir() / "golden/clip_openai";
  io::SafetensorsFile src(dir / "openai_vit_tiny.safetensors");
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& n : src.names()) {
    auto t = src.tensor(n).clone();
    if (n == "visual.ln_pre.bias") continue;                                           // missing
    if (n == "visual.proj") t = t.narrow(1, 0, 16).contiguous();                       // mis-shaped
    out.emplace_back(n == "visual.ln_post.bias" ? "visual.ln_post.bias_typo" : n, t);  // missing + unexpected
  }
  TempDir tmp;
  io::write_safetensors(tmp / "broken.safetensors", out);
  std::filesystem::copy_file(dir / "openai_vit_tiny.json", tmp / "broken.json");
  try {
    load_image_encoder(tmp / "broken.safetensors");
    FAIL() << "broken weights loaded";
  } catch (const Error& e) {
    const std::string msg = e.what();
    for (const char* s : {"2 missing, 1 mis-shaped, 1 unexpected", "visual.ln_pre.bias", "visual.ln_post.bias [64]",
                          "visual.proj is [64, 16], expected [64, 32]", "visual.ln_post.bias_typo"})
      EXPECT_NE(msg.find(s), std::string::npos) << "missing '" << s << "' in:\n" << msg;
  }
}

TEST(Encoder, MissingConfigAndUnknownFormatsAreExplained) {
  BRAINSEM_REQUIRE_SHARED("golden/clip_openai/openai_vit_tiny.safetensors");
  TempDir tmp;
  std::filesystem::copy_file(shared_dir() / "golden/clip_openai/openai_vit_tiny.safetensors", tmp / "m.safetensors");
  EXPECT_THROW(load_image_encoder(tmp / "m.safetensors"), Error);  // no m.json
  std::ofstream(tmp / "m.onnx") << "x";
  EXPECT_THROW(load_image_encoder(tmp / "m.onnx"), Error);
  std::ofstream(tmp / "bad.pt") << "not a zip";
  EXPECT_THROW(load_image_encoder(tmp / "bad.pt"), Error);
  EXPECT_THROW(load_image_encoder(tmp / "nope"), Error);
}

TEST(Encoder, RandomModelsHaveTheConfiguredShapes) {
  VitConfig v;
  v.width = 64;
  v.layers = 1;
  v.heads = 2;
  v.mlp_width = 128;
  v.patch_size = 32;
  v.embed_dim = 16;
  v.quick_gelu = false;
  auto enc = random_vit_encoder(v);
  EXPECT_EQ(enc->encode(torch::randn({2, 3, 224, 224})).sizes(), (torch::IntArrayRef{2, 16}));
  ResNetConfig r;
  r.layers = {1, 1, 1, 1};
  r.width = 8;
  r.heads = 4;
  r.embed_dim = 12;
  auto rn = random_resnet_encoder(r);
  EXPECT_EQ(rn->encode(torch::randn({1, 3, 224, 224})).sizes(), (torch::IntArrayRef{1, 12}));
  EXPECT_THROW(enc->encode(torch::randn({1, 3, 200, 200})), Error);
}

// Model configs are read type-strictly and a preprocessor setting the pipeline does not implement
// is refused naming the key, never ignored (a `true` head count once ran with 1 head).
TEST(Encoder, ConfigValuesOfTheWrongKindAndUnsupportedPreprocessingAreRefused) {
  BRAINSEM_REQUIRE_SHARED("golden/clip_hf/clip_tiny_quickgelu/model.safetensors");
  const auto golden = shared_dir() / "golden/clip_hf";
  TempDir tmp;
  const auto dir = tmp / "clip";
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(golden / "clip_tiny_quickgelu/model.safetensors", dir / "model.safetensors");
  const auto config = nlohmann::json::parse(std::ifstream(golden / "clip_tiny_quickgelu/config.json"));
  const auto processor = nlohmann::json::parse(std::ifstream(golden / "preprocessor_config.json"));
  auto write = [&](const nlohmann::json& c, const nlohmann::json& p) {
    std::ofstream(dir / "config.json", std::ios::trunc) << c.dump();
    std::ofstream(dir / "preprocessor_config.json", std::ios::trunc) << p.dump();
  };
  write(config, processor);
  ASSERT_NO_THROW(load_image_encoder(dir));  // the reference files as written by transformers

  const std::vector<std::pair<std::string, std::string>> bad_config = {
      {"num_attention_heads", "true"}, {"hidden_size", "64.5"}, {"num_hidden_layers", "\"2\""}, {"image_size", "1e12"}};
  for (const auto& [key, value] : bad_config) {
    auto c = config;
    c["vision_config"][key] = nlohmann::json::parse(value);
    write(c, processor);
    const std::string error = error_of([&] { load_image_encoder(dir); });
    EXPECT_NE(error.find("config.json: '" + key + "' must be"), std::string::npos)
        << key << "=" << value << ": " << error;
  }
  const std::vector<std::pair<std::string, std::string>> bad_processor = {
      {"do_resize", "false"},
      {"do_normalize", "false"},
      {"resample", "2"},
      {"rescale_factor", "1.0"},
      {"image_std", "[0.3, -0.2, 0.3]"},
      {"image_mean", "[0.5, 0.5]"},
      {"crop_size", "{\"height\": 224, \"width\": 200}"},
      {"size", "{\"height\": 224, \"width\": 224}"},
      {"do_center_crop", "\"yes\""}};
  for (const auto& [key, value] : bad_processor) {
    auto p = processor;
    p[key] = nlohmann::json::parse(value);
    write(config, p);
    const std::string error = error_of([&] { load_image_encoder(dir); });
    EXPECT_NE(error.find("preprocessor_config.json"), std::string::npos) << key << "=" << value << ": " << error;
    EXPECT_NE(error.find(key), std::string::npos) << key << "=" << value << ": " << error;
  }
  // Older processors give size and crop as plain integers.
  auto p = processor;
  p["size"] = 256;
  p["crop_size"] = 224;
  write(config, p);
  EXPECT_EQ(load_image_encoder(dir)->info().preprocess.resize, 256);
}

}  // namespace
}  // namespace brainsem::clip
