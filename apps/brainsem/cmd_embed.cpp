// `brainsem embed`: CLIP image embeddings of a folder or list of images into a feature store.
#include <torch/torch.h>

#include <cstdio>
#include <filesystem>
#include <optional>
#include <tuple>

#include "brainsem/clip/embed_images.h"
#include "brainsem/clip/image_encoder.h"
#include "brainsem/core/error.h"
#include "brainsem/core/launch.h"
#include "brainsem/data/feature_store.h"
#include "brainsem/core/output_lock.h"
#include "command.h"

namespace brainsem::app {
namespace {
namespace fs = std::filesystem;

struct EmbedArgs {
  std::string model, images, out, classes, encoder_id;
  int per_class = 0, batch = 32, decode_threads = 0;
  int64_t checkpoint = 2048;
  int64_t max_pixels = clip::EmbedOptions{}.max_pixels;
  bool allow_god_test = false, fast_jpeg = false;
  std::string shard;
  CommonOptions common;
  DistributedOptions dist;
};

// `device_option` is --device as given (recorded in the store: the same in every part).
void run_embed(const EmbedArgs& a, core::ProcessGroup* group, const std::string& device_option) {
  BRAINSEM_CHECK(!(group && !a.shard.empty()), "--shard is for separate processes (e.g. a Slurm array); under ",
                 group ? group->spec().source : "", " the ranks share the list already");
  core::WorkShare share;
  if (group) {
    share.index = group->rank();
    share.count = group->size();
    share.source = group->spec().source;
  } else if (!a.shard.empty()) {
    share = core::parse_work_share(a.shard);
  }
  const bool in_parts = share.count > 1 || !a.shard.empty();
  const fs::path out = a.out;
  const fs::path my_out = in_parts ? data::part_path(out, share.index, share.count) : out;
  // One writer per store (a rerun resumes it); rank 0 also holds the joined store.
  const core::OutputLock lock(my_out);
  std::optional<core::OutputLock> joined_lock;
  if (group && group->rank() == 0) joined_lock.emplace(out);

  const auto target = apply_common_options(a.common);
  auto encoder = clip::load_image_encoder(a.model);
  encoder->to(target.device, target.dtype);  // the whole tower in that precision (inference only)
  auto entries = clip::list_images(a.images);
  if (!a.classes.empty() || a.per_class > 0) entries = clip::select_classes(entries, a.classes, a.per_class);
  clip::EmbedOptions opts;
  opts.batch = a.batch;
  opts.decode_threads = a.decode_threads > 0 ? a.decode_threads : a.common.threads;
  opts.leakage_guard = !a.allow_god_test;
  opts.checkpoint_every = a.checkpoint;
  opts.max_pixels = a.max_pixels;
  opts.fast_jpeg = a.fast_jpeg;
  opts.encoder_id = a.encoder_id;
  opts.extra = {{"model_path", a.model}, {"dtype", a.common.dtype}, {"device", device_option}};
  if (in_parts) {
    std::tie(opts.first, opts.last) = clip::part_slice(entries.size(), a.batch, share.index, share.count);
    opts.extra[data::kPartKey] = std::to_string(share.index) + "/" + std::to_string(share.count);
    opts.resume_from = out;  // a finished earlier run's rows are reused, not recomputed
  }
  auto preprocessing = encoder->info().preprocess;
  preprocessing.fast_jpeg = a.fast_jpeg;
  std::fprintf(stderr, "embed: %zu images%s, model %s (%s), preprocessing %s, %s %s\n",
               in_parts ? opts.last - opts.first : entries.size(),
               in_parts ? cat(" (part ", share.index, " of ", share.count, ", ", share.source, ")").c_str() : "",
               encoder->info().id.c_str(), encoder->info().arch.c_str(), preprocessing.id().c_str(),
               a.common.device.c_str(), a.common.dtype.c_str());
  const auto r = clip::embed_images(*encoder, entries, my_out, opts);
  std::printf("embedded %lld new, %lld already present, %lld skipped -> %s (%lld rows, dim %lld)\n",
              static_cast<long long>(r.embedded), static_cast<long long>(r.reused), static_cast<long long>(r.skipped),
              my_out.c_str(), static_cast<long long>(r.total_rows), static_cast<long long>(encoder->info().embed_dim));
  if (!in_parts) {
    BRAINSEM_CHECK(r.embedded + r.reused > 0, "no image could be embedded from ", a.images, " (", r.skipped,
                   " skipped; see the messages above)");
    return;
  }
  if (!group) {
    std::printf("part %d of %d done; once every part is: brainsem features merge --out %s %s ...\n", share.index,
                share.count, out.c_str(), data::part_path(out, 0, share.count).c_str());
    return;
  }
  // Every rank's part is complete past this barrier; rank 0 joins them, then all learn the outcome.
  group->barrier();
  if (group->rank() == 0) {
    std::vector<data::FeatureStore> parts;
    std::vector<std::string> paths;
    for (int k = 0; k < share.count; ++k) {
      paths.push_back(data::part_path(out, k, share.count).string());
      parts.push_back(data::FeatureStore::open(paths.back()));
    }
    const auto joined = data::join_parts(parts, paths);
    BRAINSEM_CHECK(joined.size() > 0, "no image could be embedded from ", a.images, " (see the messages above)");
    joined.save(out);
    parts.clear();  // unmap before removing
    for (const auto& p : paths) fs::remove(p);
    std::printf("joined %d parts -> %s (%lld rows)\n", share.count, out.c_str(), static_cast<long long>(joined.size()));
  }
  group->barrier();
}

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
      "Exit status is non-zero only when no image could be embedded.\n"
      "Several processes (torchrun, srun or --dist-url; docs/distributed.md): rank K embeds the K-th slice of the\n"
      "list into OUT.part-K-of-N and rank 0 joins the parts into OUT, the same bytes one process writes. A\n"
      "rerun resumes each part. --shard K/N (e.g. a Slurm array task) writes only part K; join the parts\n"
      "with `brainsem features merge`.");
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
  cmd->add_flag("--fast-jpeg", args->fast_jpeg,
                "Off by default (Pillow-exact decoding). On: decode JPEGs at libjpeg's reduced DCT scale M/8, the "
                "smallest whose shorter side still reaches the resize: faster, but not Pillow-exact (docs/clip.md "
                "gives the difference); recorded in the store's preprocessing id")
      ->capture_default_str();
  cmd->add_option("--encoder-id", args->encoder_id, "Encoder id stored in the output (default: from the model)");
  cmd->add_flag("--allow-god-test", args->allow_god_test,
                "Allow GOD test classes/images in an ImageNet train layout (for a test-class library)");
  cmd->add_option("--shard", args->shard,
                  "Embed only part K of N (0 <= K < N) into OUT.part-K-of-N, e.g. "
                  "$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT; join the parts with `brainsem features merge`");
  add_common_options(*cmd, args->common);
  add_device_options(*cmd, args->common, Precisions::bf16_fp16);
  add_distributed_options(*cmd, args->dist);
  cmd->callback([args] {
    const std::string device_option = args->common.device;
    const auto group = join_job(args->dist, args->common);
    core::run_as_rank(group.get(), [&] { run_embed(*args, group.get(), device_option); });
  });
});

}  // namespace
}  // namespace brainsem::app
