#!/usr/bin/env bash
# chamcc on bad input: every case must fail cleanly.
#
#   badinput.sh [common options]
#
# Cases: a missing file, an empty file, a model cut in half, a file that is
# not protobuf, unsupported ops (Det, LSTM), inconsistent shapes (Add of
# [1,3,4] and [1,5,4]), a dangling tensor name, an int64 graph input,
# external data that escapes the model's folder (../secret.bin), bad command
# lines (unknown option, -o without a value, --threads zero, a --name that is
# not a C identifier, no arguments). The models are written at
# test time by make_bad_models.py (/usr/bin/python3 + onnx); without them
# only the cases that need no Python run.
# Shapes that overflow or exceed chamcc's limit of 2^31 elements (Pad of
# 2^62 and 2^31, Conv pads 2^40, dilation and stride 2^62, ConstantOfShape
# of 2^62 into a Concat, a Reshape product, a broadcast, a Concat sum, a
# Range, a graph input of 2^40 elements) must be refused within 10 seconds
# with a message that names the node and says 2^31.
# Each case passes when chamcc exits non-zero without crashing (not 124
# timeout, not >= 128 signal), its stderr starts with "chamcc: " and names
# the file (and, where there is one, the node as node 'NAME'; with `want=TEXT`
# before the call, also TEXT), and no libmodel.a or model.h is left behind.
# `limit=SECONDS` before the call sets the timeout (60 by default).
TEST_NAME=badinput
source "$(dirname "$0")/lib.sh"
parse_common_args "$@"
need_chamcc
W=$WORK
rm -rf "$W" && mkdir -p "$W/out"
have_py=0
if "$PY" -c 'import onnx, numpy' 2>/dev/null; then
  "$PY" "$E2E_DIR/make_bad_models.py" "$W" || die "make_bad_models.py failed"
  have_py=1
else
  say "note: $PY cannot import onnx and numpy: the generated-model cases are skipped"
fi
printf '' >"$W/empty.onnx"
printf 'This is not an ONNX model, just some text.\n' >"$W/notprotobuf.onnx"
good=$W/good.onnx
[ -f "$good" ] || good=/usr/share/libonnx-testdata/data/pytorch-converted/test_Conv2d/model.onnx
if [ -f "$good" ]; then
  size=$(stat -c %s "$good")
  head -c $((size / 2)) "$good" >"$W/truncated.onnx"
fi

passed=0 failed=0 skipped=0
# check NAME FILE NODE [CHAMCC ARGS...]: NODE is "" when no node is involved,
# FILE "" when no file is (command-line errors).
check() {
  local name=$1 file=$2 node=$3
  shift 3
  local args=("$@")
  if [ -n "$file" ] && [ ! -e "$file" ] && [ "$name" != missing ]; then
    vsay "skip $name: $file not generated"
    skipped=$((skipped + 1))
    return
  fi
  if [ "${args[0]:-}" = NOARGS ]; then args=()
  elif [ ${#args[@]} -eq 0 ]; then args=("$file" -o "$W/out/libmodel.a" --name model)
  fi
  rm -f "$W/out/"*
  timeout "${limit:-60}" "$CHAMCC" "${args[@]}" >"$W/$name.out" 2>"$W/$name.err"
  local rc=$? why=""
  local first
  first=$(head -n1 "$W/$name.err")
  if [ $rc -eq 0 ]; then why="exit status 0"
  elif [ $rc -eq 124 ]; then why="timed out"
  elif [ $rc -ge 128 ]; then why="killed by signal $((rc - 128)) (exit $rc)"
  elif [[ "$first" != "chamcc: "* ]]; then why="stderr does not start with 'chamcc: '"
  elif [ -n "$file" ] && ! grep -qF -e "$file" -e "$(basename "$file")" "$W/$name.err"; then
    why="stderr does not name the file"
  elif [ -n "$node" ] && ! grep -qF "node '$node'" "$W/$name.err"; then
    why="stderr does not name node '$node'"
  elif [ -n "${want:-}" ] && ! grep -qF -e "$want" "$W/$name.err"; then
    why="stderr does not say '$want'"
  elif [ -n "$(ls -A "$W/out")" ]; then why="left behind: $(ls -A "$W/out" | tr '\n' ' ')"
  fi
  if [ -z "$why" ]; then
    passed=$((passed + 1))
    vsay "ok $name: exit $rc: $first"
  else
    failed=$((failed + 1))
    say "FAIL $name: $why"
    say "    chamcc ${args[*]}"
    sed 's/^/    stderr: /' "$W/$name.err" | head -5
  fi
}

check missing "$W/missing.onnx" ""
check empty "$W/empty.onnx" ""
check truncated "$W/truncated.onnx" ""
check notprotobuf "$W/notprotobuf.onnx" ""
check unsupported_det "$W/det.onnx" det_node
check unsupported_lstm "$W/lstm.onnx" lstm_node
check shape_mismatch "$W/shape_mismatch.onnx" bad_add
check dangling_name "$W/dangling.onnx" dangling_relu
check int64_input "$W/int64_input.onnx" ""
check external_escape "$W/models/external_escape.onnx" ""
for f in "$W"/overflow_*.onnx; do
  [ -e "$f" ] || continue
  name=$(basename "$f" .onnx)
  node=big
  [ "$name" = overflow_input_dims ] && node=""
  want="2^31" limit=10 check "$name" "$f" "$node"
done
# Constants each within the limits whose folding would make 56 MiB from a
# few hundred bytes: refused at the node that crosses the folding budget.
want="constant folding" limit=10 check fold_amplify "$W/fold_amplify.onnx" amplify
if [ -f "$good" ]; then
  check bad_option "" "" "$good" -o "$W/out/libmodel.a" --name model --frobnicate
  check missing_o_value "" "" "$good" -o
  check bad_threads "" "" "$good" -o "$W/out/libmodel.a" --name model --threads zero
  check bad_name "" "" "$good" -o "$W/out/libmodel.a" --name "no spaces; allowed"
fi
check no_arguments "" "" NOARGS # a usage error
say "$passed passed, $failed failed$([ $skipped -gt 0 ] && echo ", $skipped skipped")"
[ $failed -eq 0 ]
