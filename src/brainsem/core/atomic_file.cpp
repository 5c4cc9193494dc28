#include "brainsem/core/atomic_file.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>

#include <fstream>
#include <sstream>

#include "brainsem/core/error.h"

namespace fs = std::filesystem;

namespace brainsem::core {

namespace {
fs::path temp_beside(const fs::path& path) {
  fs::path parent = path.parent_path();
  if (parent.empty()) parent = ".";
  return parent / ("." + path.filename().string() + ".tmp-" + std::to_string(getpid()));
}
}  // namespace

void write_atomically(const fs::path& path, const std::function<void(const fs::path&)>& write) {
  fs::path parent = path.parent_path();
  BRAINSEM_CHECK(parent.empty() || fs::is_directory(parent), "cannot write ", path, ": directory ", parent,
                 " does not exist; create it first");
  fs::path tmp = temp_beside(path);
  try {
    write(tmp);
  } catch (...) {
    std::error_code ec;
    fs::remove(tmp, ec);
    throw;
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    fail("cannot write ", path, ": ", ec.message());
  }
}

void write_text_atomically(const fs::path& path, const std::string& text) {
  write_atomically(path, [&](const fs::path& tmp) {
    std::ofstream out(tmp, std::ios::binary);
    BRAINSEM_CHECK(out, "cannot open ", tmp, " for writing");
    out << text;
    out.close();
    BRAINSEM_CHECK(out, "write to ", tmp, " failed (disk full?)");
  });
}

std::string read_text_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  BRAINSEM_CHECK(in, "cannot read ", path, ": no such file or not readable");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void build_directory_atomically(const fs::path& dir, const std::function<void(const fs::path&)>& build) {
  BRAINSEM_CHECK(!fs::exists(dir) || (fs::is_directory(dir) && fs::is_empty(dir)), "output directory ", dir,
                 " already exists and is not empty; choose another --out or remove it");
  fs::path tmp = temp_beside(dir);
  std::error_code ec;
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp);
  try {
    build(tmp);
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
  if (fs::exists(dir)) fs::remove(dir, ec);
  fs::rename(tmp, dir, ec);
  if (ec) {
    fs::remove_all(tmp, ec);
    fail("cannot create ", dir, ": ", ec.message());
  }
}

int remove_stale_temporaries(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return 0;
  int removed = 0;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    const size_t at = name.rfind(".tmp-");
    if (name.empty() || name[0] != '.' || at == std::string::npos || !e.is_regular_file(ec)) continue;
    const std::string pid_text = name.substr(at + 5);
    if (pid_text.empty() || pid_text.size() > 9 || pid_text.find_first_not_of("0123456789") != std::string::npos)
      continue;
    const pid_t pid = static_cast<pid_t>(std::stol(pid_text));
    // Only a writer that is gone: a live PID (ours, or a reused one) keeps its file.
    if (pid != getpid() && ::kill(pid, 0) != 0 && errno == ESRCH && fs::remove(e.path(), ec)) ++removed;
  }
  return removed;
}

bool same_file(const fs::path& a, const fs::path& b) {
  std::error_code ea, eb;
  if (fs::exists(a, ea) && fs::exists(b, eb)) return fs::equivalent(a, b);
  return fs::weakly_canonical(fs::absolute(a)) == fs::weakly_canonical(fs::absolute(b));
}

void check_output_file(const fs::path& out, const std::vector<fs::path>& inputs, bool force, const std::string& flag) {
  for (const auto& in : inputs)
    if (!in.empty() && same_file(out, in))
      fail(flag, " ", out, " is also an input of this command; writing it would destroy that input. Choose another ",
           flag);
  if (!force && fs::exists(out))
    fail(flag, " ", out, " already exists; pass --force to overwrite it, or choose another ", flag);
}

}  // namespace brainsem::core
