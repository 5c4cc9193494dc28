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
# sign-flip test (20000 random flips, seed 0; scripts/paired_ranks.py). Needs python3.
set -euo pipefail
# shellcheck source=scripts/measure_common.sh
source "$(dirname "$0")/measure_common.sh"
measure_setup ridge-init-runs "$@"
echo '{"init": "random", "val_classes": 0, "retrain_all": false, "lr": 0.001, "eval_every": 50}' >"$OUT/random_start.json"

run() {  # stage data name subject seed flags...
  train_run "$B" "$OUT" "$1" "$2" "$3" "$4" "$5" --config "$OUT/random_start.json" "${@:6}"
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

PYTHONPATH="$(dirname "$0")" python3 - "$OUT" <<'PY'
import sys
from paired_ranks import print_comparisons, scores, write_and_print
out = sys.argv[1]

def label(config, method):  # BrainSem rows by configuration, baselines by method
    return config if method == "brainsem" else method

for stage in ("choose", "confirm"):
    write_and_print(out, stage, scores(out, stage, label), width=32)
print("== confirm: paired sign-flip on seed-averaged ranks of (subject, test item) units")
print_comparisons(scores(out, "confirm", label),
                  (("ridge-init", "ridge"), ("ridge-init", "random-start"), ("random-start", "ridge")), width=26)
PY
