#!/usr/bin/env bash
# Tests the end-to-end harness itself, without the compiler: builds the
# hand-written fake library (fake_model.c, y = 2x + b, s = sum x) and checks
# that run_model accepts right answers and rejects every kind of wrong one
# (value error, NaN, size mismatch, wrong file count, a data race), and that
# the fake chamcc + pb2raw + compare path passes an ONNX Identity test case.
TEST_NAME=e2e_harness
source "$(dirname "$0")/../lib.sh"
parse_common_args "$@"
set -u
need_cmd cc
need_cmd "$PY"
fake=$E2E_DIR/fake
W=$WORK
fails=0

check() { # check EXPECTED_STATUS DESCRIPTION CMD...
  local want=$1 what=$2
  shift 2
  "$@" >"$W/last.log" 2>&1
  local got=$?
  if [ "$got" = "$want" ]; then
    vsay "ok: $what (exit $got)"
  else
    say "FAIL: $what: exit $got, expected $want"
    sed 's/^/    /' "$W/last.log"
    fails=$((fails + 1))
  fi
}

build_fake() { # build_fake DIR CFLAGS...
  local d=$1
  shift
  mkdir -p "$d"
  cp "$fake/model.h" "$d/model.h"
  cc -O2 "$@" -c "$fake/fake_model.c" -I "$d" -o "$d/fake.o" &&
    ar rcs "$d/libmodel.a" "$d/fake.o" &&
    cc -O2 -I "$d" "$SRC/tests/tools/run_model.c" "$d/libmodel.a" -lpthread -lm -o "$d/run"
}
build_fake "$W/good" || die "cannot build the fake library"
build_fake "$W/racy" -DFAKE_BUG=1 || die "cannot build the racy fake library"

# Reference data: x, b and the exact outputs, written by Python (numpy-free).
"$PY" - "$W" <<'PY'
import struct, sys, random
w = sys.argv[1]
random.seed(7)
x = [random.uniform(-1, 1) for _ in range(48)]
b = [0.5, -0.25, 2.0]
x = list(struct.unpack('48f', struct.pack('48f', *x)))  # round to float32
y = [2 * x[i] + b[i // 16] for i in range(48)]
s = [sum(struct.unpack('16f', struct.pack('16f', *x[c*16:c*16+16]))) for c in range(3)]
def put(name, v): open(f"{w}/{name}", "wb").write(struct.pack(f"{len(v)}f", *v))
put("x.bin", x); put("b.bin", b); put("y.bin", y); put("s.bin", s)
y2 = list(y); y2[5] += 0.01 * max(abs(v) for v in y); put("y_off.bin", y2)
y3 = list(y); y3[7] += 1e-6; put("y_close.bin", y3)
y4 = list(y); y4[0] = float("nan"); put("y_nan.bin", y4)
put("y_short.bin", y[:47])
put("zero.bin", [0.0] * 3)
PY
R=$W/good/run
IN=(--in "$W/x.bin" --in "$W/b.bin")
check 0 "prints the declared inputs and outputs" "$R" -v
grep -q 'input 1 b \[1,3,1,1\]' "$W/last.log" && grep -q 'output 1 s \[1,3\]' "$W/last.log" ||
  { say "FAIL: -v does not list the shapes"; fails=$((fails + 1)); }
check 0 "exact reference" "$R" "${IN[@]}" --ref "$W/y.bin" --ref "$W/s.bin"
check 0 "reference within 1e-4" "$R" "${IN[@]}" --ref "$W/y_close.bin" --ref "$W/s.bin"
check 1 "reference off by 1%" "$R" "${IN[@]}" --ref "$W/y_off.bin" --ref "$W/s.bin"
check 0 "reference off by 1% with --tol 0.02" "$R" "${IN[@]}" --ref "$W/y_off.bin" --ref "$W/s.bin" --tol 0.02
check 1 "NaN in the reference" "$R" "${IN[@]}" --ref "$W/y_nan.bin" --ref "$W/s.bin"
check 1 "reference of the wrong size" "$R" "${IN[@]}" --ref "$W/y_short.bin" --ref "$W/s.bin"
check 1 "all-zero reference (absolute metric)" "$R" "${IN[@]}" --ref "$W/y.bin" --ref "$W/zero.bin"
check 1 "one --ref for two outputs" "$R" "${IN[@]}" --ref "$W/y.bin"
check 2 "input of the wrong size" "$R" --in "$W/y_short.bin" --in "$W/b.bin"
check 2 "missing input file" "$R" --in "$W/nope.bin" --in "$W/b.bin"
check 2 "bad option" "$R" --frobnicate
check 0 "--out writes the outputs" "$R" "${IN[@]}" --out "$W/y_got.bin" --out "$W/s_got.bin"
cmp -s "$W/y_got.bin" "$W/y.bin" || { say "FAIL: --out differs from the expected y"; fails=$((fails + 1)); }
check 0 "threads-check on a reentrant library" "$R" --threads-check
check 1 "threads-check catches a data race" "$W/racy/run" --threads-check
check 0 "bench" "$R" --bench 5
grep -q 'median .* ms, min .* ms' "$W/last.log" || { say "FAIL: bench prints no median"; fails=$((fails + 1)); }

# The conformance path with the fake compiler: an Identity case passes,
# a Relu case is caught.
if [ -x "$TOOLS/pb2raw" ] && [ -x "$TOOLS/onnx_ops" ] && [ -d /usr/share/libonnx-testdata/data/node ]; then
  export CHAMCC_TOOLS=$TOOLS
  for c in identity:0 relu:1; do
    n=${c%:*} want=${c#*:}
    d=/usr/share/libonnx-testdata/data/node/test_$n
    o=$W/case_$n
    CHAMCC=$fake/fake_chamcc.sh
    compile_model "$d/model.onnx" "$o" || die "fake chamcc failed on test_$n: $(cat "$o/chamcc.log" "$o/cc.log" 2>/dev/null)"
    "$TOOLS/pb2raw" "$d/test_data_set_0/input_0.pb" "$o/in0.bin" >/dev/null &&
      "$TOOLS/pb2raw" "$d/test_data_set_0/output_0.pb" "$o/out0.bin" >/dev/null || die "pb2raw failed"
    check "$want" "fake compiler on test_$n" "$o/run" --in "$o/in0.bin" --ref "$o/out0.bin"
  done
  check 2 "pb2raw refuses a non-float tensor" "$TOOLS/pb2raw" \
    /usr/share/libonnx-testdata/data/node/test_argmax_default_axis_example/test_data_set_0/output_0.pb "$W/int.bin"
else
  say "note: pb2raw/onnx_ops or libonnx-testdata missing, conformance path not checked"
fi

if [ "$fails" -gt 0 ]; then
  say "$fails harness checks FAILED"
  exit 1
fi
say "all harness checks passed"
