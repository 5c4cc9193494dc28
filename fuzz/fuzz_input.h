#pragma once
// Shared by the fuzz targets: the readers under test take paths (they memory-map or hand the
// file to libhdf5), so each input is written to one file per fuzzing process and read back.
// A brainsem::Error is the reader doing its job (a refused input); anything else that escapes,
// and every crash, leak or sanitizer report, is a finding.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "brainsem/core/error.h"

namespace brainsem::fuzz {

// TMPDIR/brainsem-fuzz-PID.EXT, rewritten with `data` on every call.
inline std::filesystem::path input_file(const uint8_t* data, size_t size, const char* ext) {
  static const std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("brainsem-fuzz-" + std::to_string(getpid()) + ext);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  out.close();
  if (!out) {
    std::perror("fuzz: cannot write the input file");
    std::abort();
  }
  return path;
}

// Runs `read`; a brainsem::Error (a refusal with a message) is an accepted outcome.
template <typename Read>
void expect_result_or_refusal(Read&& read) {
  try {
    read();
  } catch (const brainsem::Error&) {
  }
}

}  // namespace brainsem::fuzz
