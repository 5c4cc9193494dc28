#pragma once
// The message of the brainsem::Error that `f` throws, or "" when it throws none: tests assert
// that a refusal names the file, the value and the fix.
#include <functional>
#include <string>

namespace brainsem::testing {

std::string error_of(const std::function<void()>& f);

}  // namespace brainsem::testing
