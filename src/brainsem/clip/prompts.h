#pragma once
// Prompt templates for CLIP text prototypes: the built-in sets, template files and filling a
// template with a class name.
#include <filesystem>
#include <string>
#include <vector>

namespace brainsem::clip {

// Template sets: "default" = {"a photo of a {}."}; "imagenet80" = OpenAI's 80 ImageNet prompts
// (CLIP repo notebook Prompt_Engineering_for_ImageNet.ipynb). Throws for other names.
std::vector<std::string> builtin_templates(const std::string& name);
// A template file: one template per line (blank lines and lines starting with '#' skipped); each
// must contain "{}". Throws naming the file and line.
std::vector<std::string> read_templates_file(const std::filesystem::path& path);
// Every "{}" in `tmpl` replaced by `name` (as Python's str.format with one positional field).
std::string fill_template(const std::string& tmpl, const std::string& name);

}  // namespace brainsem::clip
