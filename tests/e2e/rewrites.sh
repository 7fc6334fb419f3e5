#!/usr/bin/env bash
# The graph rewrites and layout plans against ONNX Runtime: the small
# models of make_rewrite_models.py (each rewrite taken, and a near twin
# where it must be refused) through models.sh; and for each, that chamcc -v
# shows what the case promises: the Pad folded or kept (its graph listing),
# the Concat written in place or copied, the Transpose to NHWC read from
# the blocked layout or not, the pooled channels of a squeeze-and-excitation
# block reordered or not, the 3x3 convolutions by Winograd or not, the
# Max / Min of a constant in the epilogue or not (its plan's calls).
#
#   rewrites.sh [common options]
TEST_NAME=rewrites
source "$(dirname "$0")/lib.sh"
parse_common_args "$@"
need_chamcc
need_python_onnx
d=$WORK/models
rm -rf "$d" && "$PY" "$E2E_DIR/make_rewrite_models.py" "$d" || die "make_rewrite_models.py failed"

# CASE: the lines of chamcc -v it must show (a grep pattern) and how many.
declare -A pattern=([pad]="^Pad '" [concat]="^call [0-9]*: [a-z0-9_]*_\(concat\|reorder\)_[0-9]* for Concat"
  [nhwc]="^call [0-9]*: [a-z_]*_to_nhwc_[0-9]* for Transpose" [se]="^call [0-9]*: [a-z_]*_reorder_[0-9]* for Conv 'fc1'"
  [pool]="^call [0-9]*: [a-z_]*_pool_[0-9]* for AveragePool"
  [wino]="^call [0-9]*: [a-z0-9_]*_wino_in_[0-9]* for Conv" [clamp]="^call [0-9]*: [a-z_]*_[0-9]* for \(Clip\|Max\|Min\)")
declare -A want=([pad_conv_value]=1 [pad_avg_excl]=1 [pad_shared]=1 [concat_pool]=0 [concat_odd]=0
  [concat_odd_relu]=1 [concat_odd_3x3]=0
  [nhwc_conv]=1 [nhwc_plain]=0 [se_block]=0 [se_out]=1 [pool_ceil_incl]=1 [wino_large]=2 [wino_small]=1
  [wino_tiny]=0 [clamp_chain]=0 [clamp_disjoint]=1)
for f in "$d"/*.onnx; do
  n=$(basename "$f" .onnx)
  "$CHAMCC" "$f" -o "$WORK/$n.a" --tuner none -v >"$WORK/$n.log" 2>&1 || die "$n: chamcc failed: $(tail -1 "$WORK/$n.log")"
  got=$(grep -c "${pattern[${n%%_*}]}" "$WORK/$n.log" || true)
  if [ "${n%%_*}" = concat ] && [ "${want[$n]}" -gt 0 ]; then
    [ "$got" -gt 0 ] || die "$n: no Concat copy in chamcc's plan, but its inputs cannot be slices"
  else
    [ "$got" = "${want[$n]:-0}" ] || die "$n: chamcc -v has $got line(s) of '${pattern[${n%%_*}]}', expected ${want[$n]:-0}"
  fi
done
# --winograd off keeps the Winograd case's convolutions direct
"$CHAMCC" "$d/wino_large.onnx" -o "$WORK/wino_off.a" --tuner none -v --winograd off >"$WORK/wino_off.log" 2>&1 ||
  die "wino_large --winograd off: chamcc failed: $(tail -1 "$WORK/wino_off.log")"
got=$(grep -c "${pattern[wino]}" "$WORK/wino_off.log" || true)
[ "$got" = 0 ] || die "wino_large --winograd off: $got Winograd convolution(s) in the plan"
# the Concat with a gap in front of a Winograd convolution
got=$(grep -c "${pattern[wino]}" "$WORK/concat_odd_3x3.log" || true)
[ "$got" = 1 ] || die "concat_odd_3x3: $got Winograd convolution(s) in the plan, expected 1"
say "every Pad folded or kept, every Concat in place or copied, every Transpose to NHWC and pooled SE input as its case says"
exec bash "$E2E_DIR/models.sh" --chamcc "$CHAMCC" --tools "$TOOLS" --src "$SRC" --work "$WORK/run" "$d"/*.onnx
