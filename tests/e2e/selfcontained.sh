#!/usr/bin/env bash
# The generated library stands alone: it links with -lpthread -lm and nothing
# else, its header compiles on its own (C11, -Wall -Wextra -Werror, and as
# C++ when c++ is installed), NAME_run is reentrant (run_model
# --threads-check: 2 threads at once, bitwise identical to one), and the
# archive's undefined symbols all come from libc, libm, libpthread, libgcc or
# the dynamic loader (nm): no LLVM, protobuf-c, cJSON, OpenBLAS or
# XGBoost.
#
#   selfcontained.sh [common options] [MODEL.onnx]
#
# Model: the given one, else tiny_cnn from the model cache (exported on demand
# when torch is there), else the good model of make_bad_models.py, else
# ONNX's pytorch-converted/test_Conv2d.
TEST_NAME=selfcontained
source "$(dirname "$0")/lib.sh"
parse_common_args "$@"
need_chamcc
need_cmd cc
W=$WORK
rm -rf "$W" && mkdir -p "$W"
CACHE=${CHAMCC_MODEL_CACHE:-$WORK/../model-cache}
model=${ARGS[0]:-}
if [ -z "$model" ]; then
  if [ -s "$CACHE/tiny_cnn.onnx" ] || "$PY" "$SRC/models/export_torchvision.py" --models tiny_cnn --out "$CACHE" >"$W/export.log" 2>&1; then
    model=$CACHE/tiny_cnn.onnx
  elif "$PY" "$E2E_DIR/make_bad_models.py" "$W/gen" >"$W/gen.log" 2>&1; then
    model=$W/gen/good.onnx
  elif [ -f /usr/share/libonnx-testdata/data/pytorch-converted/test_Conv2d/model.onnx ]; then
    model=/usr/share/libonnx-testdata/data/pytorch-converted/test_Conv2d/model.onnx
  else
    skip "no model: neither torch, onnx+numpy nor libonnx-testdata is available"
  fi
fi
say "model $model"
fails=0
fail() { say "FAIL: $*"; fails=$((fails + 1)); }

# 1. compile and link with nothing but -lpthread -lm
compile_model "$model" "$W"
case $? in
0) say "ok: linked with -lpthread -lm only" ;;
1) sed 's/^/    /' "$W/chamcc.log"; die "chamcc failed" ;;
*) sed 's/^/    /' "$W/cc.log"; fail "the library does not link with -lpthread -lm alone"; exit 1 ;;
esac

# 2. the header on its own
printf '#include "model.h"\nint main(void) { return model_num_inputs() < 0; }\n' >"$W/hdr.c"
if cc -std=c11 -Wall -Wextra -Werror -pedantic -I "$W" "$W/hdr.c" "$W/libmodel.a" -lpthread -lm -o "$W/hdr" 2>"$W/hdr.log"; then
  say "ok: model.h compiles alone as C11 -Wall -Wextra -Werror -pedantic"
else
  sed 's/^/    /' "$W/hdr.log"; fail "model.h does not compile on its own"
fi
if command -v c++ >/dev/null; then
  cp "$W/hdr.c" "$W/hdr.cc"
  if c++ -Wall -Werror -I "$W" "$W/hdr.cc" "$W/libmodel.a" -lpthread -lm -o "$W/hdrcc" 2>"$W/hdrcc.log"; then
    say "ok: model.h usable from C++ (extern \"C\")"
  else
    sed 's/^/    /' "$W/hdrcc.log" | head -5; fail "model.h is not usable from C++ (missing extern \"C\"?)"
  fi
fi

# 3. reentrancy
if run_limited "$W/run" -v --threads-check >"$W/threads.log" 2>&1; then
  sed 's/^/    /' "$W/threads.log"
  say "ok: threads-check"
else
  sed 's/^/    /' "$W/threads.log"; fail "threads-check"
fi

# 4. undefined symbols
if command -v nm >/dev/null; then
  libdir=$(dirname "$(cc -print-file-name=libc.so.6)")
  [ -f "$libdir/libc.so.6" ] || libdir=/lib/$(cc -dumpmachine)
  {
    for l in libc.so.6 libm.so.6 libpthread.so.0 libmvec.so.1; do
      [ -f "$libdir/$l" ] && nm -D --defined-only "$libdir/$l"
    done
    nm -D --defined-only "$(cc -print-file-name=ld-linux-x86-64.so.2)" 2>/dev/null
    nm --defined-only "$(cc -print-libgcc-file-name)" 2>/dev/null
  } | awk 'NF >= 3 { sub(/@.*/, "", $3); print $3 }' | sort -u >"$W/allowed.txt"
  nm "$W/libmodel.a" 2>/dev/null | awk '$1 == "U" { print $2 }' | sed 's/@.*//' | sort -u >"$W/undef.txt"
  nm --defined-only "$W/libmodel.a" 2>/dev/null | awk 'NF >= 3 { print $3 }' | sort -u >"$W/defined.txt"
  comm -23 "$W/undef.txt" "$W/defined.txt" | comm -23 - "$W/allowed.txt" |
    grep -v -e '^_GLOBAL_OFFSET_TABLE_$' -e '^__tls_get_addr$' -e '^_DYNAMIC$' >"$W/foreign.txt"
  if [ -s "$W/foreign.txt" ]; then
    fail "undefined symbols outside libc/libm/libpthread/libgcc: $(head -20 "$W/foreign.txt" | tr '\n' ' ')"
  else
    say "ok: $(wc -l <"$W/undef.txt") undefined symbols, all from libc/libm/libpthread/libgcc"
  fi
  # Even if another library were linked in whole, its names must not be there.
  if nm "$W/libmodel.a" 2>/dev/null | grep -qiE ' (LLVM|protobuf_c_|cJSON_|ffi_|XGB|cblas_|sgemm_|openblas)'; then
    fail "the archive contains symbols of the compiler's own dependencies: $(nm "$W/libmodel.a" | grep -iE ' (LLVM|protobuf_c_|cJSON_|ffi_|XGB|cblas_|sgemm_|openblas)' | head -5 | tr '\n' ' ')"
  fi
  say "archive: $(stat -c %s "$W/libmodel.a") bytes, $(ar t "$W/libmodel.a" | wc -l) members; exported: $(nm --defined-only -g "$W/libmodel.a" | awk 'NF >= 3 && $2 ~ /[TDRB]/ { print $3 }' | grep -vc '^model_') symbols besides model_*"
else
  say "note: nm is not installed, symbol check skipped"
fi

[ $fails -eq 0 ] || { say "$fails checks FAILED"; exit 1; }
say "passed"
