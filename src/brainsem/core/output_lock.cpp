#include "brainsem/core/output_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "brainsem/core/error.h"

namespace fs = std::filesystem;

namespace brainsem::core {

namespace {
fs::path lock_path_for(const fs::path& output) {
  fs::path abs = fs::absolute(output).lexically_normal();
  if (abs.filename().empty()) abs = abs.parent_path();  // "runs/s1/" names runs/s1
  return abs.parent_path() / ("." + abs.filename().string() + ".lock");
}

std::string owner_of(int fd) {
  char buf[32] = {};
  if (pread(fd, buf, sizeof buf - 1, 0) <= 0) return "unknown";
  std::string pid(buf);  // zero-filled and read one short, so always terminated
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
  return pid.empty() ? "unknown" : pid;
}
}  // namespace

OutputLock::OutputLock(const fs::path& output) : lock_file_(lock_path_for(output)) {
  // Folders made only to hold the lock are removed again on release if still empty, so a
  // command that fails leaves nothing behind.
  for (fs::path p = lock_file_.parent_path(); !p.empty() && !fs::exists(p); p = p.parent_path()) created_.push_back(p);
  std::error_code ec;
  fs::create_directories(lock_file_.parent_path(), ec);
  // Retry when the file we locked was removed (released by its owner) between our open and our
  // flock: a lock on an unlinked file protects nothing.
  for (int attempt = 0; attempt < 100; ++attempt) {
    const int fd = ::open(lock_file_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) fail("cannot create the lock file ", lock_file_, " for ", output, ": ", std::strerror(errno));
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      const std::string owner = owner_of(fd);
      ::close(fd);
      if (err == EWOULDBLOCK)
        fail(output, " is in use by process ", owner, " (lock ", lock_file_,
             "); wait for it to finish or choose another output");
      fail("cannot lock ", lock_file_, " for ", output, ": ", std::strerror(err));
    }
    struct stat held {
    }, now{};
    if (::fstat(fd, &held) == 0 && ::stat(lock_file_.c_str(), &now) == 0 && held.st_ino == now.st_ino &&
        held.st_dev == now.st_dev) {
      const std::string pid = std::to_string(::getpid()) + "\n";
      if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
        // The lock holds without the PID; only the message of a second process loses detail.
      }
      fd_ = fd;
      return;
    }
    ::close(fd);
  }
  fail("cannot lock ", lock_file_, " for ", output, ": the lock file keeps being replaced");
}

OutputLock::~OutputLock() {
  if (fd_ < 0) return;
  ::unlink(lock_file_.c_str());  // before the unlock, so a waiter re-checks and retries
  ::close(fd_);
  std::error_code ec;
  for (const auto& dir : created_) fs::remove(dir, ec);  // innermost first; a non-empty one stays
}

}  // namespace brainsem::core
