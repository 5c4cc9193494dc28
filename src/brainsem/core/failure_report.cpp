#include "brainsem/core/failure_report.h"

#include <c10/util/Exception.h>

#include <new>
#include <nlohmann/json.hpp>

#include "brainsem/core/error.h"

namespace brainsem::core {

std::string describe_failure(const std::exception_ptr& error, bool verbose) {
  const std::string prefix = "brainsem: error: ";
  try {
    std::rethrow_exception(error);
  } catch (const brainsem::Error& e) {
    std::string text = prefix + e.what() + "\n";
    if (verbose && !e.origin().empty()) text += "brainsem: (raised at " + e.origin() + ")\n";
    return text;
  } catch (const c10::Error& e) {
    if (verbose) return prefix + "LibTorch refused an operation: " + e.what() + "\n";
    return prefix + "LibTorch refused an operation: " + e.what_without_backtrace() +
           "\nbrainsem: (brainsem --verbose ... prints LibTorch's backtrace)\n";
  } catch (const std::bad_alloc&) {
    return prefix +
           "out of memory: the inputs or the configuration need more memory than this machine has free; "
           "reduce --batch, the library size or the number of images per class, or use a larger machine\n";
  } catch (const nlohmann::json::exception& e) {
    return prefix + "a JSON file or value has an unexpected shape (" + e.what() +
           "); check the file the command read last against its format in docs/\n";
  } catch (const std::exception& e) {
    return prefix + e.what() + "\n";
  } catch (...) {
    return prefix + "an unknown error stopped the program (not a C++ exception); rerun with --verbose and report it\n";
  }
}

}  // namespace brainsem::core
