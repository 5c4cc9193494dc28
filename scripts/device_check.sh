#!/usr/bin/env bash
# One short run on a borrowed GPU machine: builds BrainSem against that machine's PyTorch LibTorch
# (2.x with CUDA), runs the tests that exercise the device paths, then bench/run.sh --device cuda
# --quick, and prints its `name: value` figures (copy them into docs/performance.md). Aims at
# under 8 minutes on a 16-core machine; each stage prints its own time.
#
# Usage: scripts/device_check.sh [--device cuda|cuda:N|cpu] [--python PY] [--build DIR]
#   --device   default cuda; cpu rehearses the whole script on a machine without a GPU
#   --python   the Python whose torch provides LibTorch and the PyTorch side of the benchmarks
#              (default python3; its torch.utils.cmake_prefix_path locates TorchConfig.cmake;
#              Debian's python3-torch has none, and the system libtorch-dev is used instead)
#   --build    build folder (default build-device)
set -euo pipefail
cd "$(dirname "$0")/.."
device=cuda python=python3 build=build-device
while [ $# -gt 0 ]; do
  case "$1" in
    --device) device=$2; shift 2 ;;
    --python) python=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "device_check: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
stage() { echo "== [$(date +%T), ${SECONDS}s] $*"; }
stage "PyTorch: $("$python" -c 'import torch; print(torch.__version__, "cuda", torch.version.cuda, "gpus", torch.cuda.device_count())')"
prefix=$("$python" -c 'import torch, os; p = torch.utils.cmake_prefix_path; print(p if os.path.exists(p + "/Torch/TorchConfig.cmake") else "")')
if [ -n "$prefix" ]; then
  # PyTorch's wheels use the pre-C++11 string ABI unless built otherwise; follow what torch says.
  abi=$("$python" -c 'import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))')
  cmake_args=(-DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CXX_FLAGS="-D_GLIBCXX_USE_CXX11_ABI=$abi")
  stage "LibTorch from $prefix (C++11 ABI $abi)"
  # NCCL's header for the NCCL process group: the wheel's nvidia-nccl package, when torch has one.
  nccl=$("$python" -c 'import os, nvidia.nccl as n; p = os.path.join(list(n.__path__)[0], "include"); print(p if os.path.exists(p + "/nccl.h") else "")' 2>/dev/null || true)
  if [ -n "$nccl" ]; then cmake_args+=(-DNCCL_INCLUDE_DIR="$nccl"); stage "nccl.h in $nccl"; fi
else
  cmake_args=()
  stage "no TorchConfig.cmake in $python's torch: using the system LibTorch"
fi
if [[ "$device" == cuda* ]]; then
  "$python" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' ||
    { echo "device_check: $python sees no CUDA device; pass --device cpu to rehearse" >&2; exit 1; }
fi

stage "configure and build ($build)"
mkdir -p "$build"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBRAINSEM_BUILD_BENCH=ON "${cmake_args[@]}" \
  >"$build/configure.log" 2>&1 || { cat "$build/configure.log"; exit 1; }
grep 'torch.distributed' "$build/configure.log" || true  # Gloo, and NCCL when found
cmake --build "$build" -j "$(nproc)" | tail -1

stage "device-path tests on $device"
# The Device tests read BRAINSEM_TEST_DEVICE (tests/train/trainer_test.cpp); the rest of the suite is
# the README's test command and runs on the CPU.
(cd "$build" && BRAINSEM_TEST_DEVICE="$device" ctest -j "$(nproc)" --output-on-failure \
  -R 'ComputeTarget|Trainer\.|Device' | grep -E 'tests passed|Failed|Not Run')

stage "benchmarks on $device"
bench/run.sh --device "$device" --build "$build" --python "$python" --quick --no-retrieval | tee "$build/device_check.txt"
stage "done; figures: $build/device_check.txt"
