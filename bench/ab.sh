#!/usr/bin/env bash
# A/B of two chamcc binaries on whole models, default schedules: each model
# is built by both (--tuner none, the given chamcc options), both outputs are
# checked against this machine's own build (run_model --ref), then R rounds
# alternate the two libraries, N timed runs each, at 1 and 2 threads. Prints
# the median over rounds of each round's median (ms).
#
#   bench/ab.sh OLD_CHAMCC NEW_CHAMCC [--rounds R] [--runs N] [--models "M..."] [-- CHAMCC_OPTIONS]
#
# e.g. a chamcc of an earlier commit against build/chamcc on AVX2 code
# (which this machine runs natively):
#   bench/ab.sh /tmp/old/chamcc build/chamcc -- --cpu haswell
# Models are bench/models.sh's torchvision exports (exported if missing).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
old=$1 new=$2
shift 2
rounds=5 runs=100 models="resnet18 mobilenet_v2" opts=()
while [ $# -gt 0 ]; do
  case $1 in
    --rounds) rounds=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --models) models=$2; shift 2 ;;
    --) shift; opts=("$@"); break ;;
    *) echo "usage: see the header of $0" >&2; exit 2 ;;
  esac
done
w=$here/build/bench-ab
mkdir -p "$w"
: >"$w/empty.jsonl"
median() { sort -g | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
build() { # chamcc dir threads model [options...]
  local bin=$1 d=$2 t=$3 m=$4
  shift 4
  mkdir -p "$d"
  "$bin" "$w/$m.onnx" -o "$d/libmodel.a" --name model --threads "$t" -q --tuner none --log "$w/empty.jsonl" "$@"
  cc -O2 -I"$d" "$here/tests/tools/run_model.c" "$d/libmodel.a" -lpthread -lm -o "$d/run"
}
echo "| model | threads | old ms | new ms | old / new |"
echo "|---|--:|--:|--:|--:|"
for m in $models; do
  [ -f "$w/$m.onnx" ] || /usr/bin/python3 "$here/models/export_torchvision.py" --models "$m" --out "$w" >/dev/null
  for t in 1 2; do
    build "$old" "$w/$m-old-$t" "$t" "$m" "${opts[@]}"
    build "$new" "$w/$m-new-$t" "$t" "$m" "${opts[@]}"
    build "$new" "$w/$m-host-$t" "$t" "$m"
    "$w/$m-host-$t/run" --out "$w/$m.ref" >/dev/null
    for v in old new; do
      "$w/$m-$v-$t/run" --ref "$w/$m.ref" >/dev/null || { echo "ab.sh: $m $v ${t}T differs from the host build" >&2; exit 1; }
    done
    declare -A times=([old]="" [new]="")
    for ((r = 0; r < rounds; r++)); do
      for v in old new; do
        times[$v]+="$("$w/$m-$v-$t/run" --bench "$runs" | sed -n 's/.*median \([0-9.]*\) ms.*/\1/p') "
      done
    done
    o=$(tr ' ' '\n' <<<"${times[old]}" | grep . | median)
    n=$(tr ' ' '\n' <<<"${times[new]}" | grep . | median)
    echo "| $m | $t | $o | $n | $(awk -v a="$o" -v b="$n" 'BEGIN {printf "%.2f", a / b}') |"
  done
done
