#!/usr/bin/env bash
# Retrieval over a large store: a one-subject demo run's 50 test fMRI queries ranked against a
# generated feature store of ROWS rows (default 1,000,000; the run's feature width), every row in
# the pool (--subset ROWS). The baseline in the same run is the default 10,000-row pool of the same
# store. Prints wall time and peak RSS of each; the store stays memory-mapped, so the RSS includes
# the store's pages while the kernel keeps them resident (page cache, not copies).
# Usage: bench/retrieval_scale.sh BUILD_DIR [ROWS]   (needs python3 and /usr/bin/time; ROWS x width
# x 4 bytes of free disk in $TMPDIR)
set -euo pipefail
build=${1:?usage: bench/retrieval_scale.sh BUILD_DIR [ROWS]}
rows=${2:-1000000}
bin="$build/brainsem"
[ -x "$bin" ] || { echo "no $bin; build the project first" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "training a one-subject demo run (a few seconds) ..."
"$bin" demo -q --out "$work/demo" --subjects 1 --no-ablation --no-report --library-per-class 2 --steps 20 >/dev/null
run="$work/demo/runs/Subject1"
python3 - "$work/demo/data/stimuli.safetensors" "$work/big.safetensors" "$rows" <<'PY'
import json, random, struct, sys
src, out, rows = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(src, "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    header = json.loads(f.read(n))
width = header["features"]["shape"][1]
meta = dict(header["__metadata__"])
meta["names"] = json.dumps(["img%08d" % i for i in range(rows)])
meta["classes"] = json.dumps(["class%04d" % (i % 1000) for i in range(rows)])
meta.pop("skipped", None)
nbytes = rows * width * 4
head = json.dumps({"__metadata__": meta,
                   "features": {"dtype": "F32", "shape": [rows, width], "data_offsets": [0, nbytes]}}).encode()
head += b" " * (-len(head) % 8)
random.seed(0)
distinct = 4099  # rows repeat with this period: enough for timing, cheap to write
block = struct.pack("<%df" % (distinct * width), *[random.gauss(0, 1) for _ in range(distinct * width)])
with open(out, "wb") as f:
    f.write(struct.pack("<Q", len(head)))
    f.write(head)
    full, rest = divmod(rows, distinct)
    for _ in range(full):
        f.write(block)
    f.write(block[: rest * width * 4])
print(f"store: {rows} rows x {width} float32 ({nbytes / 2**30:.2f} GiB)")
PY
measure() {  # $1 = label, $2 = subset
  /usr/bin/time -f "%e %M" -o "$work/time_$1" "$bin" retrieve -q --run "$run" --store "$work/big.safetensors" \
    --subset "$2" --out "$work/$1" >/dev/null
  read -r seconds kb <"$work/time_$1"
  echo "$1 $seconds $kb"
}
small=$(measure pool_10k 10000)
large=$(measure pool_all "$rows")
python3 - "$small" "$large" "$rows" <<'PY'
import sys
s, l, rows = sys.argv[1].split(), sys.argv[2].split(), int(sys.argv[3])
print(f"pool 10,000 rows:   {float(s[1]):7.1f} s, peak RSS {int(s[2]) / 1024:6.0f} MB (open + scan of the whole store included)")
print(f"pool {rows:,} rows: {float(l[1]):7.1f} s, peak RSS {int(l[2]) / 1024:6.0f} MB")
tag = "1m" if rows == 1000000 else str(rows)
print(f"retrieval_{tag}_seconds: {float(l[1]):.1f}")
print(f"retrieval_{tag}_peak_rss_mb: {int(l[2]) / 1024:.0f}")
print(f"retrieval_{tag}_vs_10k_pool_time_ratio: {float(l[1]) / float(s[1]):.2f}")
PY
