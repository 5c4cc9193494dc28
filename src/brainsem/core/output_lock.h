#pragma once
// One writer per output. Two processes given the same --out once both "succeeded" while keeping
// half of each other's work; an exclusive flock(2) on a lock file beside the output makes the
// second one stop at once, naming the first. The lock file (".NAME.lock" in the output's parent
// folder) holds the owner's PID and is removed on release; a lock left by a killed process is
// released by the kernel, so a stale file never blocks.
#include <filesystem>
#include <vector>

namespace brainsem::core {

class OutputLock {
 public:
  // Takes the lock or throws brainsem::Error "OUT is in use by process PID".
  explicit OutputLock(const std::filesystem::path& output);
  ~OutputLock();
  OutputLock(const OutputLock&) = delete;
  OutputLock& operator=(const OutputLock&) = delete;

  const std::filesystem::path& lock_file() const { return lock_file_; }

 private:
  std::filesystem::path lock_file_;
  std::vector<std::filesystem::path> created_;  // folders made for the lock, innermost first
  int fd_ = -1;
};

}  // namespace brainsem::core
