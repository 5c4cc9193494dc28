// GOD BData HDF5 files (`data inspect`, `data export`, every subject load). read_bdata tries each
// file in a child process first, so a crash inside libhdf5 (uninstrumented here) is reported as a
// corrupt file; what this target finds is a crash or sanitizer report in BrainSem's own reading.
#include "brainsem/io/bdata.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = brainsem::fuzz::input_file(data, size, ".h5");
  brainsem::fuzz::expect_result_or_refusal([&] {
    // 2 s for the child's read (the program allows a minute): a libhdf5 loop is not a finding.
    brainsem::io::BData b = brainsem::io::read_bdata(path, std::chrono::seconds(2));
    for (const auto& key : b.keys) {
      auto columns = b.columns(key);
      if (!columns.empty()) (void)b.select(key).sum().item<double>();
    }
  });
  return 0;
}
