#pragma once
// Checked errors in the faiss style: every failure names what went wrong, where (file, key, row),
// and how to fix it. Library code throws brainsem::Error; only apps/ turns it into an exit code.
// A failed BRAINSEM_CHECK also records the expression and the source line it came from, which the
// program prints under the message (for bug reports; the message itself is for the user).
#include <cstring>
#include <sstream>
#include <stdexcept>
#include <string>

namespace brainsem {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& msg) : std::runtime_error(msg) {}
  Error(const std::string& msg, std::string expression, std::string file, int line)
      : std::runtime_error(msg), expression_(std::move(expression)), file_(std::move(file)), line_(line) {}
  // The failed check's condition, its source file (from src/ on) and line; empty / 0 for fail().
  const std::string& expression() const { return expression_; }
  const std::string& file() const { return file_; }
  int line() const { return line_; }
  // "src/brainsem/io/npy.cpp:88: check `rows > 0` failed", or "" when not raised by a check.
  std::string origin() const {
    if (file_.empty()) return {};
    return file_ + ":" + std::to_string(line_) + ": check `" + expression_ + "` failed";
  }

 private:
  std::string expression_, file_;
  int line_ = 0;
};

namespace detail {
inline void append(std::ostringstream&) {}
template <typename T, typename... Rest>
void append(std::ostringstream& os, const T& first, const Rest&... rest) {
  os << first;
  append(os, rest...);
}
// __FILE__ from the repository root on ("src/brainsem/..."), whatever the build's source path.
inline const char* source_relative(const char* file) {
  for (const char* root : {"/src/brainsem/", "/apps/", "/tests/"}) {
    if (const char* at = std::strstr(file, root)) return at + 1;
  }
  return file;
}
}  // namespace detail

// Concatenates its arguments with operator<< into one message.
template <typename... Args>
std::string cat(const Args&... args) {
  std::ostringstream os;
  detail::append(os, args...);
  return os.str();
}

template <typename... Args>
[[noreturn]] void fail(const Args&... args) {
  throw Error(cat(args...));
}

namespace detail {
template <typename... Args>
[[noreturn]] void fail_check(const char* expression, const char* file, int line, const Args&... args) {
  throw Error(cat(args...), expression, source_relative(file), line);
}
}  // namespace detail

}  // namespace brainsem

// BRAINSEM_CHECK(cond, "what", value, "; fix: ..."): throws brainsem::Error with the message,
// recording `cond` and file:line.
#define BRAINSEM_CHECK(cond, ...)                                                        \
  do {                                                                                   \
    if (!(cond)) ::brainsem::detail::fail_check(#cond, __FILE__, __LINE__, __VA_ARGS__); \
  } while (0)
