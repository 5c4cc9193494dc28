#pragma once
// The one place where an exception becomes what the user reads. apps/ prints it and exits 1.
// Library text never reaches the user raw: LibTorch's c10::Error loses its 20-line C++ backtrace,
// std::bad_alloc and nlohmann's type errors get a sentence that says what to do. With `verbose`
// the developer's details come back (the failed check's source line, LibTorch's backtrace).
#include <exception>
#include <string>

namespace brainsem::core {

// stderr text for `error` (one or two lines, each "brainsem: ...", each ending in '\n').
std::string describe_failure(const std::exception_ptr& error, bool verbose);

}  // namespace brainsem::core
