// Test entry point: the same runtime setup as the program (OMP_WAIT_POLICY) before any test.
#include <gtest/gtest.h>

#include "brainsem/core/runtime.h"
#include "testing/ranks.h"

int main(int argc, char** argv) {
  brainsem::core::ensure_runtime_env(argc, argv);
  // Started as one rank of a multi-process test: run that worker instead of the tests.
  if (const int rc = brainsem::testing::run_test_worker_if_asked(); rc >= 0) return rc;
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
