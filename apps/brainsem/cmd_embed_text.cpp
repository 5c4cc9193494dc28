// `brainsem embed-text`: CLIP text prototypes of class names, written as a class-embedding table
// (data/class_embeddings.h, docs/clip_text.md) with the templates as provenance.
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <cstdio>
#include <set>

#include "brainsem/clip/prompts.h"
#include "brainsem/clip/text_encoder.h"
#include "brainsem/clip/tokenizer.h"
#include "brainsem/core/error.h"
#include "brainsem/core/text.h"
#include "brainsem/data/class_embeddings.h"
#include "command.h"

namespace brainsem::app {
namespace {

struct EmbedTextArgs {
  std::string model, classes, templates = "default", out;
  int batch = 256;
  CommonOptions common;
};

// One class name per line (core::read_lines: trimmed, no blank lines); each must be valid UTF-8
// text the tokenizer accepts and appear once. Errors name the line.
std::vector<std::string> read_class_names(const std::string& path) {
  const auto names = core::read_lines(path, "the class file (one class name per line)");
  BRAINSEM_CHECK(!names.empty(), path, ": no class names; write one class name per line");
  std::set<std::string> seen;
  for (size_t i = 0; i < names.size(); ++i) {
    try {
      clip::ClipTokenizer::normalize(names[i]);
    } catch (const Error& err) {
      fail(path, ": line ", i + 1, ": ", err.what());
    }
    BRAINSEM_CHECK(seen.insert(names[i]).second, path, ": line ", i + 1, ": class '", names[i],
                   "' appears twice; class names must be unique");
  }
  return names;
}

CommandRegistration reg(210, [](CLI::App& root) {
  auto args = std::make_shared<EmbedTextArgs>();
  auto* cmd = root.add_subcommand(
      "embed-text", "Class prototypes from CLIP's text tower (prompt templates) into a class-embedding table");
  cmd->footer(
      "Each class's prototype is the normalised mean of the normalised text embeddings of its prompts\n"
      "(templates with {} replaced by the class name). Templates: 'default' = \"a photo of a {}.\",\n"
      "'imagenet80' = OpenAI's 80 ImageNet prompts, or a file with one template per line ('#' comments).\n"
      "Models: a Hugging Face CLIP directory (config.json + model.safetensors) or an OpenAI/open_clip\n"
      "NAME.safetensors with NAME.json; the model must use CLIP's 49408-token BPE vocabulary.\n"
      "Output: safetensors with \"embeddings\" F32 [C, E] and metadata format=brainsem.class_embeddings.v1,\n"
      "classes (JSON array, file order), encoder, templates (docs/clip_text.md).");
  cmd->add_option("--model", args->model, "CLIP model (Hugging Face directory or .safetensors with .json)")->required();
  cmd->add_option("--classes", args->classes, "Class names, one per line")->required();
  cmd->add_option("--templates", args->templates, "default, imagenet80 or a file of templates with {}");
  cmd->add_option("--out", args->out, "Output class-embedding table (.safetensors)")->required();
  cmd->add_option("--batch", args->batch, "Prompts per forward pass")->check(CLI::PositiveNumber);
  add_common_options(*cmd, args->common);
  add_device_options(*cmd, args->common, Precisions::fp32_only);
  cmd->callback([args] {
    const torch::Device device = apply_common_options(args->common).device;
    // Inputs are checked before the model is loaded, so bad input fails fast and writes nothing.
    const auto classes = read_class_names(args->classes);
    const bool builtin = args->templates == "default" || args->templates == "imagenet80";
    const auto templates =
        builtin ? clip::builtin_templates(args->templates) : clip::read_templates_file(args->templates);
    auto encoder = clip::load_text_encoder(args->model);
    encoder->to(device, torch::kFloat32);
    std::fprintf(stderr, "embed-text: %zu classes x %zu templates, model %s (%s), %s\n", classes.size(),
                 templates.size(), encoder->info().id.c_str(), encoder->info().arch.c_str(), device.str().c_str());
    const auto protos = clip::class_prototypes(*encoder, classes, templates, args->batch, !args->common.quiet);
    BRAINSEM_CHECK(torch::isfinite(protos).all().item<bool>(), args->model,
                   ": the text tower produced non-finite embeddings; check the weights");
    data::ClassEmbeddings table;
    table.embeddings = protos;
    table.classes = classes;
    table.encoder = encoder->info().id;
    data::write_class_embeddings(args->out, table,
                                 {{"templates", nlohmann::json(templates).dump()},
                                  {"template_set", args->templates},
                                  {"model_path", args->model}});
    std::printf("embedded %zu classes x %zu templates -> %s (dim %lld, encoder %s)\n", classes.size(), templates.size(),
                args->out.c_str(), static_cast<long long>(protos.size(1)), encoder->info().id.c_str());
  });
});

}  // namespace
}  // namespace brainsem::app
