#pragma once
// CLIP's ModifiedResNet (RN50 family; openai/CLIP model.py): a 3-conv stem with average pooling,
// anti-aliased Bottleneck stages (strided 3x3 replaced by AvgPool before conv3 and in the
// downsample branch), and an attention pool (mean token + positional embedding, one multi-head
// attention with the mean token as the only query, then c_proj). Batch norms are in eval mode
// and are folded into the preceding convolution at load time (scale = gamma/sqrt(var+eps)).
#include <torch/torch.h>

#include <array>
#include <string>
#include <vector>

#include "brainsem/clip/weights.h"

namespace brainsem::clip {

struct ResNetConfig {
  int image_size = 224;
  std::array<int, 4> layers{3, 4, 6, 3};
  int width = 64;  // stem width; stage outputs are width*4, *8, *16, *32
  int heads = 32;  // attention-pool heads (OpenAI: width*32/64)
  int embed_dim = 1024;
  double eps = 1e-5;
  std::string describe() const;
};

class ModifiedResNet {
 public:
  explicit ModifiedResNet(ResNetConfig cfg);
  void load_openai(StrictWeights& w, const std::string& prefix);
  void init_random(uint64_t seed);
  torch::Tensor forward(const torch::Tensor& pixels) const;  // [B, 3, R, R] -> [B, D]
  void to(torch::Device device, torch::ScalarType dtype);
  const ResNetConfig& config() const { return cfg_; }

 private:
  struct ConvBn {  // conv (no bias) + eval batch norm folded into weight and bias
    torch::Tensor w, b;
    int64_t padding = 0, stride = 1;
    torch::Tensor operator()(const torch::Tensor& x) const;
  };
  struct Bottleneck {
    ConvBn c1, c2, c3, down;
    int stride = 1;
    bool has_down = false;
  };
  ConvBn load_conv_bn(StrictWeights& w, const std::string& conv, const std::string& bn, int64_t out, int64_t in,
                      int64_t k);
  ConvBn random_conv_bn(int64_t out, int64_t in, int64_t k);
  std::vector<torch::Tensor*> all();

  ResNetConfig cfg_;
  ConvBn stem1_, stem2_, stem3_;
  std::vector<Bottleneck> blocks_;
  torch::Tensor pos_, q_w_, q_b_, k_w_, k_b_, v_w_, v_b_, c_w_, c_b_;
};

}  // namespace brainsem::clip
