#!/usr/bin/env bash
# Times `brainsem cv` on a dataset of the shape of a small real study: 81 classes, one averaged
# response each, 696 voxels in 4 ROIs, 64-d class embeddings. The full protocol: every one of the
# 3240 leave-2-classes-out splits, alpha chosen by 5-fold class-grouped inner CV in each split and
# in each of 100 permutations. Prints wall time and peak RSS with one worker and with one worker
# per core (the default), their ratio, and checks that both print the same numbers.
# Usage: bench/cv_speed.sh BUILD_DIR   (needs python3 for the generator and /usr/bin/time)
set -euo pipefail
build=${1:?usage: bench/cv_speed.sh BUILD_DIR}
bin="$build/brainsem"
[ -x "$bin" ] || { echo "no $bin; build the project first" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$work" <<'PY'
import random, sys
out = sys.argv[1]
random.seed(1)
C, V, E = 81, 696, 64
emb = [[random.gauss(0, 1) for _ in range(E)] for _ in range(C)]
w = [[random.gauss(0, 1) for _ in range(V)] for _ in range(E)]
with open(f"{out}/betas.csv", "w") as f:
    for c in range(C):
        row = [sum(emb[c][e] * w[e][v] for e in range(E)) * 0.05 + random.gauss(0, 1) for v in range(V)]
        f.write(",".join("%.5f" % x for x in row) + "\n")
with open(f"{out}/emb.csv", "w") as f:
    for c in range(C):
        f.write(",".join("%.5f" % x for x in emb[c]) + "\n")
open(f"{out}/classes.txt", "w").write("".join("class%02d\n" % c for c in range(C)))
open(f"{out}/rois.txt", "w").write("".join(r + "\n" for r in ["V1"] * 200 + ["V2"] * 180 + ["V3"] * 160 + ["LOC"] * 156))
PY
"$bin" class-embeddings import --x "$work/emb.csv" --classes "$work/classes.txt" --encoder bench \
  --out "$work/targets.safetensors" >/dev/null
"$bin" data import --x "$work/betas.csv" --rois "$work/rois.txt" --classes "$work/classes.txt" \
  --out "$work/data.safetensors" >/dev/null
run() {  # $1 = label, rest = extra flags; prints "label seconds peak_kb"
  local label=$1
  shift
  /usr/bin/time -f "%e %M" -o "$work/time_$label" "$bin" cv -q --dataset "$work/data.safetensors" \
    --class-embeddings "$work/targets.safetensors" --methods ridge --max-splits 0 --permutations 100 \
    --json "$work/$label.json" "$@" >"$work/$label.txt"
  echo "$label $(cat "$work/time_$label")"
}
one=$(run one_worker --threads 1)
all=$(run per_core)
python3 - "$work" "$one" "$all" <<'PY'
import json, sys
work, one, per_core = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
a = json.load(open(f"{work}/one_worker.json"))["results"][0]
b = json.load(open(f"{work}/per_core.json"))["results"][0]
same = all(a[k] == b[k] for k in a if k != "seconds")
print(open(f"{work}/per_core.txt").read().strip())
print(f"one worker:        {float(one[1]):7.1f} s, peak RSS {int(one[2]) / 1024:.0f} MB")
print(f"one per core:      {float(per_core[1]):7.1f} s, peak RSS {int(per_core[2]) / 1024:.0f} MB")
print(f"identical numbers: {'yes' if same else 'NO'}")
print(f"cv_81x696_full_protocol_seconds: {float(per_core[1]):.1f}")
print(f"cv_81x696_full_protocol_peak_rss_mb: {int(per_core[2]) / 1024:.0f}")
print(f"cv_workers_speedup: {float(one[1]) / float(per_core[1]):.2f}")
sys.exit(0 if same else 1)
PY
