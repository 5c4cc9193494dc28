#!/usr/bin/env bash
# Builds the fuzz targets (fuzz/, clang + libFuzzer + ASan/UBSan) in build-fuzz/ and runs each one
# for a bounded time from its seed corpus (written by fuzz/make_seeds with the program's own
# writers). Exits non-zero, naming the target and the saved input, if any target crashes, leaks,
# trips a sanitizer, lets a non-BrainSem exception escape, runs over 10 s on one input or over
# 2 GB of memory.
#   scripts/fuzz.sh [--seconds S] [TARGET...]     (default: 20 s each, every target)
# Inputs found along the way stay in build-fuzz/corpus/<target>/; a failing input is written to
# build-fuzz/findings/ and can be replayed with build-fuzz/fuzz_<target> FILE.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=20
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds)
      [[ "${2:-}" =~ ^[1-9][0-9]*$ ]] || { echo "fuzz: --seconds needs a positive whole number" >&2; exit 2; }
      seconds="$2"; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    -*) echo "fuzz: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
all_targets=(safetensors npy bdata checkpoint tokenizer image)
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")
for target in "${targets[@]}"; do
  [[ " ${all_targets[*]} " == *" $target "* ]] \
    || { echo "fuzz: unknown target '$target' (targets: ${all_targets[*]})" >&2; exit 2; }
done
for tool in clang-14 clang++-14; do
  command -v "$tool" > /dev/null || { echo "fuzz: $tool not found; run scripts/install_deps.sh --fuzz" >&2; exit 1; }
done

build=build-fuzz
mkdir -p "$build"
cmake -S fuzz -B "$build" -G Ninja -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 > "$build/configure.log" 2>&1 \
  || { cat "$build/configure.log" >&2; exit 1; }
cmake --build "$build"
mkdir -p "$build/seeds" "$build/findings"
"$build/make_seeds" "$build/seeds"

# LeakSanitizer runs in every target (leaks inside libhdf5 itself are suppressed: fuzz/lsan.supp);
# an allocation over -malloc_limit_mb is a finding.
export ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1"
export LSAN_OPTIONS="suppressions=$PWD/fuzz/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
failed=()
for target in "${targets[@]}"; do
  corpus="$build/corpus/$target"
  mkdir -p "$corpus"
  echo "fuzz: $target for $seconds s (corpus $corpus, seeds $build/seeds/$target)"
  if "$build/fuzz_$target" "$corpus" "$build/seeds/$target" -max_total_time="$seconds" -timeout=10 \
      -rss_limit_mb=2048 -malloc_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$build/findings/$target-" > "$build/$target.log" 2>&1; then
    grep -E "^(stat::number_of_executed_units|stat::new_units_added)" "$build/$target.log" | tr '\n' ' '
    echo
  else
    tail -40 "$build/$target.log"
    failed+=("$target")
  fi
done
rm -f "${TMPDIR:-/tmp}"/brainsem-fuzz-*
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: FAILED: ${failed[*]} (inputs in $build/findings/, logs in $build/<target>.log)" >&2
  exit 1
fi
echo "fuzz: all ${#targets[@]} targets ran $seconds s each without a finding"
