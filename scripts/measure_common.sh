# shellcheck shell=bash
# What the two-stage measurement scripts share (sourced by measure_ridge_init.sh,
# measure_candidates.sh and measure_ensemble.sh): their arguments, the development and untouched
# data, and one resumable training run.

# measure_setup DEFAULT_OUT [BUILD_DIR] [OUT_DIR]: the scripts' two arguments. Sets B (the brainsem
# binary) and OUT (default DEFAULT_OUT) and generates OUT's stage data.
measure_setup() {
  B="${2:-build}/brainsem"
  OUT=${3:-$1}
  [ -x "$B" ] || { echo "no $B; build the project first" >&2; exit 1; }
  make_stage_data "$B" "$OUT"
}

# make_stage_data BIN OUT: OUT/dev (data seed 2, subjects 1-2; chooses) and OUT/untouched (data
# seed 3, subjects 1-5; confirms, never chooses), each generated once.
make_stage_data() {
  local bin=$1 out=$2
  mkdir -p "$out"
  [ -f "$out/dev/synth.json" ] || "$bin" synth --out "$out/dev" --subjects 2 --seed 2 -q >/dev/null
  [ -f "$out/untouched/synth.json" ] || "$bin" synth --out "$out/untouched" --subjects 5 --seed 3 -q >/dev/null
}

# train_run BIN OUT STAGE DATA NAME SUBJECT SEED [FLAGS...]: one `brainsem train` run on DATA's
# Subject<SUBJECT> into OUT/STAGE/NAME/Subject<SUBJECT>-seed<SEED>, skipped when that run has
# finished (a rerun resumes the measurement); its messages go to the run's .log beside it.
train_run() {
  local bin=$1 out=$2 stage=$3 data=$4 name=$5 s=$6 seed=$7
  shift 7
  local dir="$out/$stage/$name/Subject$s-seed$seed"
  [ -f "$dir/results.json" ] && return 0
  rm -rf "$dir"
  mkdir -p "$(dirname "$dir")"
  echo "== $stage $name Subject$s seed $seed" >&2
  "$bin" train --subject "$data/Subject$s.h5" --stimuli "$data/stimuli.safetensors" \
    --library "$data/library_train.safetensors" --out "$dir" --seed "$seed" -q "$@" >/dev/null 2>"$dir.log"
}
