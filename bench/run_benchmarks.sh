#!/usr/bin/env bash
# Runs the benchmarks built in BUILD_DIR (configure with -DBRAINSEM_BUILD_BENCH=ON) and prints
# images/s with ratios against the baselines measured in the same run:
#   Preprocess/PillowExact      vs Preprocess/TorchFloatAA  (LibTorch float antialiased bicubic)
#   Model/<tiny>/Ours           vs Model/<tiny>/TorchScript (the traced reference model)
#   Model/ViT-B16 bf16          vs Model/ViT-B16 fp32
#   EndToEnd/<model>/threads:2  vs EndToEnd/<model>/threads:1
# Usage: bench/run_benchmarks.sh BUILD_DIR [extra google-benchmark flags]
# Set BRAINSEM_BENCH_CUDA=1 to run the models on the GPU. Writes BUILD_DIR/bench_clip.json.
set -euo pipefail
build=${1:?usage: bench/run_benchmarks.sh BUILD_DIR}
shift || true
bin="$build/bench/clip_bench"
[ -x "$bin" ] || { echo "no $bin; configure with -DBRAINSEM_BUILD_BENCH=ON and build clip_bench" >&2; exit 1; }
json="$build/bench_clip.json"
OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE} "$bin" --benchmark_format=json --benchmark_out="$json" \
  --benchmark_out_format=json "$@" >/dev/null
python3 - "$json" <<'PY'
import json, sys
runs = {b["name"]: b for b in json.load(open(sys.argv[1]))["benchmarks"] if b.get("run_type", "iteration") == "iteration"}
ctx = json.load(open(sys.argv[1]))["context"]
print(f"host: {ctx.get('host_name','?')}, {ctx.get('num_cpus','?')} CPUs")
def ips(name):
    return runs[name]["items_per_second"] if name in runs else None
print(f"{'benchmark':45s} {'images/s':>10s}")
for n, b in runs.items():
    print(f"{n:45s} {b.get('items_per_second', 0):10.1f}")
print("\nratios (higher = faster than the baseline measured in this run):")
pairs = [("Preprocess/PillowExact", "Preprocess/TorchFloatAA")]
for m in ("TinyViT", "TinyRN"):
    pairs.append((f"Model/{m}/Ours", f"Model/{m}/TorchScript"))
b16 = [n for n in runs if n.startswith("Model/ViT-B16")]
bf = [n for n in b16 if "bf16:1" in n]; fp = [n for n in b16 if "bf16:0" in n]
if bf and fp: pairs.append((bf[0], fp[0]))
for m in ("TinyViT", "ViT-B16"):
    t2 = [n for n in runs if n.startswith(f"EndToEnd/{m}/threads:2")]
    t1 = [n for n in runs if n.startswith(f"EndToEnd/{m}/threads:1")]
    if t1 and t2: pairs.append((t2[0], t1[0]))
for a, b in pairs:
    if ips(a) and ips(b):
        print(f"  {a:40s} / {b:40s} = {ips(a)/ips(b):6.2f}x")
PY
