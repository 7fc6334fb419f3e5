#!/usr/bin/env bash
# A/B of two chamcc binaries on whole models, default schedules: each model
# is built by both (--tuner none, the given chamcc options), both outputs are
# checked against this machine's own build (run_model --ref), then R rounds
# alternate the two libraries, N timed runs each, at 1 and 2 threads. Prints
# the median over rounds of each round's median (ms), and the median
# (min-max) of the per-round ratios old / new.
#
#   bench/ab.sh OLD_CHAMCC NEW_CHAMCC [--rounds R] [--runs N] [--models "M..."] [-- CHAMCC_OPTIONS]
#
# e.g. a chamcc of an earlier commit against build/chamcc on AVX2 code
# (which this machine runs natively):
#   bench/ab.sh /tmp/old/chamcc build/chamcc -- --cpu haswell
# Models are bench/models.sh's torchvision exports (exported if missing).
source "$(dirname "$0")/lib.sh"
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
build() { build_runner "$1" "$w/$4.onnx" "$2" "$3" "$w/empty.jsonl" "${@:5}"; } # chamcc dir threads model [options...]
export_models "$w" $models
echo "| model | threads | old ms | new ms | old / new, per round (min-max) |"
echo "|---|--:|--:|--:|--:|"
for m in $models; do
  for t in 1 2; do
    build "$old" "$w/$m-old-$t" "$t" "$m" "${opts[@]}"
    build "$new" "$w/$m-new-$t" "$t" "$m" "${opts[@]}"
    build "$new" "$w/$m-host-$t" "$t" "$m"
    "$w/$m-host-$t/run" --out "$w/$m.ref" >/dev/null
    for v in old new; do
      "$w/$m-$v-$t/run" --ref "$w/$m.ref" >/dev/null || { echo "ab.sh: $m $v ${t}T differs from the host build" >&2; exit 1; }
    done
    declare -A times=([old]="" [new]="") ms=()
    ratios=""
    for ((r = 0; r < rounds; r++)); do
      for v in old new; do
        ms[$v]=$(bench_ms "$w/$m-$v-$t/run" "$runs")
        times[$v]+="${ms[$v]} "
      done
      ratios+="$(ratio "${ms[old]}" "${ms[new]}") "
    done
    o=$(median <<<"${times[old]}")
    n=$(median <<<"${times[new]}")
    printf '| %s | %s | %s | %s | %.2f (%s) |\n' "$m" "$t" "$o" "$n" "$(median <<<"$ratios")" "$(spread <<<"$ratios")"
  done
done
