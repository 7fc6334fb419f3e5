#!/usr/bin/env bash
# A generated library in a shared object (label runtime): builds a tiny
# model with `chamcc --tuner none --threads 4`, links libtiny.a into
# libtiny.so (the archive's objects are position independent), and lets
# dlopen_host load, run and unload it 100 times: no crash, the same output
# every time, and no worker thread left behind after a dlclose.
#
#   dlopen.sh CHAMCC DLOPEN_HOST SRC WORK
# Exit status: 0 pass, 1 fail, 77 skipped (python3 lacks onnx or numpy).
set -uo pipefail
CHAMCC=$1 HOST=$2 SRC=$3 WORK=$4
fail() { echo "dlopen: FAIL: $*" >&2; exit 1; }

/usr/bin/python3 -c 'import onnx, numpy' 2>/dev/null || { echo "dlopen: SKIPPED: no python3 onnx" >&2; exit 77; }
rm -rf "$WORK" && mkdir -p "$WORK" || fail "cannot make $WORK"
/usr/bin/python3 "$SRC/tests/runner/make_model.py" "$WORK/tiny.onnx" 16 16 || fail "cannot write the model"
"$CHAMCC" "$WORK/tiny.onnx" -o "$WORK/libtiny.a" --tuner none --threads 4 --log "$WORK/log.jsonl" -q ||
  fail "chamcc failed"
cc -shared -o "$WORK/libtiny.so" -Wl,--whole-archive "$WORK/libtiny.a" -Wl,--no-whole-archive -lpthread -lm ||
  fail "cannot link libtiny.a into a shared object"
"$HOST" "$WORK/libtiny.so" tiny 100 || fail "dlopen_host found problems"
echo "dlopen: ok"
