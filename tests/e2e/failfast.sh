#!/usr/bin/env bash
# chamcc refuses what it can check before any work (issue 26): the output
# folder, the header beside the library, the tuning log's folder, the logs
# to read (a second --log that does not exist; a --log folder is fine), the
# dumps' paths, the target and CPU names and the runner. Each case must
# exit 1 within 5 seconds with one "chamcc: ..." line that says what is
# wrong, and write nothing (no library, header or log).
#
#   failfast.sh [common options]
#
# Most cases name a model that does not exist: the error being about the
# path and not the model shows the path is checked first. The first case
# runs on a real model with tuning on (it used to tune, then fail).
TEST_NAME=failfast
source "$(dirname "$0")/lib.sh"
parse_common_args "$@"
need_chamcc
W=$WORK
rm -rf "$W" && mkdir -p "$W/out" "$W/adir" "$W/hdr/x.h"
model=/usr/share/libonnx-testdata/data/pytorch-converted/test_Conv2d/model.onnx
[ -f "$model" ] || skip "libonnx-testdata is not installed ($model)"
missing=$W/missing.onnx
fails=0

# expect WANT ARGS...: chamcc ARGS fails with status 1 within 5 s, its
# stderr is one line starting "chamcc: " that contains WANT, and the
# output folder stays empty.
expect() {
  local want=$1 t0 t1 rc
  shift
  t0=$(date +%s%N)
  timeout 30 "$CHAMCC" "$@" >"$W/stdout" 2>"$W/stderr"
  rc=$?
  t1=$(date +%s%N)
  local ms=$(((t1 - t0) / 1000000)) err
  err=$(cat "$W/stderr")
  if [ $rc -ne 1 ] || [ $ms -gt 5000 ] || [ "$(wc -l <"$W/stderr")" -ne 1 ] ||
    [[ "$err" != "chamcc: "* ]] || [[ "$err" != *"$want"* ]] ||
    [ -n "$(ls "$W/out" "$W/hdr" | grep -v '^x\.h$\|:$\|^$')" ] || [ -e "$W/log.jsonl" ]; then
    echo "FAIL: chamcc $* -> exit $rc in $ms ms: $err (want: $want)"
    ls "$W/out" "$W/hdr" "$W/log.jsonl" 2>/dev/null
    fails=$((fails + 1))
  else
    echo "ok ($ms ms): $err"
  fi
  rm -f "$W/log.jsonl"
}

log=(--log "$W/log.jsonl")
expect "-o /no/such/dir/libx.a: the folder /no/such/dir does not exist" \
  "$model" -o /no/such/dir/libx.a "${log[@]}" --trials 4
expect "-o /no/such/dir/libx.a: the folder /no/such/dir does not exist" "$missing" -o /no/such/dir/libx.a "${log[@]}"
expect "-o $W/adir is a folder" "$missing" -o "$W/adir" "${log[@]}"
expect "the header $W/hdr/x.h is a folder" "$missing" -o "$W/hdr/libx.a" "${log[@]}"
expect "the tuning log /no/such/dir/t.jsonl: the folder /no/such/dir does not exist" \
  "$missing" -o "$W/out/libx.a" --log /no/such/dir/t.jsonl
expect "the tuning log $W/nolog.jsonl: No such file" tune "$missing" --log "$W/adir" --log "$W/nolog.jsonl"
XDG_CACHE_HOME=/no/such/dir expect "the tuning log /no/such/dir/chamcc/tuning.jsonl: the folder /no/such/dir/chamcc" \
  tune "$missing"
expect "--emit-llvm /no/such/dir/x.ll: the folder" "$missing" -o "$W/out/libx.a" "${log[@]}" --emit-llvm /no/such/dir/x.ll
expect "--dump-ir $W/adir is a folder" "$missing" -o "$W/out/libx.a" "${log[@]}" --dump-ir "$W/adir"
expect "unsupported target 'bogus-linux-gnu'" "$missing" -o "$W/out/libx.a" "${log[@]}" --target bogus-linux-gnu
expect "unsupported AArch64 CPU 'skylake'" "$missing" -o "$W/out/libx.a" "${log[@]}" \
  --target aarch64-linux-gnu --cpu skylake
expect "--runner 127.0.0.1:1: connect" tune "$missing" "${log[@]}" --runner 127.0.0.1:1
expect "--runner 127.0.0.1:1: connect" "$missing" -o "$W/out/libx.a" "${log[@]}" --runner 127.0.0.1:1
expect "--runner 'nowhere' is not HOST:PORT" tune "$missing" "${log[@]}" --runner nowhere
if [ "$(id -u)" -ne 0 ]; then # root writes anywhere
  mkdir -p "$W/ro" && chmod a-w "$W/ro"
  expect "-o $W/ro/libx.a: cannot write in $W/ro" "$missing" -o "$W/ro/libx.a" "${log[@]}"
fi

# Good paths pass the checks: the model is the first thing wrong, then nothing.
expect "$missing" "$missing" -o "$W/out/libx.a" "${log[@]}" --tuner none
"$CHAMCC" "$model" -o "$W/out/libok.a" "${log[@]}" --tuner none -q || { echo "FAIL: a good build failed"; fails=$((fails + 1)); }
[ -s "$W/out/libok.a" ] && [ -s "$W/out/ok.h" ] || { echo "FAIL: the good build wrote nothing"; fails=$((fails + 1)); }

[ $fails -eq 0 ] || { echo "$fails cases failed"; exit 1; }
echo "all fail-fast cases passed"
