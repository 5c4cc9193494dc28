// `brainsem embed`: CLIP image embeddings of a folder or list of images into a feature store.
#include <torch/torch.h>

#include <cstdio>

#include "brainsem/clip/embed_images.h"
#include "brainsem/clip/image_encoder.h"
#include "brainsem/core/error.h"
#include "brainsem/core/output_lock.h"
#include "command.h"

namespace brainsem::app {
namespace {

struct EmbedArgs {
  std::string model, images, out, classes, encoder_id;
  int per_class = 0, batch = 32, decode_threads = 0;
  int64_t checkpoint = 2048;
  int64_t max_pixels = clip::EmbedOptions{}.max_pixels;
  bool allow_god_test = false;
  CommonOptions common;
};

CommandRegistration reg(200, [](CLI::App& root) {
  auto args = std::make_shared<EmbedArgs>();
  auto* cmd =
      root.add_subcommand("embed", "Embed images with a frozen CLIP image encoder into a feature store (.safetensors)");
  cmd->footer(
      "Models: a Hugging Face directory (config.json + model.safetensors), an OpenAI/open_clip state dict\n"
      "NAME.safetensors with its architecture in NAME.json, or a TorchScript archive (.pt, e.g. OpenAI's\n"
      "released models). TorchScript archives contain code that runs when loaded: use only trusted files.\n"
      "Images: JPEG or PNG; ImageNet layout train/nXXXXXXXX/*.JPEG gives classes from folders, otherwise the\n"
      "nXXXXXXXX_ file-name prefix. Names are file stems. Re-running with the same --out resumes: images\n"
      "already in it are not recomputed. Unreadable images are reported, skipped and listed in the store.\n"
      "In the ImageNet train layout, GOD test classes and test images are refused (--allow-god-test).\n"
      "Exit status is non-zero only when no image could be embedded.");
  cmd->add_option("--model", args->model, "CLIP model (directory, .safetensors or TorchScript .pt)")->required();
  cmd->add_option("--images", args->images, "Image directory (searched recursively) or a text file listing images")
      ->required();
  cmd->add_option("--out", args->out, "Output feature store (.safetensors); resumed if it exists")->required();
  cmd->add_option("--classes", args->classes, "Only these synsets (a file, one per line)");
  cmd->add_option("--per-class", args->per_class, "At most N images per class (0 = all)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--batch", args->batch, "Images per model batch")->check(CLI::PositiveNumber);
  cmd->add_option("--decode-threads", args->decode_threads, "Threads decoding images (0 = one per core)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--checkpoint-every", args->checkpoint, "Save the store every N new images (0 = only at the end)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--max-pixels", args->max_pixels,
                  "Skip images whose header claims more pixels than this (decompression bombs; Pillow's limit); "
                  "0 = no limit")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--encoder-id", args->encoder_id, "Encoder id stored in the output (default: from the model)");
  cmd->add_flag("--allow-god-test", args->allow_god_test,
                "Allow GOD test classes/images in an ImageNet train layout (for a test-class library)");
  add_common_options(*cmd, args->common);
  add_device_options(*cmd, args->common, Precisions::bf16_fp16);
  cmd->callback([args] {
    const auto target = apply_common_options(args->common);
    const core::OutputLock lock(args->out);  // one writer per feature store (a rerun resumes it)
    auto encoder = clip::load_image_encoder(args->model);
    encoder->to(target.device, target.dtype);  // the whole tower in that precision (inference only)
    auto entries = clip::list_images(args->images);
    if (!args->classes.empty() || args->per_class > 0)
      entries = clip::select_classes(entries, args->classes, args->per_class);
    std::fprintf(stderr, "embed: %zu images, model %s (%s), preprocessing %s, %s %s\n", entries.size(),
                 encoder->info().id.c_str(), encoder->info().arch.c_str(), encoder->info().preprocess.id().c_str(),
                 args->common.device.c_str(), args->common.dtype.c_str());
    clip::EmbedOptions opts;
    opts.batch = args->batch;
    opts.decode_threads = args->decode_threads > 0 ? args->decode_threads : args->common.threads;
    opts.leakage_guard = !args->allow_god_test;
    opts.checkpoint_every = args->checkpoint;
    opts.max_pixels = args->max_pixels;
    opts.encoder_id = args->encoder_id;
    opts.extra = {{"model_path", args->model}, {"dtype", args->common.dtype}, {"device", args->common.device}};
    const auto r = clip::embed_images(*encoder, entries, args->out, opts);
    std::printf("embedded %lld new, %lld already present, %lld skipped -> %s (%lld rows, dim %lld)\n",
                static_cast<long long>(r.embedded), static_cast<long long>(r.reused), static_cast<long long>(r.skipped),
                args->out.c_str(), static_cast<long long>(r.total_rows),
                static_cast<long long>(encoder->info().embed_dim));
    BRAINSEM_CHECK(r.embedded + r.reused > 0, "no image could be embedded from ", args->images, " (", r.skipped,
                   " skipped; see the messages above)");
  });
});

}  // namespace
}  // namespace brainsem::app
