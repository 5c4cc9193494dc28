// Test entry point: the same runtime setup as the program (OMP_WAIT_POLICY) before any test.
#include <gtest/gtest.h>

#include "brainsem/core/runtime.h"

int main(int argc, char** argv) {
  brainsem::core::ensure_runtime_env(argc, argv);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
