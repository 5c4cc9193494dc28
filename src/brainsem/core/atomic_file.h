#pragma once
// Output files appear whole or not at all: write to a temporary beside the target, then rename.
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace brainsem::core {

// Calls write(tmp_path) and renames tmp_path onto `path` when it returns. If write throws, the
// temporary is removed and the exception propagates; `path` is untouched.
void write_atomically(const std::filesystem::path& path,
                      const std::function<void(const std::filesystem::path& tmp)>& write);

// Writes `text` to `path` atomically.
void write_text_atomically(const std::filesystem::path& path, const std::string& text);

// Reads a whole text file; throws brainsem::Error naming the file if it cannot be read.
std::string read_text_file(const std::filesystem::path& path);

// The same for a directory: build into DIR.tmp-PID, then rename onto DIR (which must not exist
// or must be empty). On failure the temporary directory is removed.
void build_directory_atomically(const std::filesystem::path& dir,
                                const std::function<void(const std::filesystem::path& tmp)>& build);

// Removes the temporaries write_atomically leaves in `dir` when its process is killed
// (".NAME.tmp-PID" whose PID is no longer running). Returns how many were removed.
int remove_stale_temporaries(const std::filesystem::path& dir);

// Refuses an output file before any work is done: one that is (the same file as) any of
// `inputs`, or that already exists unless `force`. `flag` names the option in the message.
void check_output_file(const std::filesystem::path& out, const std::vector<std::filesystem::path>& inputs, bool force,
                       const std::string& flag = "--out");

// True when a and b name the same file (both may be missing: then compared as absolute paths).
bool same_file(const std::filesystem::path& a, const std::filesystem::path& b);

}  // namespace brainsem::core
