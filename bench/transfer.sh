#!/usr/bin/env bash
# Transfer: does the warm start from another model's tuning log pay? (issue
# 27). The tasks of TARGET are tuned at chamcc's default budget twice per
# seed, from an empty log (cold) and from a copy of SOURCE's log (warm:
# chamcc's cost model starts from the records of SOURCE's tasks), cold and
# warm alternating which goes first. SOURCE's log is made once, by
# `chamcc tune SOURCE` at the default budget.
#
#   bench/transfer.sh [--source M] [--target M] [--seeds "1 2 3"] [--threads T] [--out DIR]
#
# Defaults: --source resnet18, --target resnet50, --seeds "1 2", --threads 2,
# --out build/bench-transfer. Models are bench/models.sh's torchvision
# exports (exported if missing).
#
# The table (bench/transfer_table.py) compares the runs task by task, on
# the tasks of TARGET whose key SOURCE's log does not hold (those would be
# reused, not transferred). A candidate's speed is its reading relative to
# the reference (the task's default) measured beside it, so a machine that
# drifts moves both; per task, the best of the first k search measurements
# (k = 8, 16, the whole budget), geometric mean over tasks, per seed; and
# the mean relative speed of the first batch (the cost model's first
# proposals, where a start that knows the machine shows most).
source "$(dirname "$0")/lib.sh"
src=resnet18 dst=resnet50 seeds="1 2" threads=2 out=$here/build/bench-transfer
while [ $# -gt 0 ]; do
  case $1 in
  -h | --help) awk 'NR > 1 && !/^#/ {exit} NR > 1 {sub(/^# ?/, ""); print}' "$0"; exit 0 ;;
  --source) src=$2 ;;
  --target) dst=$2 ;;
  --seeds) seeds=$2 ;;
  --threads) threads=$2 ;;
  --out) out=$2 ;;
  *) echo "usage: see the header of $0" >&2; exit 2 ;;
  esac
  shift 2
done
[ "$src" != "$dst" ] || { echo "transfer.sh: source and target are the same model" >&2; exit 2; }
mkdir -p "$out"
models_dir=$here/build/bench-zoo
export_models "$models_dir" "$src" "$dst"

tune() { # tune MODEL LOG SEED
  local t0
  t0=$(date +%s.%N)
  "$chamcc" tune "$models_dir/$1.onnx" --log "$2" --seed "$3" --threads "$threads" -q
  echo "transfer: $1 seed $3 -> ${2##*/}: $(seconds_since "$t0") s" >&2
}

source_log=$out/source-$src-t$threads.jsonl
[ -s "$source_log" ] || tune "$src" "$source_log" 1
i=0
for s in $seeds; do
  cold=$out/cold-$dst-s$s.jsonl warm=$out/warm-$dst-from-$src-s$s.jsonl
  rm -f "$cold" "$warm"
  cp "$source_log" "$warm"
  if ((i % 2 == 0)); then tune "$dst" "$cold" "$s"; tune "$dst" "$warm" "$s"
  else tune "$dst" "$warm" "$s"; tune "$dst" "$cold" "$s"; fi
  i=$((i + 1))
done

echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') on $(machine), $threads threads; source $src, target $dst, seeds $seeds."
echo
cold_logs=() warm_logs=()
for s in $seeds; do
  cold_logs+=("$out/cold-$dst-s$s.jsonl") warm_logs+=("$out/warm-$dst-from-$src-s$s.jsonl")
done
/usr/bin/python3 "$here/bench/transfer_table.py" "$source_log" --cold "${cold_logs[@]}" --warm "${warm_logs[@]}"
