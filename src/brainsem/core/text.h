#pragma once
// Plain-text inputs users write by hand (class lists, ROI labels, image lists).
#include <filesystem>
#include <string>
#include <vector>

namespace brainsem::core {

// `s` without surrounding spaces, tabs, '\r' and '\n'.
std::string trim(const std::string& s);

// A text file with one entry per line: each line trimmed, one final newline allowed. Throws naming
// the file and line for an empty line; `what` says what the file is ("the class file (one class
// name per sample)").
std::vector<std::string> read_lines(const std::filesystem::path& path, const std::string& what);

// The items separated by `separator` ("a, b, c").
std::string join(const std::vector<std::string>& items, const std::string& separator = ", ");

}  // namespace brainsem::core
