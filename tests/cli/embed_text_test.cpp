// `brainsem embed-text`, run as a user would: a class-embedding table equal to the library's
// prototypes, in the documented format; bad input fails with a clear message and no output.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "brainsem/clip/prompts.h"
#include "brainsem/clip/text_encoder.h"
#include "brainsem/data/class_embeddings.h"
#include "brainsem/io/safetensors.h"
#include "testing/paths.h"

namespace fs = std::filesystem;
using brainsem::testing::run_cli;
using brainsem::testing::shared_dir;

namespace {
std::string q(const fs::path& p) { return "'" + p.string() + "'"; }

// A small random Hugging Face CLIPTextModelWithProjection with CLIP's full 49408-token vocabulary.
fs::path write_text_model(const fs::path& dir) {
  fs::create_directories(dir);
  torch::manual_seed(11);
  const int64_t V = 49408, C = 77, W = 8, M = 16, D = 4;
  auto r = [](std::vector<int64_t> s) { return torch::randn(s) * 0.5; };
  std::vector<std::pair<std::string, torch::Tensor>> w{{"text_model.embeddings.token_embedding.weight", r({V, W})},
                                                       {"text_model.embeddings.position_embedding.weight", r({C, W})},
                                                       {"text_model.final_layer_norm.weight", 1 + r({W}) * 0.1},
                                                       {"text_model.final_layer_norm.bias", r({W}) * 0.1},
                                                       {"text_projection.weight", r({D, W})}};
  const std::string p = "text_model.encoder.layers.0.";
  for (const char* n : {"q_proj", "k_proj", "v_proj", "out_proj"}) {
    w.push_back({p + "self_attn." + n + ".weight", r({W, W})});
    w.push_back({p + "self_attn." + n + ".bias", r({W}) * 0.1});
  }
  for (const char* n : {"layer_norm1", "layer_norm2"}) {
    w.push_back({p + n + ".weight", 1 + r({W}) * 0.1});
    w.push_back({p + n + ".bias", r({W}) * 0.1});
  }
  w.push_back({p + "mlp.fc1.weight", r({M, W})});
  w.push_back({p + "mlp.fc1.bias", r({M})});
  w.push_back({p + "mlp.fc2.weight", r({W, M})});
  w.push_back({p + "mlp.fc2.bias", r({W})});
  brainsem::io::write_safetensors(dir / "model.safetensors", w, {{"format", "pt"}});
  std::ofstream(dir / "config.json")
      << R"({"architectures": ["CLIPTextModelWithProjection"], "model_type": "clip_text_model",
    "vocab_size": 49408, "hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 1,
    "num_attention_heads": 2, "max_position_embeddings": 77, "hidden_act": "quick_gelu",
    "layer_norm_eps": 1e-5, "projection_dim": 4, "bos_token_id": 49406, "eos_token_id": 49407})";
  return dir;
}
}  // namespace

TEST(CliEmbedText, WritesTheClassEmbeddingTableTheLibraryComputes) {
  brainsem::testing::TempDir tmp;
  const auto model = write_text_model(tmp / "textmodel");
  std::ofstream(tmp / "names.txt") << "Hawksbill turtle\nairship\n  goose \n";
  std::string out;
  ASSERT_EQ(run_cli("embed-text -q --model " + q(model) + " --classes " + q(tmp / "names.txt") +
                        " --templates imagenet80 --batch 50 --out " + q(tmp / "text.safetensors"),
                    &out),
            0)
      << out;
  EXPECT_NE(out.find("embedded 3 classes x 80 templates"), std::string::npos) << out;
  brainsem::io::SafetensorsFile f(tmp / "text.safetensors");
  EXPECT_EQ(f.metadata_at("format"), "brainsem.class_embeddings.v1");
  EXPECT_EQ(f.metadata_at("encoder"), "hf:textmodel");
  EXPECT_EQ(nlohmann::json::parse(f.metadata_at("classes")),
            nlohmann::json::parse(R"(["Hawksbill turtle", "airship", "goose"])"));
  EXPECT_EQ(nlohmann::json::parse(f.metadata_at("templates")).size(), 80u);
  ASSERT_EQ(f.info("embeddings").dtype, "F32");
  const auto emb = f.tensor("embeddings");
  ASSERT_EQ(emb.sizes(), (std::vector<int64_t>{3, 4}));
  // Same numbers as the library (an independent path: different batch size, in-process).
  auto enc = brainsem::clip::load_text_encoder(model);
  const auto want = brainsem::clip::class_prototypes(*enc, {"Hawksbill turtle", "airship", "goose"},
                                                     brainsem::clip::builtin_templates("imagenet80"), 256, false);
  EXPECT_LT((emb - want).abs().max().item<double>(), 1e-5);
  EXPECT_LT((emb.norm(2, 1) - 1).abs().max().item<double>(), 1e-5);
  // The data layer's reader accepts the table as it is.
  const auto table = brainsem::data::read_class_embeddings(tmp / "text.safetensors");
  EXPECT_EQ(table.classes, (std::vector<std::string>{"Hawksbill turtle", "airship", "goose"}));
  EXPECT_EQ(table.encoder, "hf:textmodel");
  EXPECT_LT((table.embeddings - emb).abs().max().item<double>(), 1e-7);
  // Distinct classes get distinct prototypes.
  EXPECT_GT((emb[0] - emb[1]).abs().max().item<double>(), 1e-3);

  // A template file with one template equals that template's normalised embedding.
  std::ofstream(tmp / "t.txt") << "a photo of a {}.\n";
  ASSERT_EQ(run_cli("embed-text -q --model " + q(model) + " --classes " + q(tmp / "names.txt") + " --templates " +
                        q(tmp / "t.txt") + " --out " + q(tmp / "one.safetensors"),
                    &out),
            0)
      << out;
  auto e = enc->encode_texts({"a photo of a airship."})[0];
  const auto one = brainsem::io::SafetensorsFile(tmp / "one.safetensors").tensor("embeddings");
  EXPECT_LT((one[1] - e / e.norm()).abs().max().item<double>(), 1e-5);
}

TEST(CliEmbedText, BadInputFailsClearlyAndWritesNothing) {
  brainsem::testing::TempDir tmp;
  const auto model = write_text_model(tmp / "textmodel");
  const auto out_file = tmp / "text.safetensors";
  auto expect_fail = [&](const std::string& args, const std::string& fragment) {
    std::string out;
    EXPECT_NE(run_cli("embed-text -q " + args + " --out " + q(out_file), &out), 0) << args;
    EXPECT_NE(out.find(fragment), std::string::npos) << "expected '" << fragment << "' in: " << out;
    EXPECT_FALSE(fs::exists(out_file)) << args;
  };
  std::ofstream(tmp / "ok.txt") << "dog\ncat\n";
  std::ofstream(tmp / "empty.txt") << "";
  std::ofstream(tmp / "blank_line.txt") << "dog\n\ncat\n";
  std::ofstream(tmp / "dup.txt") << "dog\ncat\ndog\n";
  expect_fail("--model " + q(tmp / "missing") + " --classes " + q(tmp / "ok.txt"), "model not found");
  expect_fail("--model " + q(model) + " --classes " + q(tmp / "empty.txt"), "no class names");
  expect_fail("--model " + q(model) + " --classes " + q(tmp / "blank_line.txt"), "blank_line.txt: line 2 is empty");
  expect_fail("--model " + q(model) + " --classes " + q(tmp / "dup.txt"), "appears twice");
  expect_fail("--model " + q(model) + " --classes " + q(tmp / "nope.txt"), "nope.txt");
  expect_fail("--model " + q(model) + " --classes " + q(tmp / "ok.txt") + " --templates " + q(tmp / "ok.txt"),
              "has no {}");
  if (fs::exists(shared_dir() / "golden/clip_hf/clip_tiny_quickgelu/config.json"))
    // The golden tiny model has a 1000-token vocabulary: not usable with CLIP's tokenizer.
    expect_fail("--model " + q(shared_dir() / "golden/clip_hf/clip_tiny_quickgelu") + " --classes " + q(tmp / "ok.txt"),
                "49408");
}
