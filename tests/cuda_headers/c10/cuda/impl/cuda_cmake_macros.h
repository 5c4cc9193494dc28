#pragma once
// Stands in for the header that LibTorch's CUDA builds generate and its CPU packages do not install,
// so that tests/CMakeLists.txt can compile the NCCL branch against a CPU LibTorch. On Linux the real
// header defines only this symbol, whose value matters to Windows' DLL exports alone.
#define C10_CUDA_BUILD_SHARED_LIBS
