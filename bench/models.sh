#!/usr/bin/env bash
# End-to-end latency of whole models: chamcc's library against ONNX Runtime,
# side by side in one run, at 1 and 2 threads.
#
#   bench/models.sh [--log FILE] [--rounds R] [--runs N] [--threads "1 2"] [MODEL...]
#
# MODEL: torchvision exports (default: resnet18 mobilenet_v2). For each model
# and thread count, chamcc builds the library with default schedules
# (--tuner none) and, with --log, with the log's tuned configs; then R rounds
# alternate ONNX Runtime and each library, N timed runs each, and the table
# gives the median over rounds of each round's median (milliseconds). Needs
# scripts/setup.sh and scripts/build.sh first. Prints a markdown table.
source "$(dirname "$0")/lib.sh"
log="" rounds=5 runs=100 threads="1 2"
bench_opt() { timing_opt "$@"; }
bench_args "$@"
[ ${#models[@]} -gt 0 ] || models=(resnet18 mobilenet_v2)
work=$here/build/bench-models
export_models "$work" "${models[@]}"

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
  for t in $threads; do
    declare -A runner=() times=()
    for v in "${variants[@]}"; do runner[$v]=$(build_lib "$m" "$t" "$v"); done
    for ((r = 0; r < rounds; r++)); do
      ort=$(ort_ms "$work/$m.onnx" "$t" "$runs")
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
    printf '%s %.2f |\n' "$row" "$(ratio "$o" "$best")"
    unset runner times
  done
done
