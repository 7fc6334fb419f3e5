#!/usr/bin/env bash
# vs_onednn.sh — chamcc's kernels against oneDNN's convolution, layer by
# layer, side by side: for each layer of cnn_layers.json, R rounds that
# alternate oneDNN and chamcc (the order swaps every round, and so does
# that of chamcc's default and tuned config), at 1 and 2
# threads, and per layer the medians over rounds and the median and range
# of the per-round ratios chamcc / oneDNN (issue 27's per-layer bar).
#
#   bench/layers/vs_onednn.sh [--log1 LOG] [--log2 LOG] [--rounds R] [--layers a,b,c]
#                             [--min-time S] [--repeats N] [--beside] [--out TABLE.md]
#
# --beside: both libraries in one process instead (build/bench/beside,
# built where libdnnl-dev is installed), each round a slice of about 30 ms
# of each (oneDNN, chamcc's default, chamcc's tuned config) one after the
# other, so that a round's ratio comes from one window of about half a
# second, not from processes seconds apart; --min-time and --repeats do
# not apply (see bench/layers/beside.c).
#
# --log1 / --log2: the tuning logs of the 1- and 2-thread columns (e.g.
# `build/bench/tune_layers LAYERS --net all --threads 2 --trials 200 --log
# L2`); chamcc's tuned config of a layer is the best its log holds among the
# records measured on that thread count. Without a log, the tuned column
# is "-" and the table compares the default schedules alone.
# oneDNN: its convolution primitive in its own blocked layout, reorders
# excluded (peers.c); chamcc: tune_layers --eval, the kernel chamcc builds
# for the layer inside a model. Each measurement: repeats x at least
# min-time seconds (default 3 x 0.1 s), median. Needs libdnnl-dev
# (CHAMCC_SETUP_BENCH=1 scripts/setup.sh) and scripts/build.sh first.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
layers=$root/../shared/workloads/cnn_layers.json
build=${CHAMCC_BUILD:-$root/build}
log1="" log2="" rounds=5 only="" min_time=0.1 repeats=3 out="" beside=0
usage() {
  echo "usage: $0 [--log1 LOG] [--log2 LOG] [--rounds R] [--layers a,b,c] [--min-time S] [--repeats N] [--beside] [--out TABLE.md]" >&2
  exit 2
}
while [ $# -gt 0 ]; do
  [ "$1" != --beside ] || { beside=1; shift; continue; }
  [ $# -ge 2 ] || usage
  case $1 in
    --log1) log1=$2 ;;
    --log2) log2=$2 ;;
    --rounds) rounds=$2 ;;
    --layers) only=$2 ;;
    --min-time) min_time=$2 ;;
    --repeats) repeats=$2 ;;
    --out) out=$2 ;;
    *) usage ;;
  esac
  shift 2
done
[ -x "$build/bench/tune_layers" ] || { echo "vs_onednn.sh: $build/bench/tune_layers is missing (scripts/build.sh)" >&2; exit 1; }
((!beside)) || [ -x "$build/bench/beside" ] || {
  echo "vs_onednn.sh: $build/bench/beside is missing (it needs libdnnl-dev at build time: CHAMCC_SETUP_BENCH=1 scripts/setup.sh, then scripts/build.sh)" >&2
  exit 1
}

scratch=$(mktemp -d "${TMPDIR:-/tmp}/chamcc-vs-onednn.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
((beside)) || bash "$here/build_peers.sh" "$scratch/peers"
for t in 1 2; do
  v=log$t
  [ -n "${!v}" ] || { : > "$scratch/empty$t.jsonl"; printf -v "$v" '%s' "$scratch/empty$t.jsonl"; }
  [ -f "${!v}" ] || { echo "vs_onednn.sh: no log ${!v}" >&2; exit 1; }
done
[ -n "$only" ] || only=$(/usr/bin/python3 -c 'import json,sys; print(",".join(l["name"] for l in json.load(open(sys.argv[1]))["layers"]))' "$layers")

timing=(--min-time "$min_time" --repeats "$repeats")
dnnl() { "$scratch/peers" "$layers" --layers "$1" --libs dnnl "${timing[@]}" 2>/dev/null | grep -v '^#' | tail -n +2; }
# cham LAYER ROUND: odd rounds measure the tuned config before the default
cham() {
  local a b order=()
  (($2 % 2)) && order=(--tuned-first)
  a=$("$build/bench/tune_layers" "$layers" --log "$log1" --eval --net all --layer "$1" --threads 1 "${timing[@]}" "${order[@]}" | tail -n 1)
  b=$("$build/bench/tune_layers" "$layers" --log "$log2" --eval --net all --layer "$1" --threads 2 "${timing[@]}" "${order[@]}" | tail -n 1)
  # name def1 def2 tuned1 tuned2: 1T from the first run, 2T from the second
  paste <(cut -f1,2 <<<"$a") <(cut -f3 <<<"$b") <(cut -f4 <<<"$a") <(cut -f5 <<<"$b")
}
IFS=, read -r -a names <<<"$only"
((!beside)) || names=() # one process for every layer, below
for name in "${names[@]}"; do
  for ((r = 0; r < rounds; r++)); do
    if ((r % 2 == 0)); then
      dnnl "$name" | sed "s/^/dnnl\t$r\t/" >> "$scratch/rows.tsv"
      cham "$name" $r | sed "s/^/cham\t$r\t/" >> "$scratch/rows.tsv"
    else
      cham "$name" $r | sed "s/^/cham\t$r\t/" >> "$scratch/rows.tsv"
      dnnl "$name" | sed "s/^/dnnl\t$r\t/" >> "$scratch/rows.tsv"
    fi
  done
  echo "vs_onednn: $name done" >&2
done
if ((beside)); then
  "$build/bench/beside" "$layers" --layers "$only" --log1 "$log1" --log2 "$log2" --rounds "$rounds" >> "$scratch/rows.tsv"
  how="in one process, slices of oneDNN and chamcc alternating (bench/layers/beside.c)"
else
  how="oneDNN and chamcc alternating, ${repeats} x ${min_time} s per measurement"
fi

{
  echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), family $(grep -m1 'cpu family' /proc/cpuinfo | cut -d: -f2 | tr -d ' ') model $(grep -m1 '^model\s' /proc/cpuinfo | cut -d: -f2 | tr -d ' ')), load average $(cut -d' ' -f1-3 /proc/loadavg) at the end; $rounds rounds, $how."
  echo
  /usr/bin/python3 "$here/vs_onednn_table.py" "$scratch/rows.tsv"
} > "$scratch/table.md"
cat "$scratch/table.md"
[ -z "$out" ] || cp "$scratch/table.md" "$out"
