#!/usr/bin/env bash
# chamcc's main job, end to end, on a model generated in the repo:
#   scripts/demo.sh [MODEL] [-- chamcc options]     (MODEL: resnet18 by default)
# Sets everything up (Debian packages, ONNX Runtime for the check), builds
# chamcc, exports the torchvision MODEL with seeded random weights, compiles
# it (tuning its kernels on this machine; the log lives in build/demo/), links
# the library into a small C program, and prints its latency and its largest
# difference from ONNX Runtime on the same random input.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
model=${1:-resnet18}
[ $# -gt 0 ] && shift
[ "${1:-}" = "--" ] && shift
bash "$here/scripts/setup.sh"
bash "$here/scripts/build.sh"
work=$here/build/demo/$model
mkdir -p "$work"
/usr/bin/python3 "$here/models/export_torchvision.py" --models "$model" --out "$here/build/demo" >/dev/null
onnx=$here/build/demo/$model.onnx

echo "== chamcc $onnx -o $work/lib$model.a"
"$here/build/chamcc" "$onnx" -o "$work/lib$model.a" --name model --log "$here/build/demo/tuning.jsonl" "$@"

echo "== linking with: cc main.c lib$model.a -lpthread -lm"
cc -O2 -I"$work" "$here/tests/tools/run_model.c" "$work/lib$model.a" -lpthread -lm -o "$work/run"

echo "== ONNX Runtime reference (seeded random input)"
node "$here/tests/oracle/ort_run.js" "$onnx" "$work/ref" --seed 1 >/dev/null
args=()
for f in "$work"/ref/input_*.bin; do args+=(--in "$f"); done
for f in "$work"/ref/output_*.bin; do args+=(--ref "$f"); done
echo "== running lib$model.a"
"$work/run" "${args[@]}" --bench 50
