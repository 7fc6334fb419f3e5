# lib.sh — what the whole-model benchmarks share (sourced by models.sh,
# zoo.sh, emitc.sh, shards.sh and ab.sh): the source tree and the chamcc
# they run, their command line, the machine line their tables start with,
# the torchvision exports, the builds, and the statistics of their rows.

set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd) # the source tree
chamcc=${CHAMCC:-$here/build/chamcc}                  # CHAMCC=PATH: another build

# bench_args "$@": a benchmark's command line. -h prints the script's header
# comment; any other option takes one value and goes to the script's
# function bench_opt OPTION VALUE, which sets its variable and returns 0, or
# returns 1 when the option is not one of its own; the other words are
# models (the array models).
bench_args() {
  models=()
  while [ $# -gt 0 ]; do
    case $1 in
    -h | --help) awk 'NR > 1 && !/^#/ {exit} NR > 1 {sub(/^# ?/, ""); print}' "$0"; exit 0 ;;
    -*)
      [ $# -ge 2 ] && bench_opt "$1" "$2" || { echo "${0##*/}: unknown option $1" >&2; exit 2; }
      shift 2 ;;
    *) models+=("$1"); shift ;;
    esac
  done
}

# timing_opt OPTION VALUE: the options of the scripts that time libraries
# side by side (a bench_opt for them): --log FILE (build with the log's
# configs), --rounds R, --runs N, --threads "1 2".
timing_opt() {
  case $1 in
  --log) log=$(realpath "$2") ;;
  --rounds) rounds=$2 ;;
  --runs) runs=$2 ;;
  --threads) threads=$2 ;;
  *) return 1 ;;
  esac
}

# machine: "MODEL NAME (family F model M, LLVM CPU, N cores)".
machine() {
  local cpu fam mod llvm
  cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
  fam=$(sed -n 's/^cpu family[[:space:]]*: //p' /proc/cpuinfo | head -1)
  mod=$(sed -n 's/^model[[:space:]]*: //p' /proc/cpuinfo | head -1)
  llvm=$(/usr/lib/llvm-19/bin/llc --version 2>/dev/null | sed -n 's/.*Host CPU: //p')
  echo "${cpu:-unknown} (family $fam model $mod${llvm:+, LLVM $llvm}, $(nproc) cores)"
}

# export_models DIR MODEL...: DIR/MODEL.onnx for each model
# models/export_torchvision.py knows (seeded random weights), exporting
# only the missing ones.
export_models() {
  local dir=$1
  shift
  mkdir -p "$dir"
  /usr/bin/python3 "$here/models/export_torchvision.py" --out "$dir" --models "$(IFS=,; echo "$*")" >/dev/null
}

# median: the median of the numbers on stdin, one per word or line.
median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }

# ratio A B: A / B to four places.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.4f", a / b}'; }

# spread: "MIN-MAX" of the numbers on stdin (one per word or line), to two places.
spread() { tr ' ' '\n' | grep . | sort -g | sed -n '1p;$p' | paste -sd- | awk -F- '{printf "%.2f-%.2f", $1, $2}'; }

# seconds_since T0: the seconds from T0 (date +%s.%N) to now, to one place.
seconds_since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}'; }

# build_log DIR: the tuning log a build uses: --log's (in $log), or else
# DIR/empty.jsonl, emptied (default schedules, whatever the user's log holds).
build_log() {
  mkdir -p "$1"
  if [ -n "${log:-}" ]; then echo "$log"; else : >"$1/empty.jsonl" && echo "$1/empty.jsonl"; fi
}

# build_runner CHAMCC MODEL.onnx DIR THREADS LOG [CHAMCC_OPTIONS...]: builds
# DIR/libmodel.a with default schedules and the log's configs (--tuner
# none), links tests/tools/run_model.c against it as DIR/run.
build_runner() {
  local bin=$1 onnx=$2 d=$3 t=$4 log=$5
  shift 5
  mkdir -p "$d"
  "$bin" "$onnx" -o "$d/libmodel.a" --name model --threads "$t" -q --tuner none --log "$log" "$@"
  cc -O2 -I"$d" "$here/tests/tools/run_model.c" "$d/libmodel.a" -lpthread -lm -o "$d/run"
}

# bench_ms RUNNER N: the median milliseconds of N timed runs.
bench_ms() { "$1" --bench "$2" | sed -n 's/.*median \([0-9.]*\) ms.*/\1/p'; }

# ort_ms MODEL.onnx THREADS N: ONNX Runtime's median milliseconds of N runs.
ort_ms() {
  node "$here/tests/oracle/ort_bench.js" "$1" --threads "$2" --runs "$3" | sed -n 's/.*median \([0-9.]*\) ms.*/\1/p'
}
