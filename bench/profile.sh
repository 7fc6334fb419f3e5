#!/usr/bin/env bash
# Where a whole model's time goes: each kernel's share of a run of chamcc's
# library, measured in the model (cold weights, real neighbours), not alone.
#
#   bench/profile.sh MODEL.onnx [--threads T] [--runs N] [--log FILE] [--chamcc BIN] [--work DIR] [--again]
#
# Builds the library (--tuner none: default schedules, or the log's best
# configs with --log), links tests/tools/run_model.c against it with a copy
# of the runtime compiled with -DCHM_RT_PROFILE (the library's own runtime
# member is then not linked), runs it N times after run_model's warm-up, and
# names each parallel loop's task function with nm and each kernel's first
# node with chamcc -v's plan. Prints a markdown table, slowest kernel first:
# its parallel loop's iterations, how often per run that loop runs (a loop
# inside a serial one, or a kernel called for several nodes, runs more than
# once), microseconds per run (the mean over all runs, warm-up included),
# share of the time inside parallel loops (T >= 2: a library built for one
# thread runs no parallel loop), GFLOP/s (the kernel's floating-point
# operations per call, from chamcc -v, times its calls in the plan: read it against
# build/bench/peak; a kernel with several loops counts them all); then
# run_model's median and that sum per run (their difference is the serial
# time between loops). Needs scripts/build.sh first (BIN: build/chamcc; DIR:
# build/bench-profile/MODEL-Tt). --again times the library of an earlier
# run in the same DIR without building it again.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
usage() {
  echo "usage: bench/profile.sh MODEL.onnx [--threads T] [--runs N] [--log FILE] [--chamcc BIN] [--work DIR] [--again]" >&2
  exit 2
}
onnx="" threads=$(nproc) runs=100 log="" chamcc=$here/build/chamcc work="" again=0
while [ $# -gt 0 ]; do
  case $1 in
    --threads) [ $# -ge 2 ] || usage; threads=$2; shift 2 ;;
    --runs) [ $# -ge 2 ] || usage; runs=$2; shift 2 ;;
    --log) [ $# -ge 2 ] || usage; log=$(realpath "$2"); shift 2 ;;
    --chamcc) [ $# -ge 2 ] || usage; chamcc=$2; shift 2 ;;
    --work) [ $# -ge 2 ] || usage; work=$2; shift 2 ;;
    --again) again=1; shift ;;
    -*) usage ;;
    *) [ -z "$onnx" ] || usage; onnx=$1; shift ;;
  esac
done
[ -n "$onnx" ] || usage
[[ $threads =~ ^[1-9][0-9]{0,2}$ && $runs =~ ^[1-9][0-9]{0,5}$ ]] || usage
if [ "$threads" = 1 ]; then
  echo "bench/profile.sh: --threads 1: a library built for one thread has no parallel loops to time" >&2
  exit 2
fi
[ -f "$onnx" ] || { echo "bench/profile.sh: $onnx: no such file" >&2; exit 1; }
[ -n "$work" ] || work=$here/build/bench-profile/$(basename "$onnx" .onnx)-${threads}t
mkdir -p "$work"
if [ -z "$log" ]; then log=$work/empty.jsonl; : >"$log"; fi

if [ "$again" = 0 ] || [ ! -x "$work/run" ]; then
  "$chamcc" "$onnx" -o "$work/libmodel.a" --name model --threads "$threads" -v --tuner none --log "$log" \
    2>"$work/plan.txt" || { cat "$work/plan.txt" >&2; exit 1; }
  cc -std=gnu11 -O2 -DCHM_RT_PROFILE -I"$here/runtime/include" -c "$here/runtime/rt.c" -o "$work/rt_profile.o"
  # -no-pie: the addresses the runtime prints are the ones nm lists
  cc -O2 -no-pie -I"$work" "$here/tests/tools/run_model.c" "$work/rt_profile.o" "$work/libmodel.a" -lpthread -lm \
    -o "$work/run"
fi
"$work/run" --bench "$runs" >"$work/bench.txt" 2>"$work/profile.txt"
median=$(sed -n 's/.*median \([0-9.]*\) ms.*/\1/p' "$work/bench.txt")
nm -n "$work/run" | awk '$2 ~ /^[tT]$/' >"$work/symbols.txt"

# chamcc -v's plan ("call I: KERNEL for OP 'NODE'"), the symbols (address
# order), then the profile: each task's function is the last symbol at or
# below its address; the loops of one kernel (NAME.parK) add up. Runs: the
# fewest calls of any loop (every kernel runs in every run).
awk -v median="$median" -v threads="$threads" -v model="$(basename "$onnx")" '
  function hex(s,  i, v) {  # mawk has no strtonum
    s = tolower(s); sub(/^0x/, "", s)
    for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
    return v
  }
  FILENAME ~ /plan.txt$/ {
    if ($1 == "call") ncall[$3]++
    if ($1 == "call" && !(($3) in node)) {
      last = NF
      if ($NF ~ /^flops=/) { flops[$3] = substr($NF, 7); last = NF - 1 }
      node[$3] = $5 " " $6; for (i = 7; i <= last; i++) node[$3] = node[$3] " " $i
    }
    next
  }
  FILENAME ~ /symbols.txt$/ { addr[n] = hex($1); name[n++] = $3; next }
  $1 == "chm_rt_profile" {
    a = hex($2); lo = 0; hi = n - 1
    while (lo < hi) { mid = int((lo + hi + 1) / 2); if (addr[mid] <= a) lo = mid; else hi = mid - 1 }
    k = name[lo]; sub(/\.par[0-9]+$/, "", k)
    if (!(k in calls)) order[m++] = k
    if ($3 > calls[k]) calls[k] = $3  # its most frequent loop
    iters[k] = $4; ns[k] += $5
    if (runs == 0 || $3 < runs) runs = $3
  }
  END {
    if (m == 0) { print "bench/profile.sh: no parallel loop ran" > "/dev/stderr"; exit 1 }
    for (i = 0; i < m; i++) total += ns[order[i]]
    for (i = 0; i < m; i++)  # slowest first
      for (j = i + 1; j < m; j++) if (ns[order[j]] > ns[order[i]]) { t = order[i]; order[i] = order[j]; order[j] = t }
    printf "%s, %d threads, %d runs (warm-up included)\n\n", model, threads, runs
    print "| kernel | first node | iterations | loop calls per run | us per run | share | GFLOP/s |"
    print "|---|---|--:|--:|--:|--:|--:|"
    for (i = 0; i < m; i++) {
      k = order[i]
      gf = flops[k] > 0 ? sprintf("%.1f", flops[k] * ncall[k] / (ns[k] / runs)) : "-"
      printf "| %s | %s | %d | %.0f | %.1f | %.1f%% | %s |\n", k, node[k], iters[k], calls[k] / runs, ns[k] / runs / 1e3,
             100 * ns[k] / total, gf
    }
    printf "\nrun_model median: %s ms; inside parallel loops: %.3f ms per run\n", median, total / runs / 1e6
  }' "$work/plan.txt" "$work/symbols.txt" "$work/profile.txt"
