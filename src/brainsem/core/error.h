#pragma once
// Checked errors in the faiss style: every failure names what went wrong, where (file, key, row),
// and how to fix it. Library code throws brainsem::Error; only apps/ turns it into an exit code.
#include <sstream>
#include <stdexcept>
#include <string>

namespace brainsem {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& msg) : std::runtime_error(msg) {}
};

namespace detail {
inline void append(std::ostringstream&) {}
template <typename T, typename... Rest>
void append(std::ostringstream& os, const T& first, const Rest&... rest) {
  os << first;
  append(os, rest...);
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

}  // namespace brainsem

// BRAINSEM_CHECK(cond, "what", value, "; fix: ..."): throws brainsem::Error with the message.
#define BRAINSEM_CHECK(cond, ...)                  \
  do {                                             \
    if (!(cond)) ::brainsem::fail(__VA_ARGS__);    \
  } while (0)
