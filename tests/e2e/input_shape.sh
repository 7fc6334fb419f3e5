#!/usr/bin/env bash
# Symbolic input dimensions (issue 25): a model whose input is [N,3,H,W]
# (Conv, Relu, GlobalAveragePool, Flatten) made with the onnx helper.
#
#   input_shape.sh [common options]
#
# Cases: without --input-shape chamcc refuses it, naming the input and the
# dimension ('H'); with --input-shape x=2,3,20,24 it compiles, -v prints the
# shape, and the header says [2, 3, 20, 24] and [2, 8]; a stated dimension
# that differs (4 channels), a name that is no input, and a malformed value
# are refused; a model with only a symbolic batch compiles for batch 1 and
# says so.
TEST_NAME=input_shape
source "$(dirname "$0")/lib.sh"
parse_common_args "$@"
need_chamcc
"$PY" -c 'import onnx' 2>/dev/null || skip "$PY cannot import onnx"
W=$WORK
rm -rf "$W" && mkdir -p "$W/out"
"$PY" - "$W" <<'EOF' || die "could not write the models"
import sys
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

def save(dims, path):
    w = numpy_helper.from_array(np.ones((8, 3, 3, 3), np.float32), "w")
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv", pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"], name="relu"),
             helper.make_node("GlobalAveragePool", ["r"], ["p"], name="pool"),
             helper.make_node("Flatten", ["p"], ["y"], name="flat")]
    g = helper.make_graph(nodes, "sym", [helper.make_tensor_value_info("x", TensorProto.FLOAT, dims)],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [w])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 7
    onnx.save(m, path)

save(["N", 3, "H", "W"], sys.argv[1] + "/hw.onnx")
save(["N", 3, 16, 16], sys.argv[1] + "/batch.onnx")
EOF

fails=0
fail() { say "FAIL: $*"; fails=$((fails + 1)); }

# refused WANT ARGS...: chamcc ARGS exits 1 or 2 with WANT on stderr and writes nothing.
refused() {
  local want=$1
  shift
  "$CHAMCC" "$@" -o "$W/out/libm.a" --tuner none >"$W/stdout" 2>"$W/stderr"
  local rc=$?
  if { [ $rc -ne 1 ] && [ $rc -ne 2 ]; } || ! grep -qF -e "$want" "$W/stderr" || [ -n "$(ls "$W/out")" ]; then
    fail "chamcc $* -> exit $rc: $(head -2 "$W/stderr") (want: $want)"
  fi
  rm -f "$W/out/"*
}

refused "graph input 'x': dimension 2 ('H') is symbolic" "$W/hw.onnx"
refused "dimension 1 is 3 in the model, not 4" "$W/hw.onnx" --input-shape x=2,4,20,24
refused "'z', which is not a runtime input" "$W/hw.onnx" --input-shape z=2,3,20,24
refused "--input-shape needs NAME=D0,D1" "$W/hw.onnx" --input-shape x=2,3,twenty,24

if "$CHAMCC" "$W/hw.onnx" -o "$W/out/libm.a" --tuner none -v --input-shape x=[2,3,20,24] \
    >"$W/stdout" 2>"$W/stderr"; then
  grep -qF "input 'x' compiled for [2,3,20,24]" "$W/stderr" || fail "-v does not print the input shape"
  grep -qF "input  0 'x': [2, 3, 20, 24]" "$W/out/m.h" || fail "header input shape: $(grep "'x'" "$W/out/m.h")"
  grep -qF "output 0 'y': [2, 8]" "$W/out/m.h" || fail "header output shape: $(grep "'y'" "$W/out/m.h")"
else
  fail "chamcc with --input-shape failed: $(head -2 "$W/stderr")"
fi
rm -f "$W/out/"*

if "$CHAMCC" "$W/batch.onnx" -o "$W/out/libm.a" --tuner none >"$W/stdout" 2>"$W/stderr"; then
  grep -qF "symbolic batch dimension 'N' taken as 1" "$W/stderr" || fail "no notice of the batch taken as 1"
  grep -qF "input  0 'x': [1, 3, 16, 16]" "$W/out/m.h" || fail "batch model header: $(grep "'x'" "$W/out/m.h")"
else
  fail "the batch-only model failed: $(head -2 "$W/stderr")"
fi

[ $fails -eq 0 ] || die "$fails case(s) failed"
say "all cases passed"
