#include "brainsem/model/fmri_encoder.h"

#include <gtest/gtest.h>

#include "brainsem/core/error.h"

using namespace brainsem::model;

namespace {
FmriEncoderConfig small(const std::string& kind) {
  FmriEncoderConfig c;
  c.kind = kind;
  c.tokens = 7;
  c.token_width = 10;
  c.width = 16;
  c.depth = 2;
  c.heads = 4;
  c.mlp = 32;
  c.out_dim = 12;
  return c;
}
}  // namespace

TEST(FmriEncoder, ShapesForEveryKind) {
  torch::manual_seed(0);
  for (std::string kind : {"vit", "linear", "mlp"}) {
    FmriEncoder enc(small(kind));
    auto y = enc->forward(torch::randn({5, 7, 10}));
    EXPECT_EQ(y.sizes(), (std::vector<int64_t>{5, 12})) << kind;
  }
}

TEST(FmriEncoder, WithoutPositionEmbeddingsTheViTIgnoresRoiOrder) {
  // The released code's zero pos_embed makes the encoder permutation-invariant over ROI tokens.
  torch::manual_seed(0);
  auto cfg = small("vit");
  cfg.pos_embed = "none";
  FmriEncoder enc(cfg);
  enc->eval();
  auto x = torch::randn({3, 7, 10});
  auto perm = torch::tensor({6, 5, 4, 3, 2, 1, 0}, torch::kInt64);
  EXPECT_TRUE(torch::allclose(enc->forward(x), enc->forward(x.index_select(1, perm)), 1e-5, 1e-5));
  cfg.pos_embed = "learned";
  FmriEncoder enc2(cfg);
  enc2->eval();
  EXPECT_FALSE(torch::allclose(enc2->forward(x), enc2->forward(x.index_select(1, perm)), 1e-5, 1e-5));
}

TEST(FmriEncoder, BlockMatchesNaiveAttention) {
  // Oracle: per-head attention written with explicit loops over heads.
  torch::manual_seed(2);
  TransformerBlock block(8, 2, 16, 0.0);
  block->eval();
  auto x = torch::randn({2, 3, 8});
  auto params = block->named_parameters();
  auto ln = [](const torch::Tensor& t, const torch::Tensor& w, const torch::Tensor& b) {
    auto mu = t.mean(-1, true);
    auto var = (t - mu).pow(2).mean(-1, true);
    return (t - mu) / torch::sqrt(var + 1e-6) * w + b;
  };
  auto h1 = ln(x, params["norm1.weight"], params["norm1.bias"]);
  auto qkv = torch::matmul(h1, params["qkv.weight"].t()) + params["qkv.bias"];
  std::vector<torch::Tensor> heads;
  for (int h = 0; h < 2; ++h) {
    auto q = qkv.slice(2, h * 4, h * 4 + 4), k = qkv.slice(2, 8 + h * 4, 8 + h * 4 + 4),
         v = qkv.slice(2, 16 + h * 4, 16 + h * 4 + 4);
    heads.push_back(torch::matmul(torch::softmax(torch::matmul(q, k.transpose(1, 2)) / 2.0, -1), v));
  }
  auto y = x + torch::matmul(torch::cat(heads, 2), params["proj.weight"].t()) + params["proj.bias"];
  auto m = torch::gelu(torch::matmul(ln(y, params["norm2.weight"], params["norm2.bias"]), params["fc1.weight"].t()) +
                       params["fc1.bias"]);
  auto expected = y + torch::matmul(m, params["fc2.weight"].t()) + params["fc2.bias"];
  EXPECT_TRUE(torch::allclose(block->forward(x), expected, 1e-5, 1e-5));
}

TEST(FmriEncoder, RejectsBadConfig) {
  auto c = small("vit");
  c.heads = 5;
  EXPECT_THROW(validate(c), brainsem::Error);
  c = small("transformer");
  EXPECT_THROW(validate(c), brainsem::Error);
  FmriEncoder enc(small("linear"));
  EXPECT_THROW(enc->forward(torch::randn({2, 7, 9})), brainsem::Error);
}

TEST(FmriEncoder, HeadNoneReturnsTheClsOutputItself) {
  // The paper's encoder: the CLS token's output (width D = E) is the embedding, with no projection.
  torch::manual_seed(3);
  auto cfg = small("vit");
  cfg.width = 12;
  cfg.heads = 3;
  cfg.out_dim = 12;
  cfg.head = "none";
  FmriEncoder bare(cfg);
  auto with_head_cfg = cfg;
  with_head_cfg.head = "linear";
  FmriEncoder with_head(with_head_cfg);
  EXPECT_EQ(count_parameters(*with_head) - count_parameters(*bare), 12 * 12 + 12);
  EXPECT_EQ(bare->named_parameters().find("head.weight"), nullptr);
  bare->eval();
  auto x = torch::randn({4, 7, 10});
  auto y = bare->forward(x);
  ASSERT_EQ(y.sizes(), (std::vector<int64_t>{4, 12}));
  // The final LayerNorm with its initial affine (weight 1, bias 0) standardises each row.
  EXPECT_TRUE(torch::allclose(y.mean(1), torch::zeros({4}), 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(y.pow(2).mean(1), torch::ones({4}), 1e-3, 1e-3));
  // Widths that differ need a head; linear encoders have no CLS output.
  cfg.out_dim = 16;
  EXPECT_THROW(validate(cfg), brainsem::Error);
  auto lin = small("linear");
  lin.head = "none";
  EXPECT_THROW(validate(lin), brainsem::Error);
  lin.head = "conv";
  lin.kind = "vit";
  EXPECT_THROW(validate(lin), brainsem::Error);
}
