#!/usr/bin/env bash
# The instructions chamcc's kernels use on the target of CHAMCC_E2E_TARGET /
# CHAMCC_E2E_CPU (issue 5): tiny_cnn is compiled for it, the archive is
# unpacked and disassembled, and every conv kernel (its function and the
# bodies of its parallel loops) must use the target's vector fused
# multiply-add:
#   aarch64-*          every object is AArch64; conv kernels contain
#                      `fmla vN.4s` (4-lane NEON FMA)
#   x86_64 --cpu haswell  conv kernels contain vfmadd*ps on %ymm (8 lanes),
#                      and no instruction anywhere touches %zmm (AVX-512 is
#                      not Haswell's)
#   riscv64-*          every object is RISC-V; conv kernels contain RVV
#                      FMAs (vfmacc.vf / vfmadd.vf, or their .vv forms)
#
#   isa.sh [common options] [MODEL.onnx]
TEST_NAME=isa
source "$(dirname "$0")/lib.sh"
parse_common_args "$@"
set -- "${ARGS[@]}"
need_chamcc
CACHE=${CHAMCC_MODEL_CACHE:-$WORK/../model-cache}
model=${1:-$CACHE/tiny_cnn.onnx}
if [ ! -s "$model" ]; then
  "$PY" -c 'import torch, torchvision, onnx' 2>/dev/null || skip "$PY lacks torch/torchvision/onnx to export tiny_cnn"
  mkdir -p "$CACHE"
  "$PY" "$SRC/models/export_torchvision.py" --models tiny_cnn --out "$CACHE" >&2 || die "export of tiny_cnn failed"
fi

case "$E2E_TARGET" in
aarch64-*) objdump=aarch64-linux-gnu-objdump machine=AArch64
  fma='fmla[[:space:]]+v[0-9]+\.4s' forbid='' ;;
x86_64-*) objdump=objdump machine=X86-64
  [ "$E2E_CPU" = haswell ] || die "set CHAMCC_E2E_CPU=haswell for x86_64 (the check is for AVX2)"
  fma='vfmadd[0-9]+ps[[:space:]].*%ymm' forbid='%zmm' ;;
riscv64-*) objdump=riscv64-linux-gnu-objdump machine=RISC-V
  fma='vf(macc|madd)\.v[fv][[:space:]]' forbid='' ;;
*) die "set CHAMCC_E2E_TARGET to aarch64-linux-gnu, riscv64-linux-gnu or x86_64-linux-gnu" ;;
esac
need_cmd "$objdump"
need_cmd readelf

w=$WORK/objs
rm -rf "$w" && mkdir -p "$w"
timeout "$STEP_TIMEOUT" "$CHAMCC" "$model" -o "$w/libm.a" --name m -q "${EXTRA_FLAGS[@]}" \
  >"$w/chamcc.log" 2>&1 || { cat "$w/chamcc.log"; die "chamcc failed on $model"; }
(cd "$w" && ar x libm.a) || die "cannot unpack $w/libm.a"

fail=0
for o in "$w"/*.o; do
  m=$(readelf -h "$o" | sed -n 's/^ *Machine: *//p')
  case "$m" in *"$machine"*) ;; *) say "FAIL ${o##*/} is for '$m', not $machine"; fail=1 ;; esac
done

# Disassembly of the model object, split into one file per function.
"$objdump" -d --no-show-raw-insn "$w/m.o" >"$w/m.dis" || die "$objdump failed on m.o"
awk -v dir="$w" '/^[0-9a-f]+ <.*>:$/ { name = $2; gsub(/[<>:]/, "", name); f = dir "/" name ".s" }
                 f { print > f }' "$w/m.dis"
convs=0
for f in "$w"/m_conv_*.s; do # a kernel with its parallel loops' bodies (m_conv_N.parK)
  [ -e "$f" ] || break
  case $f in *.par*.s) continue ;; esac
  convs=$((convs + 1))
  n=$(cat "$f" "${f%.s}".par*.s 2>/dev/null | grep -Ec "$fma")
  if [ "$n" -gt 0 ]; then
    vsay "${f##*/}: $n vector FMAs"
  else
    say "FAIL ${f##*/}: no instruction matches /$fma/"
    fail=1
  fi
done
[ $convs -gt 0 ] || { say "FAIL no conv kernel (m_conv_*) in the disassembly"; fail=1; }
if [ -n "$forbid" ] && grep -q -- "$forbid" "$w/m.dis"; then
  say "FAIL found $forbid: $(grep -m1 -- "$forbid" "$w/m.dis")"
  fail=1
fi
[ $fail = 0 ] && say "ok: $convs conv kernels use /$fma/ ($machine)"
exit $fail
