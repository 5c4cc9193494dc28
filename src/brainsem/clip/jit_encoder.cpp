// TorchScript archives through torch::jit::load: OpenAI's released .pt models (whole CLIP, we call
// encode_image) and torch.jit.trace(model.visual) files (we call forward). TorchScript archives
// contain code that is executed: load only files from a source you trust.
#include <torch/script.h>

#include <cmath>

#include "brainsem/clip/image_encoder.h"
#include "brainsem/core/error.h"

namespace brainsem::clip {

namespace {

class TorchScriptEncoder : public ImageEncoder {
 public:
  TorchScriptEncoder(torch::jit::Module m, bool whole_clip, EncoderInfo info)
      : module_(std::move(m)), whole_clip_(whole_clip) {
    info_ = std::move(info);
  }
  void set_embed_dim(int64_t d) { info_.embed_dim = d; }
  void to(torch::Device device, torch::ScalarType dtype) override {
    module_.to(device, dtype);
    device_ = device;
    dtype_ = dtype;
  }

 protected:
  torch::Tensor forward(const torch::Tensor& pixels) override {
    std::vector<torch::jit::IValue> in{pixels};
    auto out = whole_clip_ ? module_.get_method("encode_image")(in) : module_.forward(in);
    BRAINSEM_CHECK(out.isTensor(), "TorchScript model ", info_.id, ": forward did not return a tensor");
    return out.toTensor();
  }

 private:
  torch::jit::Module module_;
  bool whole_clip_;
};

}  // namespace

std::unique_ptr<ImageEncoder> load_torchscript_encoder(const std::filesystem::path& path) {
  torch::jit::Module m;
  try {
    m = torch::jit::load(path.string(), torch::kCPU);
  } catch (const c10::Error& e) {
    fail(path.string(), ": not a TorchScript archive LibTorch can load (", e.what_without_backtrace(),
         "); pickled state dicts (torch.save(state_dict)) are not TorchScript: convert them to .safetensors");
  }
  m.eval();
  const bool whole = m.find_method("encode_image").has_value();
  const std::string p = whole ? "visual." : "";
  // Input resolution from the positional embedding: ViT tokens = (R/P)^2 + 1, ResNet (R/32)^2 + 1.
  std::map<std::string, torch::Tensor> params;
  for (const auto& np : m.named_parameters(true)) params[np.name] = np.value;
  int image_size = 224;
  std::string arch = "torchscript";
  if (params.count(p + "positional_embedding") && params.count(p + "conv1.weight")) {
    const auto T = params[p + "positional_embedding"].size(0), P = params[p + "conv1.weight"].size(-1);
    image_size = static_cast<int>(std::lround(std::sqrt(static_cast<double>(T - 1)))) * static_cast<int>(P);
    arch = "torchscript ViT";
  } else if (params.count(p + "attnpool.positional_embedding")) {
    const auto T = params[p + "attnpool.positional_embedding"].size(0);
    image_size = static_cast<int>(std::lround(std::sqrt(static_cast<double>(T - 1)))) * 32;
    arch = "torchscript ModifiedResNet";
  }
  m.to(torch::kFloat32);  // OpenAI's archives store fp16 weights for CUDA
  EncoderInfo info;
  info.format = "torchscript";
  info.id = "torchscript:" + path.stem().string();
  info.arch = arch;
  info.image_size = image_size;
  info.preprocess.pipeline = Pipeline::OpenAI;
  info.preprocess.resize = info.preprocess.crop = image_size;
  auto enc = std::make_unique<TorchScriptEncoder>(std::move(m), whole, info);
  // The embedding size is only known by running it once.
  auto probe = enc->encode(torch::zeros({1, 3, image_size, image_size}));
  BRAINSEM_CHECK(probe.dim() == 2 && probe.size(0) == 1, path.string(), ": the model returned ", probe.sizes(),
                 " for one image; expected [1, D] image embeddings");
  enc->set_embed_dim(probe.size(1));
  return enc;
}

}  // namespace brainsem::clip
