#!/usr/bin/env bash
# run.sh — the per-layer peer benchmark: OpenBLAS, oneDNN and ONNX Runtime on
# every layer of cnn_layers.json at 1 and 2 threads, as one markdown table.
#
#   bench/layers/run.sh [--quick] [--no-spin] [--layers LAYERS.json] [--out TABLE.md]
#                       [--chamcc-log LOG]
#
# --chamcc-log LOG adds chamcc's columns, measured in the same run: each
# layer's default schedule and the best config LOG holds for it (a tuning
# log of build/bench/tune_layers, e.g. bench/tuners.sh's), measured afresh
# by `tune_layers --eval` at 1 and 2 threads (build it first).
#
# Builds peers.c (with measure/reference.c) by hand with cc — benchmarks stay
# out of the CMake build — writes one-layer ONNX models with Debian's
# python3-onnx into a scratch directory, runs peers then ort_layers.js one
# after the other, and merges both with table.awk. --quick: 3 layers and
# short measurements, to check that everything works. --no-spin: idle
# worker threads sleep at once (OMP_WAIT_POLICY=passive for oneDNN, ORT's
# allow_spinning = 0): slightly slower on an idle machine, but on a shared,
# loaded one spinning 2-thread runs can stall for a whole time slice per
# parallel region (measured: 0.1-3 GFLOP/s instead of 100+). Needs libdnnl-dev
# (CHAMCC_SETUP_BENCH=1 scripts/setup.sh), libopenblas-dev, libcjson-dev and
# onnxruntime-node in tests/oracle/node_modules.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
layers=$root/../shared/workloads/cnn_layers.json
out=
quick=0
clog=
nospin=()
while [ $# -gt 0 ]; do
  case $1 in
    --quick) quick=1 ;;
    --no-spin) nospin=(--no-spin); export OMP_WAIT_POLICY=passive ;;
    --layers) layers=$2; shift ;;
    --out) out=$2; shift ;;
    --chamcc-log) clog=$2; shift ;;
    *) echo "usage: $0 [--quick] [--no-spin] [--layers LAYERS.json] [--out TABLE.md] [--chamcc-log LOG]" >&2; exit 2 ;;
  esac
  shift
done
[ -f "$layers" ] || { echo "run.sh: no layer file $layers" >&2; exit 1; }

timing=(--min-time 0.2 --repeats 5)
only=()
if [ $quick = 1 ]; then
  timing=(--min-time 0.02 --repeats 3)
  only=(--layers resnet18.L2,resnet18.L4,resnet18.L12)
fi

# OpenBLAS picks its kernels for this CPU itself (DYNAMIC_ARCH): drop any
# override inherited from the environment (this machine's shell exports
# OPENBLAS_CORETYPE=Haswell, i.e. AVX2 kernels at about half the speed of
# the AVX-512 ones). CHAMCC_BENCH_KEEP_BLAS_ENV=1 keeps them.
if [ "${CHAMCC_BENCH_KEEP_BLAS_ENV:-0}" != 1 ]; then
  unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
fi

scratch=$(mktemp -d "${TMPDIR:-/tmp}/chamcc-bench-layers.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

echo "building peers ..." >&2
bash "$here/build_peers.sh" "$scratch/peers"

echo "writing one-layer models ..." >&2
/usr/bin/python3 "$here/make_layer_models.py" "$layers" "$scratch/models" "${only[@]}"

"$scratch/peers" "$layers" "${only[@]}" "${timing[@]}" > "$scratch/peers.tsv"
node "$here/ort_layers.js" "$layers" "$scratch/models" "${only[@]}" "${timing[@]}" "${nospin[@]}" > "$scratch/ort.tsv"
: > "$scratch/chamcc.tsv"
if [ -n "$clog" ]; then
  [ -x "${CHAMCC_BUILD:-$root/build}/bench/tune_layers" ] || { echo "run.sh: build/bench/tune_layers is missing (scripts/build.sh)" >&2; exit 1; }
  echo "measuring chamcc's default and tuned kernels ($clog) ..." >&2
  # tune_layers takes the same timing flags as peers
  "${CHAMCC_BUILD:-$root/build}/bench/tune_layers" "$layers" --log "$clog" --eval --net all "${timing[@]}" > "$scratch/chamcc.tsv"
fi

{
  echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), load average $(cut -d' ' -f1-3 /proc/loadavg) at the end."
  echo "GFLOP/s = 2 x MACs / median time, batch 1, fp32; OpenBLAS kernels: $(sed -n 's/^# openblas core: //p' "$scratch/peers.tsv"); oneDNN implementations: $(grep -v '^#' "$scratch/peers.tsv" | cut -f10 | tail -n +2 | sort -u | paste -sd, -); idle threads $([ ${#nospin[@]} = 0 ] && echo spin "(library defaults)" || echo "sleep (--no-spin)")."
  [ $quick = 1 ] && echo "QUICK run: 3 layers, short measurements — not for comparison."
  echo
  awk -F'\t' -f "$here/table.awk" "$scratch/ort.tsv" "$scratch/chamcc.tsv" "$scratch/peers.tsv"
} > "$scratch/table.md"

cat "$scratch/table.md"
[ -z "$out" ] || cp "$scratch/table.md" "$out"
