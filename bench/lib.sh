# lib.sh — shell helpers of the whole-model benchmarks (sourced by models.sh
# and ab.sh).

# median: the median of the numbers on stdin, one per word or line.
median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }

# build_runner CHAMCC MODEL.onnx DIR THREADS LOG [CHAMCC_OPTIONS...]: builds
# DIR/libmodel.a with default schedules and the log's configs (--tuner
# none), links tests/tools/run_model.c against it as DIR/run.
build_runner() {
  local bin=$1 onnx=$2 d=$3 t=$4 log=$5
  shift 5
  mkdir -p "$d"
  "$bin" "$onnx" -o "$d/libmodel.a" --name model --threads "$t" -q --tuner none --log "$log" "$@"
  cc -O2 -I"$d" "$(dirname "${BASH_SOURCE[0]}")/../tests/tools/run_model.c" "$d/libmodel.a" -lpthread -lm -o "$d/run"
}

# bench_ms RUNNER N: the median milliseconds of N timed runs.
bench_ms() { "$1" --bench "$2" | sed -n 's/.*median \([0-9.]*\) ms.*/\1/p'; }
