#!/usr/bin/env bash
# BrainSem against the PyTorch code its users would otherwise run, measured in one run on this
# machine (docs/performance.md explains each figure):
#   training step (batch 200, P = 2000 and 1000, depth 6/12/24 with heads 4/8/16):
#     bench/compare_bench train-step (the step and its GEMM-bound time: the step's own matrix
#     products timed alone) against scripts/bench_pytorch.py train-step, eager as users run it,
#     eager with BrainSem's runtime settings (OMP_WAIT_POLICY=PASSIVE, malloc tunables), and on
#     PyTorch 2.x torch.compile;
#   image embedding (CLIP ViT-B/16 shapes, random weights) from a folder of JPEGs: decode+preprocess
#     only, model only, end to end, against Pillow + torchvision-style transforms + a DataLoader
#     with as many workers as BrainSem's decode threads; BrainSem's --fast-jpeg decode too, with
#     its difference from the Pillow-exact crops;
#   retrieval over a 1M-row store (bench/retrieval_scale.sh).
# Every time is printed with the peak RSS of the process that took it (one process per run). The
# last lines are `name: value`, one figure a line.
#
# Usage: bench/run.sh [--device cpu|cuda[:N]] [--build DIR] [--python PY] [--steps N] [--quick]
#                     [--no-retrieval]
#   --build DIR     build folder (default build; reconfigured with -DBRAINSEM_BUILD_BENCH=ON, which
#                   adds the bench programs to an existing build)
#   --python PY     the Python with torch, PIL and numpy (default /usr/bin/python3: Debian's
#                   python3-torch python3-pil python3-numpy; scripts/install_deps.sh --bench)
#   --steps N       timed training steps per configuration (default 3, after one warm-up step)
#   --quick         P = 1000 and depth 6 and 24 only, 32 images (about half the time)
#   --no-retrieval  skip the 1M-row retrieval (it writes a 2 GB store to $TMPDIR)
# Takes about 15 minutes on 2 CPU cores.
set -euo pipefail
cd "$(dirname "$0")/.."
device=cpu build=build python=/usr/bin/python3 steps=3 quick=0 retrieval=1
while [ $# -gt 0 ]; do
  case "$1" in
    --device) device=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --python) python=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --quick) quick=1; shift ;;
    --no-retrieval) retrieval=0; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
"$python" -c 'import torch, PIL, numpy' 2>/dev/null || {
  echo "bench/run.sh: $python cannot import torch, PIL and numpy; on Debian run scripts/install_deps.sh --bench" \
       "(python3-torch python3-pil python3-numpy), or pass --python" >&2
  exit 1
}
threads=$(nproc)
echo "== building $build (brainsem, compare_bench)"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBRAINSEM_BUILD_BENCH=ON >/dev/null
cmake --build "$build" --target brainsem compare_bench -j "$threads" | tail -1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
results="$work/results.jsonl"
: >"$results"

# BrainSem's process sets its own runtime environment (core/runtime.h); PyTorch runs as users run it,
# and once more with the same settings so the comparison shows where a difference comes from.
tunables=glibc.malloc.mmap_threshold=4294967295:glibc.malloc.trim_threshold=4294967295
user_env=(env -u OMP_WAIT_POLICY -u GLIBC_TUNABLES)
same_env=(env OMP_WAIT_POLICY=PASSIVE "GLIBC_TUNABLES=$tunables")
has_compile=$("$python" -c 'import torch; print(int(hasattr(torch, "compile")))')

widths=(2000 1000) shapes=("6 4" "12 8" "24 16") images=64
[ "$quick" = 1 ] && widths=(1000) shapes=("6 4" "24 16") images=32
for p in "${widths[@]}"; do
  for shape in "${shapes[@]}"; do
    read -r depth heads <<<"$shape"
    echo "== training step: P $p, depth $depth, heads $heads ($device)"
    args=(train-step --token-width "$p" --depth "$depth" --heads "$heads" --steps "$steps")
    "$build/bench/compare_bench" --threads "$threads" --device "$device" "${args[@]}" | tee -a "$results"
    "${user_env[@]}" "$python" scripts/bench_pytorch.py --threads "$threads" --device "$device" "${args[@]}" \
      | tee -a "$results"
    "${same_env[@]}" "$python" scripts/bench_pytorch.py --threads "$threads" --device "$device" \
      --label pytorch-eager-same-env "${args[@]}" | tee -a "$results"
    if [ "$has_compile" = 1 ]; then
      "${user_env[@]}" "$python" scripts/bench_pytorch.py --threads "$threads" --device "$device" "${args[@]}" \
        --compile | tee -a "$results"
    fi
  done
done

echo "== image embedding: $images JPEGs, 500x375 ($device)"
"$python" - "$work/jpeg" "$images" <<'PY'
import os, sys
from PIL import Image
out, count = sys.argv[1], int(sys.argv[2])
os.makedirs(out)
src = os.environ.get("BRAINSEM_SHARED_DIR", "../shared") + "/images/k92"
files = sorted(f for f in os.listdir(src) if f.lower().endswith((".png", ".jpg"))) if os.path.isdir(src) else []
for i in range(count):
    if files:  # photographs when the shared folder is there, else smooth generated images
        im = Image.open(os.path.join(src, files[i % len(files)])).convert("RGB").resize((500, 375), Image.BICUBIC)
    else:
        im = Image.radial_gradient("L").resize((500, 375)).convert("RGB").rotate(i * 7)
    im.save(os.path.join(out, f"img{i:04d}.jpg"), quality=90)
PY
"$build/bench/compare_bench" --threads "$threads" --device "$device" embed --images "$work/jpeg" --count "$images" \
  | tee -a "$results"
"${user_env[@]}" "$python" scripts/bench_pytorch.py --threads "$threads" --device "$device" embed \
  --images "$work/jpeg" --count "$images" | tee -a "$results"

if [ "$retrieval" = 1 ]; then
  echo "== retrieval over a 1,000,000-row store"
  bench/retrieval_scale.sh "$build" | tee "$work/retrieval.txt"
fi

echo
"$python" - "$results" "$device" "$work/retrieval.txt" <<'PY'
import json, os, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
device = sys.argv[2]
tag = "gpu" if device.startswith("cuda") else "cpu"
steps = [r for r in rows if r["mode"] == "train-step"]
def find(impl, p, depth):
    return next((r for r in steps if r["impl"] == impl and r["token_width"] == p and r["depth"] == depth), None)
# Each time with the peak RSS of the process that took it (MB), as "ms (MB)".
print(f"{'P':>5} {'depth':>5} {'brainsem ms (MB)':>17} {'gemm ms':>8} {'step/gemm':>9} {'eager ms (MB)':>15} "
      f"{'same-env ms (MB)':>17} {'compile ms (MB)':>16} {'vs eager':>8}")
fmt = lambda x: f"{x['step_ms']:.1f} ({x['peak_rss_mb']:.0f})" if x else "-"
for r in (r for r in steps if r["impl"] == "brainsem"):
    e = find("pytorch-eager", r["token_width"], r["depth"])
    s = find("pytorch-eager-same-env", r["token_width"], r["depth"])
    c = find("pytorch-compile", r["token_width"], r["depth"])
    print(f"{r['token_width']:>5} {r['depth']:>5} {fmt(r):>17} {r['gemm_ms']:>8.1f} "
          f"{r['step_ms'] / r['gemm_ms']:>9.2f} {fmt(e):>15} {fmt(s):>17} {fmt(c):>16} "
          f"{e['step_ms'] / r['step_ms']:>7.2f}x")
emb = {r["impl"]: r for r in rows if r["mode"] == "embed"}
for impl, r in emb.items():
    workers = f", largest worker {r['peak_rss_worker_mb']:.0f} MB" if "peak_rss_worker_mb" in r else ""
    print(f"embed {impl:15s} decode+preprocess {r['decode_preprocess_images_per_s']:8.1f} img/s, "
          f"model {r['model_images_per_s']:7.2f} img/s, end to end {r['end_to_end_images_per_s']:7.2f} img/s, "
          f"peak RSS {r['peak_rss_mb']:.0f} MB{workers}")
    if "fast_jpeg_end_to_end_images_per_s" in r:
        print(f"embed {impl + ' --fast-jpeg':15s} decode+preprocess "
              f"{r['fast_jpeg_decode_preprocess_images_per_s']:8.1f} img/s, end to end "
              f"{r['fast_jpeg_end_to_end_images_per_s']:7.2f} img/s; crops differ from Pillow-exact by "
              f"{r['fast_jpeg_mean_abs_levels']:.2f} levels on average, {r['fast_jpeg_max_abs_levels']:.0f} at most")

figures = {}
ours = [r for r in steps if r["impl"] == "brainsem"]
p_god = min((r["token_width"] for r in ours), key=lambda p: abs(p - 1000))
for r in ours:  # at the GOD-sized P
    if r["token_width"] != p_god:
        continue
    figures[f"{tag}_train_step_vs_gemm_bound_depth{r['depth']}"] = r["step_ms"] / r["gemm_ms"]
    for impl, name in (("pytorch-eager", "pytorch"), ("pytorch-eager-same-env", "pytorch_same_env")):
        other = find(impl, r["token_width"], r["depth"])
        if other:
            figures[f"{tag}_train_step_speedup_vs_{name}_depth{r['depth']}"] = other["step_ms"] / r["step_ms"]
    best = [x["step_ms"] for x in steps if x["impl"].startswith("pytorch") and x["token_width"] == p_god
            and x["depth"] == r["depth"]]
    if best:
        figures[f"{tag}_train_step_speedup_vs_pytorch_best_depth{r['depth']}"] = min(best) / r["step_ms"]
worst = max(ours, key=lambda r: r["step_ms"] / r["gemm_ms"]) if ours else None
if worst:
    figures[f"{tag}_train_step_vs_gemm_bound"] = worst["step_ms"] / worst["gemm_ms"]  # the worst configuration
if "brainsem" in emb and "pil-dataloader" in emb:
    a, b = emb["brainsem"], emb["pil-dataloader"]
    figures[f"{tag}_embed_end_to_end_speedup_vs_pil_dataloader"] = a["end_to_end_images_per_s"] / b["end_to_end_images_per_s"]
    figures[f"{tag}_embed_end_to_end_vs_model_only"] = a["end_to_end_images_per_s"] / a["model_images_per_s"]
    figures[f"{tag}_embed_end_to_end_images_per_s"] = a["end_to_end_images_per_s"]
    figures[f"{tag}_embed_pil_dataloader_images_per_s"] = b["end_to_end_images_per_s"]
if "brainsem" in emb and "fast_jpeg_end_to_end_images_per_s" in emb["brainsem"]:
    a = emb["brainsem"]
    figures[f"{tag}_embed_fast_jpeg_end_to_end_vs_model_only"] = a["fast_jpeg_end_to_end_images_per_s"] / a["model_images_per_s"]
    figures[f"{tag}_embed_fast_jpeg_decode_speedup"] = (a["fast_jpeg_decode_preprocess_images_per_s"]
                                                        / a["decode_preprocess_images_per_s"])
    figures[f"{tag}_embed_fast_jpeg_mean_abs_levels"] = a["fast_jpeg_mean_abs_levels"]
if os.path.exists(sys.argv[3]):
    for line in open(sys.argv[3]):
        name, sep, value = line.partition(": ")
        if sep and name.startswith("retrieval_") and " " not in name:
            figures[name] = float(value)
for name, value in figures.items():
    print(f"{name}: {value:.3f}" if isinstance(value, float) and value < 100 else f"{name}: {value:.1f}")
PY
