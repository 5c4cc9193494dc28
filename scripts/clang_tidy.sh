#!/usr/bin/env bash
# Runs clang-tidy (.clang-tidy's checks) over the library and the program, using the compile
# commands of a configured build directory (it configures BUILD with compile commands exported).
# Usage: scripts/clang_tidy.sh [BUILD (default build-tidy)] [files...]   Needs Debian's clang-tidy.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-tidy}
shift || true
command -v clang-tidy >/dev/null || { echo "clang-tidy not found: apt-get install clang-tidy" >&2; exit 1; }
# Without the precompiled header: clang cannot read GCC's, and each file then stands on its own.
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBRAINSEM_PCH=OFF -DBRAINSEM_BUILD_TESTS=OFF \
  -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null
files=("$@")
[ ${#files[@]} -gt 0 ] || mapfile -t files < <(git ls-files 'src/*.cpp' 'apps/*.cpp')
# -std=c++17: Debian 12's clang 14 cannot parse LibTorch 1.13's headers as C++20 against libstdc++ 12
# (const IValue errors in std::vector). The project's sources parse as C++17 too; GCC builds them as C++20.
printf '%s\n' "${files[@]}" | xargs -P "$(nproc)" -n 4 clang-tidy -p "$build" --quiet --extra-arg=-std=c++17
echo "clang-tidy: ${#files[@]} files, no findings"
