#!/usr/bin/env bash
# Ensembles over training seeds, measured against the default recipe and the ridge (docs/method.md,
# "Further candidates"). The same two stages as scripts/measure_candidates.sh:
#   choose:  development data (synthetic data seed 2, subjects 1-2) trains the default recipe with
#            seeds 0-4 and scores the ensembles of the first 3 and of all 5 (`brainsem eval --run
#            A,B,...`: the mean of the members' unit-length test predictions); the rule, fixed
#            before looking, keeps the size with the highest mean top-1, ties to the lower mean rank
#            and then to the smaller ensemble;
#   confirm: untouched data (data seed 3, subjects 1-5), which chooses nothing, trains seeds 0-4 and
#            scores the kept size against the single runs (their ranks averaged over the 5 seeds)
#            and against the ridge of the same runs.
# Each member is `brainsem train --baselines` with the default recipe, so its ridge is the baseline.
#
#   scripts/measure_ensemble.sh [BUILD_DIR] [OUT_DIR]   (defaults: build, ensemble-runs)
#
# Prints OUT_DIR/choose.tsv and OUT_DIR/confirm.tsv and the paired comparisons of
# scripts/paired_ranks.py. About 20 minutes on 2 cores. Needs python3.
set -euo pipefail
# shellcheck source=scripts/measure_common.sh
source "$(dirname "$0")/measure_common.sh"
measure_setup ensemble-runs "$@"

# ensemble STAGE DATA SUBJECT SIZE: the ensemble of seeds 0..SIZE-1 into
# OUT/STAGE/ensemble-SIZE/Subject<SUBJECT>-seeds0-<SIZE-1>/results.json (skipped when there).
ensemble() {
  local stage=$1 s=$3 size=$4
  local dir="$OUT/$stage/ensemble-$size/Subject$s-seeds0-$((size - 1))" members=""
  [ -f "$dir/results.json" ] && return 0
  for ((k = 0; k < size; ++k)); do members+="${members:+,}$OUT/$stage/default/Subject$s-seed$k"; done
  mkdir -p "$dir"
  echo "== $stage ensemble of $size Subject$s" >&2
  "$B" eval -q --run "$members" --json "$dir/results.json" >/dev/null
}

for s in 1 2; do
  for seed in 0 1 2 3 4; do train_run "$B" "$OUT" choose "$OUT/dev" default "$s" "$seed" --baselines; done
  for size in 3 5; do ensemble choose "$OUT/dev" "$s" "$size"; done
done

kept=$(python3 - "$OUT" <<'PY'
import json, os, sys
out = sys.argv[1]
best = None
for size in (3, 5):
    t1 = mr = 0.0
    for s in (1, 2):
        r = json.load(open(os.path.join(out, "choose", f"ensemble-{size}", f"Subject{s}-seeds0-{size - 1}", "results.json")))
        m = next(m for m in r["scores"] if m["method"] == "brainsem-ensemble" and m["prototype"] == "stimulus")
        t1 += m["top1"] / 2
        mr += m["mean_rank"] / 2
    key = (-t1, mr, size)
    if best is None or key < best[0]:
        best = (key, size)
print(best[1])
PY
)
echo "kept on development data: an ensemble of $kept" >&2
for s in 1 2 3 4 5; do
  for seed in 0 1 2 3 4; do train_run "$B" "$OUT" confirm "$OUT/untouched" default "$s" "$seed" --baselines; done
  ensemble confirm "$OUT/untouched" "$s" "$kept"
done

PYTHONPATH="$(dirname "$0")" python3 - "$OUT" "$kept" <<'PY'
import sys
from paired_ranks import print_comparisons, scores, write_and_print
out, kept = sys.argv[1], sys.argv[2]

def label(config, method):
    if config == "default" and method in ("brainsem", "ridge"):
        return method + "@default"
    if config.startswith("ensemble-") and method == "brainsem-ensemble":
        return config
    return None

for stage in ("choose", "confirm"):
    write_and_print(out, stage, scores(out, stage, label))
print(f"== confirm: paired sign-flip on seed-averaged ranks of (subject, test item) units (kept: {kept})")
print_comparisons(scores(out, "confirm", label),
                  ((f"ensemble-{kept}", "brainsem@default"),
                   (f"ensemble-{kept}", "ridge@default"),
                   ("brainsem@default", "ridge@default")))
PY
