#!/usr/bin/env bash
# Training speed with the runtime settings brainsem makes itself (core/runtime.h) against glibc's
# default allocator settings, measured in the same run on the same generated subject, and a check
# that both print the same scores (the setting must not change a number).
#   default:  brainsem as users run it (OMP_WAIT_POLICY=PASSIVE, GLIBC_TUNABLES=kMallocTunables)
#   baseline: BRAINSEM_NO_REEXEC=1 OMP_WAIT_POLICY=PASSIVE (freed large blocks go back to the kernel)
# Usage: bench/train_runtime.sh BUILD_DIR [steps (default 90)]
set -euo pipefail
build=${1:?usage: bench/train_runtime.sh BUILD_DIR [steps]}
steps=${2:-90}
bin="$build/brainsem"
[ -x "$bin" ] || { echo "no $bin; build the program first" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$bin" synth --out "$work/data" --subjects 1 --seed 7 --library-per-class 100 -q
train() {  # $1 = run name, rest = env assignments
  local name=$1; shift
  local start end
  start=$(date +%s.%N)
  env -u GLIBC_TUNABLES -u OMP_WAIT_POLICY -u BRAINSEM_NO_REEXEC "$@" "$bin" train \
    --subject "$work/data/Subject1.h5" --stimuli "$work/data/stimuli.safetensors" \
    --library "$work/data/library_train.safetensors" --out "$work/$name" --steps "$steps" >"$work/$name.log" 2>&1
  end=$(date +%s.%N)
  python3 -c "print(f'{$steps / ($end - $start):.2f}')"
}
baseline=$(train baseline BRAINSEM_NO_REEXEC=1 OMP_WAIT_POLICY=PASSIVE)
default=$(train default)
echo "train steps/s (whole process, $steps steps, $(nproc) CPUs): default $default, glibc-default allocator $baseline"
python3 -c "print(f'ratio default / baseline = {$default / $baseline:.2f}x')"
python3 - "$work/default/results.json" "$work/baseline/results.json" <<'PY'
import json, sys
a, b = (json.load(open(p))["scores"] for p in sys.argv[1:])
same = [(x["method"], x["prototype"], x["top1"], x["top5"]) for x in a] == [(x["method"], x["prototype"], x["top1"], x["top5"]) for x in b]
print("scores identical:", same)
sys.exit(0 if same else 1)
PY
