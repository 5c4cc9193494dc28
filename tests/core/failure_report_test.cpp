// What the user reads when a command fails: every kind of exception the program can meet, raised
// for real (LibTorch's c10::Error from a real operation, nlohmann's from a real parse).
#include "brainsem/core/failure_report.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <new>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "brainsem/core/error.h"

namespace {

using brainsem::core::describe_failure;

template <typename Throw>
std::exception_ptr caught(Throw&& raise) {
  try {
    raise();
  } catch (...) {
    return std::current_exception();
  }
  ADD_FAILURE() << "nothing was thrown";
  return nullptr;
}

// A real c10::Error (TORCH_CHECK in ATen), with its C++ backtrace in what().
std::exception_ptr libtorch_error() {
  return caught([] { (void)torch::mm(torch::ones({2, 3}), torch::ones({2, 3})); });
}

TEST(FailureReport, ALibTorchErrorLosesItsBacktraceAndSaysHowToGetIt) {
  const std::string text = describe_failure(libtorch_error(), /*verbose=*/false);
  EXPECT_EQ(text.rfind("brainsem: error: LibTorch refused an operation: mat1 and mat2 shapes cannot be "
                       "multiplied (2x3 and 2x3)\n",
                       0),
            0u)
      << text;
  EXPECT_EQ(text.find("Exception raised from"), std::string::npos) << text;
  EXPECT_EQ(text.find("frame #"), std::string::npos) << text;
  EXPECT_NE(text.find("brainsem --verbose ... prints LibTorch's backtrace"), std::string::npos);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 2) << text;
}

TEST(FailureReport, VerboseKeepsLibTorchsBacktrace) {
  const std::string text = describe_failure(libtorch_error(), /*verbose=*/true);
  EXPECT_NE(text.find("mat1 and mat2 shapes cannot be multiplied (2x3 and 2x3)"), std::string::npos) << text;
  EXPECT_NE(text.find("Exception raised from"), std::string::npos) << text;
  EXPECT_EQ(text.find("--verbose ... prints"), std::string::npos);
}

TEST(FailureReport, ACheckNamesItsSourceLineOnlyWhenVerbose) {
  const auto error = caught([] { BRAINSEM_CHECK(1 + 1 == 3, "x.npy: row 4 is not finite; fix the file"); });
  EXPECT_EQ(describe_failure(error, false), "brainsem: error: x.npy: row 4 is not finite; fix the file\n");
  const std::string verbose = describe_failure(error, true);
  EXPECT_EQ(verbose.rfind("brainsem: error: x.npy: row 4 is not finite; fix the file\nbrainsem: (raised at "
                          "tests/core/failure_report_test.cpp:",
                          0),
            0u)
      << verbose;
  EXPECT_NE(verbose.find("check `1 + 1 == 3` failed)"), std::string::npos) << verbose;
}

TEST(FailureReport, LibraryExceptionsBecomeSentencesThatSayWhatToDo) {
  const std::string oom = describe_failure(caught([] { throw std::bad_alloc(); }), false);
  EXPECT_EQ(oom.rfind("brainsem: error: out of memory: ", 0), 0u) << oom;
  EXPECT_NE(oom.find("reduce --batch"), std::string::npos);
  EXPECT_EQ(oom.find("std::bad_alloc"), std::string::npos);

  const std::string json =
      describe_failure(caught([] { [[maybe_unused]] auto doc = nlohmann::json::parse("{\"seed\": }"); }), false);
  EXPECT_EQ(json.rfind("brainsem: error: a JSON file or value has an unexpected shape ([json.exception.parse_error", 0),
            0u)
      << json;
  EXPECT_NE(json.find("against its format in docs/"), std::string::npos);

  EXPECT_EQ(describe_failure(caught([] { throw std::runtime_error("disk full writing run/log.jsonl"); }), false),
            "brainsem: error: disk full writing run/log.jsonl\n");
  const std::string unknown = describe_failure(caught([] { throw 42; }), false);
  EXPECT_EQ(unknown.rfind("brainsem: error: an unknown error stopped the program", 0), 0u) << unknown;
}

}  // namespace
