#!/usr/bin/env bash
# The model zoo: chamcc's library against ONNX Runtime on the CNNs people
# deploy, side by side in one run, at 1 and 2 threads.
#
#   bench/zoo.sh [--log FILE] [--rounds R] [--runs N] [--threads "1 2"] [MODEL...]
#
# MODEL: names models/export_torchvision.py knows (default: the whole zoo of
# issue 25), exported with seeded random weights into build/bench-zoo. Each
# model is compiled once per thread count with default schedules (--tuner
# none; with --log, the log's tuned configs), and the compile time recorded.
# Then R rounds (default 5) alternate ONNX Runtime and the library, N timed
# runs each (default 20); per round the median of the N runs. The table
# gives, per model and thread count, the median over rounds of ORT and of
# chamcc (ms), the median of the per-round ratios ORT/chamcc with their
# range (min-max: the spread), and the compile seconds; the last lines give
# the geometric mean of the ratios per thread count. Prints markdown, with
# the CPU model first. Needs scripts/setup.sh and scripts/build.sh first.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
log="" rounds=5 runs=20 threads="1 2" models=()
while [ $# -gt 0 ]; do
  case $1 in
    --log) log=$(realpath "$2"); shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    -h | --help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "zoo.sh: unknown option $1" >&2; exit 2 ;;
    *) models+=("$1"); shift ;;
  esac
done
[ ${#models[@]} -gt 0 ] || models=(resnet18 resnet50 mobilenet_v2 mobilenet_v3_large squeezenet1_1
  googlenet inception_v3 resnext50_32x4d regnet_y_400mf efficientnet_b1 shufflenet_v2_x1_0
  mnasnet1_0 convnext_tiny vgg16)
work=$here/build/bench-zoo
mkdir -p "$work"
chamcc=$here/build/chamcc
source "$here/bench/lib.sh"

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
fam=$(sed -n 's/^cpu family[[:space:]]*: //p' /proc/cpuinfo | head -1)
mod=$(sed -n 's/^model[[:space:]]*: //p' /proc/cpuinfo | head -1)
llvm_cpu=$(/usr/lib/llvm-19/bin/llc --version 2>/dev/null | sed -n 's/.*Host CPU: //p')
echo "CPU: ${cpu:-unknown} (family $fam model $mod${llvm_cpu:+, LLVM $llvm_cpu}, $(nproc) cores);" \
  "$(date -u +%Y-%m-%d); rounds $rounds x $runs runs"
echo
echo "| model | threads | ONNX Runtime ms | chamcc ms | ORT/chamcc (min-max) | compile s |"
echo "|---|--:|--:|--:|--:|--:|"
declare -A logsum=() count=()
for m in "${models[@]}"; do
  /usr/bin/python3 "$here/models/export_torchvision.py" --models "$m" --out "$work" >/dev/null
  for t in $threads; do
    d=$work/$m-${t}t
    use_log=$d/empty.jsonl
    mkdir -p "$d" && : >"$d/empty.jsonl"
    [ -n "$log" ] && use_log=$log
    t0=$(date +%s.%N)
    build_runner "$chamcc" "$work/$m.onnx" "$d" "$t" "$use_log"
    compile=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
    o_all="" c_all="" r_all=""
    for ((r = 0; r < rounds; r++)); do
      o=$(node "$here/tests/oracle/ort_bench.js" "$work/$m.onnx" --threads "$t" --runs "$runs" |
          sed -n 's/.*median \([0-9.]*\) ms.*/\1/p')
      c=$(bench_ms "$d/run" "$runs")
      o_all+="$o " c_all+="$c "
      r_all+="$(awk -v a="$o" -v b="$c" 'BEGIN {printf "%.4f", a / b}') "
    done
    ratio=$(median <<<"$r_all")
    spread=$(tr ' ' '\n' <<<"$r_all" | grep . | sort -g | sed -n '1p;$p' | paste -sd- |
             awk -F- '{printf "%.2f-%.2f", $1, $2}')
    printf '| %s | %s | %.2f | %.2f | %.2f (%s) | %s |\n' "$m" "$t" "$(median <<<"$o_all")" \
      "$(median <<<"$c_all")" "$ratio" "$spread" "$compile"
    logsum[$t]=$(awk -v s="${logsum[$t]:-0}" -v r="$ratio" 'BEGIN {printf "%.6f", s + log(r)}')
    count[$t]=$((${count[$t]:-0} + 1))
  done
done
echo
for t in $threads; do
  awk -v s="${logsum[$t]}" -v n="${count[$t]}" -v t="$t" \
    'BEGIN {printf "geometric mean of ORT/chamcc at %s thread(s) over %d models: %.2f\n", t, n, exp(s / n)}'
done
