#!/usr/bin/env bash
# Tuners head to head on the benchmark layers (issues 3 and 4): every tuner,
# every seed, the same measurer, one log per (tuner, seed), then one report.
#
#   bench/tuners.sh [--trials N] [--seeds "1 2 3"] [--tuners "autotvm chameleon rl sa-as"]
#                   [--net resnet18|vgg16|alexnet|vgg16,alexnet|all] [--layer NAME] [--out DIR] [--bin DIR]
#
# --layer tunes one layer of the net only (its tuner is seeded as in a whole
# run). --bin takes chamcc, tune_layers and tune_picks from DIR instead of
# build/ and build/bench/ (frozen copies, so that a long series of runs is not
# changed by rebuilding in between).
#
# Writes DIR/TUNER-sSEED.jsonl (resumable: rerun the same command after an
# interruption), DIR/TUNER-sSEED.md (default vs tuned GFLOP/s per layer),
# DIR/report.md and DIR/curves.svg (chamcc report over all logs), and
# DIR/picks.md: every config a run ever picked as its best, timed again 7
# times in alternation, with time to target and best at 200/400/800 on those
# values (tune_picks: single measurements are too noisy to decide them).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
trials=800 seeds="1 2 3" tuners="autotvm chameleon rl sa-as" net=resnet18 out=$here/build/bench-tuners
layer=() chamcc=$here/build/chamcc tune_layers=$here/build/bench/tune_layers tune_picks=$here/build/bench/tune_picks
while [ $# -gt 0 ]; do
  case $1 in
    --trials) trials=$2; shift 2 ;;
    --seeds) seeds=$2; shift 2 ;;
    --tuners) tuners=$2; shift 2 ;;
    --net) net=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --layer) layer=(--layer "$2"); shift 2 ;;
    --bin) chamcc=$2/chamcc tune_layers=$2/tune_layers tune_picks=$2/tune_picks; shift 2 ;;
    *) echo "usage: see the header of $0" >&2; exit 2 ;;
  esac
done
layers=${CHAMCC_LAYERS:-$here/../shared/workloads/cnn_layers.json}
mkdir -p "$out"
for s in $seeds; do
  for t in $tuners; do
    echo "== $t, seed $s, $trials measurements per layer ($net)" >&2
    "$tune_layers" "$layers" --log "$out/$t-s$s.jsonl" --tuner "$t" --trials "$trials" \
      --seed "$s" --net "$net" "${layer[@]}" >"$out/$t-s$s.md"
    cat "$out/$t-s$s.md"
  done
done
"$chamcc" report "$out"/*.jsonl -o "$out/curves.svg" >"$out/report.md"
cat "$out/report.md"
"$tune_picks" --rounds 7 "$out"/*.jsonl >"$out/picks.md"
cat "$out/picks.md"
