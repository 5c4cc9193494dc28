#!/usr/bin/env bash
# Does starting BrainSem from the ridge solution make it earn its place? (docs/method.md,
# "Starting from the ridge".) Two stages, each on data no other table uses for choosing:
#   choose:  development data (synthetic data seed 2, subjects 1-2, as scripts/measure_selection.sh)
#            picks the fine-tuning recipe;
#   confirm: untouched data (data seed 3, subjects 1-5, training seeds 0 and 1), never used to
#            choose anything, compares the chosen recipe with the random start (the default
#            before this measurement) and with ridge.
# Every run starts from that random-start configuration (--config OUT_DIR/random_start.json:
# random weights, nothing held out, lr 1e-3) and adds its row's flags, so the tables reproduce
# under today's default, which is the chosen recipe.
#
#   scripts/measure_ridge_init.sh [BUILD_DIR] [OUT_DIR]     (defaults: build, ridge-init-runs)
#
# Prints OUT_DIR/choose.tsv and OUT_DIR/confirm.tsv (top-1, top-5, mean rank per run, stimulus
# prototypes) and the paired comparison of the confirm stage: each (subject, test item) unit's
# rank of the true class averaged over the training seeds, differences tested by a two-sided
# sign-flip test (20000 random flips, seed 0). Needs python3 (standard library only).
set -euo pipefail
BUILD=${1:-build}
OUT=${2:-ridge-init-runs}
B="$BUILD/brainsem"
mkdir -p "$OUT"
echo '{"init": "random", "val_classes": 0, "retrain_all": false, "lr": 0.001, "eval_every": 50}' >"$OUT/random_start.json"
[ -f "$OUT/dev/synth.json" ] || "$B" synth --out "$OUT/dev" --subjects 2 --seed 2 -q >/dev/null
[ -f "$OUT/untouched/synth.json" ] || "$B" synth --out "$OUT/untouched" --subjects 5 --seed 3 -q >/dev/null

run() {  # stage data name subject seed flags...
  local stage=$1 data=$2 name=$3 s=$4 seed=$5
  shift 5
  local dir="$OUT/$stage/$name/Subject$s-seed$seed"
  [ -f "$dir/results.json" ] && return 0
  rm -rf "$dir"
  mkdir -p "$(dirname "$dir")"
  echo "== $stage $name Subject$s seed $seed" >&2
  "$B" train --subject "$data/Subject$s.h5" --stimuli "$data/stimuli.safetensors" \
    --library "$data/library_train.safetensors" --out "$dir" --seed "$seed" -q --config "$OUT/random_start.json" \
    "$@" >/dev/null 2>"$dir.log"
}

declare -A CHOOSE=(
  [random-start]="--baselines"
  [ridge-steps0]="--init ridge --steps 0"
  [ridge-lr1e-3]="--init ridge"
  [ridge-lr1e-4]="--init ridge --lr 1e-4"
  [ridge-lr1e-4-steps100]="--init ridge --lr 1e-4 --steps 100"
  [ridge-lr1e-5]="--init ridge --lr 1e-5"
  [ridge-lr1e-4-val30-retrain]="--init ridge --lr 1e-4 --val-classes 30 --eval-every 25 --retrain-all"
)
CHOSEN="--init ridge --lr 1e-4 --val-classes 30 --eval-every 25 --retrain-all"
for name in "${!CHOOSE[@]}"; do
  for s in 1 2; do
    # shellcheck disable=SC2086
    run choose "$OUT/dev" "$name" "$s" 0 ${CHOOSE[$name]}
  done
done
for s in 1 2 3 4 5; do
  for seed in 0 1; do
    run confirm "$OUT/untouched" random-start "$s" "$seed" --baselines
    # shellcheck disable=SC2086
    run confirm "$OUT/untouched" ridge-init "$s" "$seed" $CHOSEN
  done
done

python3 - "$OUT" <<'PY'
import json, os, random, sys
out = sys.argv[1]

def scores(stage):
    rows = {}
    base = os.path.join(out, stage)
    for name in sorted(os.listdir(base)):
        for cell in sorted(os.listdir(os.path.join(base, name))):
            path = os.path.join(base, name, cell, "results.json")
            if not os.path.isfile(path):
                continue
            r = json.load(open(path))
            for m in r["scores"]:
                if m["prototype"] != "stimulus":
                    continue
                method = name if m["method"] == "brainsem" else m["method"]
                rows[(method, cell)] = (m["top1"], m["top5"], m["mean_rank"], m["ranks"], r.get("best_step"))
    return rows

for stage in ("choose", "confirm"):
    rows = scores(stage)
    with open(os.path.join(out, stage + ".tsv"), "w") as f:
        f.write("method\tcell\ttop1\ttop5\tmean_rank\tbest_step\n")
        for (method, cell), (t1, t5, mr, _, best) in sorted(rows.items()):
            f.write(f"{method}\t{cell}\t{100*t1:.1f}\t{100*t5:.1f}\t{mr:.2f}\t{best}\n")
    print(f"== {stage} ({out}/{stage}.tsv): mean over cells, stimulus prototypes")
    methods = sorted({m for m, _ in rows})
    for m in methods:
        cells = [v for (mm, _), v in rows.items() if mm == m]
        n = len(cells)
        print(f"{m:32s} cells {n:2d}  top-1 {100*sum(c[0] for c in cells)/n:5.1f}  "
              f"top-5 {100*sum(c[1] for c in cells)/n:5.1f}  mean rank {sum(c[2] for c in cells)/n:6.2f}")

rows = scores("confirm")
def unit_ranks(method):
    # (subject, item) -> rank averaged over the training seeds. The ridge depends on the seed too:
    # it seeds the class-grouped CV folds that choose alpha (measured: alphas differ between the
    # seeds on subjects 1, 3, 4 and 5), so it is averaged like the other methods.
    by = {}
    for (m, cell), v in rows.items():
        if m != method:
            continue
        subject = cell.split("-seed")[0]
        for i, k in enumerate(v[3]):
            by.setdefault((subject, i), []).append(k)
    return {u: sum(ks) / len(ks) for u, ks in by.items()}

def sign_flip(a, b, flips=20000, seed=0):
    d = [a[u] - b[u] for u in sorted(a)]
    obs = abs(sum(d))
    rng = random.Random(seed)
    hits = sum(abs(sum(x if rng.random() < 0.5 else -x for x in d)) >= obs - 1e-12 for _ in range(flips))
    return sum(d) / len(d), (1 + hits) / (1 + flips), len(d)

print("== confirm: paired sign-flip on seed-averaged ranks of (subject, test item) units")
chosen, start, ridge = unit_ranks("ridge-init"), unit_ranks("random-start"), unit_ranks("ridge")
for name, a, b in (("ridge-init - ridge", chosen, ridge), ("ridge-init - random-start", chosen, start),
                   ("random-start - ridge", start, ridge)):
    diff, p, n = sign_flip(a, b)
    print(f"{name:22s} mean rank difference {diff:+.3f} over {n} units, p = {p:.4f}")
PY
