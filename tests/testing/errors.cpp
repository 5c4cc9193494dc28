#include "testing/errors.h"

#include "brainsem/core/error.h"

namespace brainsem::testing {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace brainsem::testing
