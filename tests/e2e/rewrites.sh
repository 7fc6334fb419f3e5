#!/usr/bin/env bash
# The graph rewrites against ONNX Runtime: the small models of
# make_rewrite_models.py (each rewrite taken, and a near twin where it must
# be refused) through models.sh; and for each, whether chamcc -v's graph
# still has the node the rewrite removes, as the case's name promises.
#
#   rewrites.sh [common options]
TEST_NAME=rewrites
source "$(dirname "$0")/lib.sh"
parse_common_args "$@"
need_chamcc
need_python_onnx
d=$WORK/models
rm -rf "$d" && "$PY" "$E2E_DIR/make_rewrite_models.py" "$d" || die "make_rewrite_models.py failed"

# Which cases keep their Pad (the others must lose it).
keeps=" pad_conv_value pad_avg_excl pad_shared "
for f in "$d"/*.onnx; do
  n=$(basename "$f" .onnx)
  pads=$("$CHAMCC" "$f" -o "$WORK/$n.a" --tuner none -v 2>&1 | grep -c "^Pad '" || true)
  want=$([[ $keeps == *" $n "* ]] && echo 1 || echo 0)
  [ "$pads" = "$want" ] || die "$n: chamcc's graph has $pads Pad node(s), expected $want"
done
say "every Pad folded or kept as its case says"
exec bash "$E2E_DIR/models.sh" --chamcc "$CHAMCC" --tools "$TOOLS" --src "$SRC" --work "$WORK/run" "$d"/*.onnx
