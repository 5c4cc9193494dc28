// CLIP text tower: HF golden (transformers' CLIPModel outputs), the OpenAI key mapping, a naive
// per-position oracle for the causal attention, prototypes and bad input.
#include "brainsem/clip/text_encoder.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "brainsem/clip/prompts.h"
#include "brainsem/clip/tokenizer.h"
#include "brainsem/core/error.h"
#include "brainsem/io/safetensors.h"
#include "golden.h"
#include "testing/paths.h"

namespace fs = std::filesystem;
using brainsem::io::SafetensorsFile;
using brainsem::testing::all_close;
using brainsem::testing::shared_dir;
using namespace brainsem::clip;

namespace {

const char* kHfDir = "golden/clip_hf/clip_tiny_quickgelu";
const char* kRef = "golden/clip_hf/reference_outputs.safetensors";
const char* kOpenAi = "golden/clip_openai/openai_vit_tiny.safetensors";

torch::Tensor ref(const std::string& name) {
  return SafetensorsFile(shared_dir() / kRef).tensor("clip_tiny_quickgelu." + name).clone();
}

// The HF tiny model's text weights rewritten with OpenAI names (fused qkv, projection transposed).
void write_openai_copy(const fs::path& out) {
  SafetensorsFile hf(shared_dir() / kHfDir / "model.safetensors");
  auto t = [&](const std::string& n) { return hf.tensor(n).clone(); };
  std::vector<std::pair<std::string, torch::Tensor>> w{
      {"token_embedding.weight", t("text_model.embeddings.token_embedding.weight")},
      {"positional_embedding", t("text_model.embeddings.position_embedding.weight")},
      {"ln_final.weight", t("text_model.final_layer_norm.weight")},
      {"ln_final.bias", t("text_model.final_layer_norm.bias")},
      {"text_projection", t("text_projection.weight").t().contiguous()},
      {"logit_scale", t("logit_scale")}};
  for (int i = 0; i < 2; ++i) {
    const std::string h = "text_model.encoder.layers." + std::to_string(i) + ".",
                      o = "transformer.resblocks." + std::to_string(i) + ".";
    auto a = [&](const std::string& p) {
      return torch::cat(
          {t(h + "self_attn.q_proj." + p), t(h + "self_attn.k_proj." + p), t(h + "self_attn.v_proj." + p)});
    };
    w.push_back({o + "attn.in_proj_weight", a("weight")});
    w.push_back({o + "attn.in_proj_bias", a("bias")});
    for (const char* p : {"weight", "bias"}) {
      w.push_back({o + "attn.out_proj." + p, t(h + "self_attn.out_proj." + p)});
      w.push_back({o + "ln_1." + p, t(h + "layer_norm1." + p)});
      w.push_back({o + "ln_2." + p, t(h + "layer_norm2." + p)});
      w.push_back({o + "mlp.c_fc." + p, t(h + "mlp.fc1." + p)});
      w.push_back({o + "mlp.c_proj." + p, t(h + "mlp.fc2." + p)});
    }
  }
  brainsem::io::write_safetensors(out, w);
  std::ofstream(fs::path(out).replace_extension(".json"))
      << R"({"embed_dim": 32, "image_resolution": 224, "vision_layers": 2, "vision_width": 64,
             "vision_patch_size": 16, "context_length": 77, "vocab_size": 1000, "transformer_width": 48,
             "transformer_heads": 4, "transformer_layers": 2})";
}

// A naive oracle of openai/CLIP encode_text: one query position at a time, attending to keys
// 0..i only, in float64, straight from the stored OpenAI-named tensors.
torch::Tensor naive_encode_text(const SafetensorsFile& f, const std::vector<int64_t>& ids, int layers, int heads) {
  auto g = [&](const std::string& n) { return f.tensor(n).to(torch::kFloat64); };
  auto ln = [](torch::Tensor x, torch::Tensor w, torch::Tensor b) {
    auto mu = x.mean(-1, true);
    auto var = (x - mu).pow(2).mean(-1, true);
    return (x - mu) / torch::sqrt(var + 1e-5) * w + b;
  };
  const int64_t T = static_cast<int64_t>(ids.size());
  auto emb = g("token_embedding.weight");
  const int64_t W = emb.size(1), Dh = W / heads;
  std::vector<torch::Tensor> rows;
  for (int64_t i = 0; i < T; ++i) rows.push_back(emb[ids[i]] + g("positional_embedding")[i]);
  auto x = torch::stack(rows);  // [T, W]
  for (int l = 0; l < layers; ++l) {
    const std::string p = "transformer.resblocks." + std::to_string(l) + ".";
    auto h = ln(x, g(p + "ln_1.weight"), g(p + "ln_1.bias"));
    auto qkv = torch::matmul(h, g(p + "attn.in_proj_weight").t()) + g(p + "attn.in_proj_bias");  // [T, 3W]
    auto q = qkv.slice(1, 0, W), k = qkv.slice(1, W, 2 * W), v = qkv.slice(1, 2 * W, 3 * W);
    auto att = torch::zeros({T, W}, torch::kFloat64);
    for (int64_t i = 0; i < T; ++i)
      for (int hd = 0; hd < heads; ++hd) {
        auto qi = q[i].slice(0, hd * Dh, (hd + 1) * Dh);
        std::vector<double> s;
        for (int64_t j = 0; j <= i; ++j)
          s.push_back(torch::dot(qi, k[j].slice(0, hd * Dh, (hd + 1) * Dh)).item<double>() / std::sqrt(double(Dh)));
        double mx = *std::max_element(s.begin(), s.end()), z = 0;
        for (double& e : s) z += (e = std::exp(e - mx));
        for (int64_t j = 0; j <= i; ++j)
          att[i].slice(0, hd * Dh, (hd + 1) * Dh) += s[j] / z * v[j].slice(0, hd * Dh, (hd + 1) * Dh);
      }
    x = x + torch::matmul(att, g(p + "attn.out_proj.weight").t()) + g(p + "attn.out_proj.bias");
    auto m = torch::matmul(ln(x, g(p + "ln_2.weight"), g(p + "ln_2.bias")), g(p + "mlp.c_fc.weight").t()) +
             g(p + "mlp.c_fc.bias");
    m = m * torch::sigmoid(1.702 * m);
    x = x + torch::matmul(m, g(p + "mlp.c_proj.weight").t()) + g(p + "mlp.c_proj.bias");
  }
  x = ln(x, g("ln_final.weight"), g("ln_final.bias"));
  const int64_t eot = std::max_element(ids.begin(), ids.end()) - ids.begin();
  return torch::matmul(x[eot], g("text_projection"));  // [D]
}

}  // namespace

TEST(ClipText, HuggingFaceGoldenPooledAndEmbeds) {
  BRAINSEM_REQUIRE_SHARED(kRef);
  auto enc = load_text_encoder(shared_dir() / kHfDir);
  EXPECT_EQ(enc->info().id, "hf:clip_tiny_quickgelu");
  EXPECT_EQ(enc->info().embed_dim, 32);
  EXPECT_EQ(enc->model().config().eos_token_id, 999);
  const auto ids = ref("text_input_ids");  // [2, 10], padded with the end token 999
  torch::NoGradGuard ng;
  const auto out = enc->model().forward(ids);
  // Tolerance 1e-4 absolute; float32 on both sides.
  EXPECT_TRUE(all_close(out.pooled, ref("text_pooled"), 1e-4));
  EXPECT_TRUE(all_close(out.embeds, ref("text_embeds"), 1e-4));
  EXPECT_TRUE(all_close(enc->encode_ids(ids), ref("text_embeds"), 1e-4));
  // Pooling at the first end token: rows end at positions 6 and 2.
  EXPECT_EQ(enc->model().eot_positions(ids)[0].item<int64_t>(), 6);
  EXPECT_EQ(enc->model().eot_positions(ids)[1].item<int64_t>(), 2);
}

TEST(ClipText, OpenAiNamesOfTheSameWeightsGiveTheHfGolden) {
  BRAINSEM_REQUIRE_SHARED(kRef);
  brainsem::testing::TempDir tmp;
  write_openai_copy(tmp / "tiny.safetensors");
  auto enc = load_text_encoder(tmp / "tiny.safetensors");
  EXPECT_EQ(enc->info().format, "openai");
  EXPECT_EQ(enc->info().id, "openai:tiny");
  // OpenAI pools at argmax(ids): here 999 (the largest id), first occurrence, as HF's eos rule.
  EXPECT_TRUE(all_close(enc->encode_ids(ref("text_input_ids")), ref("text_embeds"), 1e-4));
}

TEST(ClipText, OpenAiTinyMatchesNaiveCausalOracle) {
  BRAINSEM_REQUIRE_SHARED(kOpenAi);
  auto enc = load_text_encoder(shared_dir() / kOpenAi);
  ASSERT_EQ(enc->model().config().context_length, 16);
  ASSERT_EQ(enc->model().config().vocab_size, 1000);
  SafetensorsFile f(shared_dir() / kOpenAi);
  // Two rows of 12 tokens; the end token (largest id) sits mid-row with tokens after it.
  std::vector<std::vector<int64_t>> rows{{5, 17, 300, 42, 999, 7, 8, 9, 10, 11, 12, 13},
                                         {900, 3, 998, 64, 1, 2, 3, 4, 5, 6, 7, 0}};
  auto ids = torch::tensor(std::vector<int64_t>{}, torch::kInt64);
  std::vector<int64_t> flat;
  for (auto& r : rows) flat.insert(flat.end(), r.begin(), r.end());
  ids = torch::tensor(flat, torch::kInt64).view({2, 12});
  const auto got = enc->encode_ids(ids);
  for (int r = 0; r < 2; ++r) EXPECT_TRUE(all_close(got[r], naive_encode_text(f, rows[r], 2, 4), 1e-4)) << "row " << r;
  // Causality: tokens after the end token cannot change the result; tokens before it do.
  auto after = ids.clone();
  after[0][8] = 123;
  EXPECT_TRUE(all_close(enc->encode_ids(after)[0], got[0], 1e-6));
  auto before = ids.clone();
  before[0][1] = 123;
  EXPECT_GT((enc->encode_ids(before)[0] - got[0]).abs().max().item<double>(), 1e-3);
}

TEST(ClipText, BadModelsAndIdsFailClearly) {
  BRAINSEM_REQUIRE_SHARED(kOpenAi);
  auto expect_error = [](auto fn, const std::string& fragment) {
    try {
      fn();
      ADD_FAILURE() << "no error; expected one mentioning '" << fragment << "'";
    } catch (const brainsem::Error& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  };
  expect_error([] { load_text_encoder("/nonexistent/model"); }, "not found");
  expect_error([] { load_text_encoder(shared_dir() / "golden/clip_openai/openai_vit_tiny_visual_jit.pt"); },
               "images only");
  auto enc = load_text_encoder(shared_dir() / kOpenAi);
  expect_error([&] { enc->encode_ids(torch::tensor({{1, 1000}}, torch::kInt64)); }, "outside the model's vocabulary");
  expect_error([&] { enc->encode_ids(torch::ones({1, 17}, torch::kInt64)); }, "context length");
  // The tiny vocabulary (1000) is not CLIP's BPE vocabulary: text cannot be tokenized for it.
  expect_error([&] { enc->encode_texts({"a photo of a dog."}); }, "49408");
  // A HF model whose rows lack the end token.
  auto hf = load_text_encoder(shared_dir() / kHfDir);
  expect_error([&] { hf->encode_ids(torch::tensor({{998, 5, 6}}, torch::kInt64)); }, "no end-of-text token");
  // A state dict without the text tower.
  brainsem::testing::TempDir tmp;
  brainsem::io::write_safetensors(tmp / "v.safetensors", {{"visual.proj", torch::zeros({4, 4})}});
  std::ofstream(tmp / "v.json") << R"({"embed_dim": 4, "transformer_width": 8, "transformer_layers": 1})";
  expect_error([&] { load_text_encoder(tmp / "v.safetensors"); }, "no text tower");
}

TEST(ClipText, PrototypesAreNormalisedTemplateMeans) {
  // A random text tower with CLIP's vocabulary: prototypes = normalised mean of normalised
  // per-template embeddings, computed here the long way.
  TextConfig c;
  c.width = 16;
  c.heads = 2;
  c.layers = 1;
  c.mlp_width = 32;
  c.embed_dim = 8;
  TextTransformer m(c);
  m.init_random(3);
  TextEncoder enc(std::move(m), TextEncoderInfo{"random:test", "random", c.describe(), 8});
  const std::vector<std::string> classes{"dog", "hawksbill turtle", "airship"};
  const std::vector<std::string> tmpl{"a photo of a {}.", "art of the {}.", "itap of my {}."};
  const auto proto = class_prototypes(enc, classes, tmpl, /*batch=*/4, /*progress=*/false);
  ASSERT_EQ(proto.sizes(), (std::vector<int64_t>{3, 8}));
  for (size_t ci = 0; ci < classes.size(); ++ci) {
    auto mean = torch::zeros({8});
    for (const auto& t : tmpl) {
      auto e = enc.encode_texts({fill_template(t, classes[ci])})[0];
      mean += e / e.norm() / 3.0;
    }
    EXPECT_TRUE(all_close(proto[ci], mean / mean.norm(), 1e-5)) << classes[ci];
  }
  EXPECT_TRUE(all_close(proto.norm(2, 1), torch::ones({3}), 1e-5));
  // Batching does not change the result (padding is invisible to the causal tower).
  EXPECT_TRUE(all_close(class_prototypes(enc, classes, tmpl, 1, false), proto, 1e-5));
  EXPECT_THROW(class_prototypes(enc, {}, tmpl, 4, false), brainsem::Error);
}
