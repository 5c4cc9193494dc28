#include "brainsem/core/text.h"

#include "brainsem/core/atomic_file.h"
#include "brainsem/core/error.h"

namespace brainsem::core {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

std::vector<std::string> read_lines(const std::filesystem::path& path, const std::string& what) {
  const std::string text = read_text_file(path);
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    lines.push_back(trim(text.substr(pos, nl - pos)));
    pos = nl + 1;
  }
  for (size_t i = 0; i < lines.size(); ++i)
    BRAINSEM_CHECK(!lines[i].empty(), path.string(), ": line ", i + 1, " is empty; ", what,
                   " needs one non-empty entry per line");
  return lines;
}

std::string join(const std::vector<std::string>& items, const std::string& separator) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? separator : "") + items[i];
  return out;
}

}  // namespace brainsem::core
