#!/usr/bin/env bash
# End-to-end latency of whole models: chamcc's library against ONNX Runtime,
# side by side in one run, at 1 and 2 threads.
#
#   bench/models.sh [--log FILE] [--rounds R] [--runs N] [MODEL...]
#
# MODEL: torchvision exports (default: resnet18 mobilenet_v2). For each model
# and thread count, chamcc builds the library with default schedules
# (--tuner none) and, with --log, with the log's tuned configs; then R rounds
# alternate ONNX Runtime and each library, N timed runs each, and the table
# gives the median over rounds of each round's median (milliseconds). Needs
# scripts/setup.sh and scripts/build.sh first. Prints a markdown table.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
log="" rounds=5 runs=100 models=()
while [ $# -gt 0 ]; do
  case $1 in
    --log) log=$(realpath "$2"); shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    *) models+=("$1"); shift ;;
  esac
done
[ ${#models[@]} -gt 0 ] || models=(resnet18 mobilenet_v2)
work=$here/build/bench-models
mkdir -p "$work"
chamcc=$here/build/chamcc

source "$here/bench/lib.sh"

build_lib() { # model threads variant -> path of the runner
  local m=$1 t=$2 v=$3 d=$work/$1-$3-$2t
  mkdir -p "$d"
  local use_log=$d/empty.jsonl
  [ "$v" = tuned ] && use_log=$log
  : >"$d/empty.jsonl"
  build_runner "$chamcc" "$work/$m.onnx" "$d" "$t" "$use_log"
  echo "$d/run"
}

variants=(default)
[ -n "$log" ] && variants+=(tuned)
echo "| model | threads | ONNX Runtime ms | $(printf 'chamcc %s ms | ' "${variants[@]}")ratio ORT/chamcc |"
echo "|---|--:|--:|$(printf -- '--:|%.0s' "${variants[@]}")--:|"
for m in "${models[@]}"; do
  /usr/bin/python3 "$here/models/export_torchvision.py" --models "$m" --out "$work" >/dev/null
  for t in 1 2; do
    declare -A runner=() times=()
    for v in "${variants[@]}"; do runner[$v]=$(build_lib "$m" "$t" "$v"); done
    for ((r = 0; r < rounds; r++)); do
      ort=$(node "$here/tests/oracle/ort_bench.js" "$work/$m.onnx" --threads "$t" --runs "$runs" |
            sed -n 's/.*median \([0-9.]*\) ms.*/\1/p')
      times[ort]+="$ort "
      for v in "${variants[@]}"; do times[$v]+="$(bench_ms "${runner[$v]}" "$runs") "; done
    done
    o=$(median <<<"${times[ort]}")
    row="| $m | $t | $o |" best=""
    for v in "${variants[@]}"; do
      x=$(median <<<"${times[$v]}")
      row+=" $x |"
      best=$x
    done
    echo "$row $(awk -v a="$o" -v b="$best" 'BEGIN {printf "%.2f", a / b}') |"
    unset runner times
  done
done
