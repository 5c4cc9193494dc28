#pragma once
// The fMRI encoder f_b of the paper (Fig. 2 left): R ROI tokens [B, R, P] -> brain embedding [B, E].
//
// Dimension letters: B batch, R ROI tokens (7 for GOD), P token width (widest ROI, zero-padded),
// D model width, E output (CLIP) dimension.
//
// kind = "vit" (the paper): one Linear(P->D) shared by every ROI token (the released code's
// Conv1d(P, D, 1)), a learnable CLS token, position embeddings (learned, or none = the released
// code's all-zero buffer), `depth` pre-norm transformer blocks (LN -> MHSA -> residual,
// LN -> MLP(GELU) -> residual), a final LayerNorm, and the CLS output [B, D] as the embedding:
// head = "none" (the paper: D = 512 = E for CLIP ViT-B/16) takes it as it is and needs D == E;
// head = "linear" projects it with Linear(D->E).
// kind = "linear" / "mlp": the flattened tokens [B, R*P] through Linear (or Linear-GELU-Linear)
// to E; baselines that share the loss and the training loop (they need head = "linear").
#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <string>

namespace brainsem::model {

struct FmriEncoderConfig {
  std::string kind = "linear";  // vit | linear | mlp (the training default; the paper: vit)
  int64_t tokens = 7;           // R
  int64_t token_width = 0;      // P (set from the data)
  int64_t width = 512;          // D
  int64_t depth = 6;
  int64_t heads = 4;
  int64_t mlp = 2048;
  int64_t out_dim = 512;              // E
  std::string pos_embed = "learned";  // learned | none
  double dropout = 0.0;               // on token embeddings, attention/MLP outputs and the head input
  bool tanh_output = false;           // the released code applies tanh after the final norm
  std::string head = "linear";  // vit: linear (Linear(D->E) on the CLS output) | none (CLS output is the embedding)
};

// The fields a run records (tokens and token_width come from the data); a key missing from an
// older file takes the default above (head: linear, what such runs meant).
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(FmriEncoderConfig, kind, width, depth, heads, mlp, out_dim, pos_embed,
                                                dropout, tanh_output, head)

// Checks the config and fails with a message naming the bad field.
void validate(const FmriEncoderConfig& cfg);

// The recorded fields (JSON keys above) that `kind` ignores, e.g. the transformer's for linear: run
// directories leave them out so that a config says only what shaped the model.
std::vector<std::string> unused_encoder_fields(const std::string& kind);

class TransformerBlockImpl : public torch::nn::Module {
 public:
  TransformerBlockImpl(int64_t width, int64_t heads, int64_t mlp, double dropout);
  torch::Tensor forward(const torch::Tensor& x);  // [B, T, D] -> [B, T, D]

 private:
  int64_t heads_;
  double dropout_;
  torch::nn::LayerNorm norm1_{nullptr}, norm2_{nullptr};
  torch::nn::Linear qkv_{nullptr}, proj_{nullptr}, fc1_{nullptr}, fc2_{nullptr};
};
TORCH_MODULE(TransformerBlock);

class FmriEncoderImpl : public torch::nn::Module {
 public:
  explicit FmriEncoderImpl(const FmriEncoderConfig& cfg);
  torch::Tensor forward(const torch::Tensor& x);  // [B, R, P] -> [B, E] (not normalised)
  const FmriEncoderConfig& config() const { return cfg_; }

 private:
  FmriEncoderConfig cfg_;
  torch::nn::Linear token_embed_{nullptr}, head_{nullptr}, hidden_{nullptr};
  torch::Tensor cls_token_, pos_embed_;
  torch::nn::ModuleList blocks_{nullptr};
  torch::nn::LayerNorm norm_{nullptr};
};
TORCH_MODULE(FmriEncoder);

// Parameter count (for logs and the run manifest).
int64_t count_parameters(torch::nn::Module& module);

}  // namespace brainsem::model
