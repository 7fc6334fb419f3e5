#!/usr/bin/env bash
# The tree `chamcc --emit-c` writes stands alone (issue 29): copied into an
# empty folder, it builds libNAME.a there with make and with CMake, under a
# bare environment; with gcc and clang at -Wall -Wextra -Werror; and as ISO
# C99 (-std=c99 -pedantic -DCHAMCC_SCALAR); its FMAs become AVX-512, NEON
# and RVV instructions (clang-19) where those tools exist. The libraries agree with the
# one chamcc builds through LLVM on the same input, the tree names no path
# of the machine it was written on, and an --emit-c folder that is a file
# is refused before the model is read. --target riscv64-linux-gnu with -o
# gives an archive of RISC-V objects (LLVM's), or, from a chamcc built
# without the RISC-V runtime, a refusal that points at --emit-c.
#
#   emitc_tree.sh [common options]
TEST_NAME=emitc_tree
source "$(dirname "$0")/lib.sh"
parse_common_args "$@"
need_chamcc
need_cmd gcc
need_cmd make
need_python_onnx
fails=0
fail() { say "FAIL: $*"; fails=$((fails + 1)); }

w=$WORK
rm -rf "$w" && mkdir -p "$w"
"$PY" "$SRC/tests/tune/make_small_model.py" "$w/small.onnx" >/dev/null 2>&1 ||
  die "cannot write the test model"
"$CHAMCC" "$w/small.onnx" --emit-c "$w/tree" --name small -q --tuner none "${EXTRA_FLAGS[@]}" ||
  die "chamcc --emit-c failed"
mkdir -p "$w/llvm"
"$CHAMCC" "$w/small.onnx" -o "$w/llvm/libsmall.a" -q --tuner none "${EXTRA_FLAGS[@]}" || die "chamcc -o failed"

# build FOLDER NAME MAKE-ARGS...: a fresh copy of the tree, built with make in a bare environment.
build() {
  local dir=$w/$1 name=$2
  shift 2
  rm -rf "$dir" && mkdir -p "$dir" && cp -r "$w/tree/." "$dir/"
  if ! env -i PATH=/usr/bin:/bin make -C "$dir" "$@" >"$dir.log" 2>&1; then
    fail "$name: make failed:"
    sed 's/^/    /' "$dir.log" | head -20
    return 1
  fi
  if grep -qi warning "$dir.log"; then
    fail "$name: warnings:"
    grep -i -A3 warning "$dir.log" | head -20 | sed 's/^/    /'
    return 1
  fi
  [ -s "$dir/libsmall.a" ] || { fail "$name: no libsmall.a"; return 1; }
  vsay "ok $name"
}

# check FOLDER NAME: a program linked with FOLDER/libsmall.a prints the LLVM library's outputs.
cat >"$w/main.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include "small.h"
int main(void) {
  const int64_t *s = small_input_shape(0);
  size_t n = 1, m = 1;
  for (int d = 0; d < small_input_rank(0); d++) n *= (size_t)s[d];
  s = small_output_shape(0);
  for (int d = 0; d < small_output_rank(0); d++) m *= (size_t)s[d];
  float *x = malloc(n * sizeof *x), *y = malloc(m * sizeof *y);
  for (size_t i = 0; i < n; i++) x[i] = (float)((i * 7919) % 211) / 105.0f - 1.0f;
  const float *in[1] = {x};
  float *out[1] = {y};
  if (small_run(in, out)) return 1;
  for (size_t i = 0; i < m; i++) printf("%.5e\n", (double)y[i]);
  return 0;
}
EOF
cp "$w/tree/small.h" "$w/llvm/small.h"
gcc -O2 -I "$w/llvm" "$w/main.c" "$w/llvm/libsmall.a" -lpthread -lm -o "$w/llvm/run" && "$w/llvm/run" >"$w/llvm.out" ||
  die "the LLVM library does not run"
check() {
  local dir=$w/$1 name=$2
  gcc -O2 -I "$dir" "$w/main.c" "$dir/libsmall.a" -lpthread -lm -o "$dir/run" && "$dir/run" >"$dir.out" ||
    { fail "$name: the program does not link or run"; return; }
  # same numbers to 1e-4 of the largest
  awk 'NR == FNR { ref[FNR] = $1; if ($1 > mx || -$1 > mx) mx = $1 > 0 ? $1 : -$1; next }
       { d = $1 - ref[FNR]; if (d < 0) d = -d; if (d > e) e = d; n++ }
       END { exit !(n > 0 && n == length(ref) && e <= 1e-4 * (mx > 0 ? mx : 1)) }' "$w/llvm.out" "$dir.out" ||
    fail "$name: outputs differ from the LLVM library's"
}

build gcc "gcc" CC=gcc CFLAGS="-O2 -Wall -Wextra -Werror" && check gcc "gcc"
if command -v clang-19 >/dev/null; then
  build clang "clang" CC=clang-19 CFLAGS="-O2 -Wall -Wextra -Werror" && check clang "clang"
  build clang_c99 "clang -std=c99 -pedantic" CC=clang-19 CFLAGS="-O2 -std=c99 -pedantic -Wall -Wextra -Werror -DCHAMCC_SCALAR" &&
    check clang_c99 "clang -std=c99 -pedantic"
fi
build gcc_c99 "gcc -std=c99 -pedantic" CC=gcc CFLAGS="-O2 -std=c99 -pedantic -Wall -Wextra -Werror -DCHAMCC_SCALAR" &&
  check gcc_c99 "gcc -std=c99 -pedantic"

# CMake, from a copy of the tree
if command -v cmake >/dev/null; then
  rm -rf "$w/cm" && mkdir -p "$w/cm" && cp -r "$w/tree/." "$w/cm/"
  if env -i PATH=/usr/bin:/bin cmake -S "$w/cm" -B "$w/cm/build" >"$w/cm.log" 2>&1 &&
     env -i PATH=/usr/bin:/bin cmake --build "$w/cm/build" >>"$w/cm.log" 2>&1; then
    mkdir -p "$w/cmlib" && cp "$w/cm/build/libsmall.a" "$w/cm/small.h" "$w/cmlib/" && check cmlib "cmake"
  else
    fail "cmake build failed:"
    tail -20 "$w/cm.log" | sed 's/^/    /'
  fi
fi

# nothing of this machine's paths in the tree
if grep -rqF "$SRC" "$w/tree" || grep -rqF "$w" "$w/tree"; then
  fail "the tree names a path of this machine: $(grep -rlF -e "$SRC" -e "$w" "$w/tree" | head -3)"
fi

# vector code: the kernels' FMAs become the target's vector instructions
# isa NAME PATTERN OBJDUMP CHAMCC-FLAGS -- MAKE-ARGS...
isa() {
  local name=$1 pattern=$2 objdump=$3 flags=() d=$w/isa_$1
  shift 3
  while [ "$1" != -- ]; do flags+=("$1"); shift; done
  shift
  command -v "$objdump" >/dev/null || { vsay "no $objdump: $name not checked"; return; }
  rm -rf "$d"
  "$CHAMCC" "$w/small.onnx" --emit-c "$d" --name small -q --tuner none "${flags[@]}" &&
    make -s -C "$d" "$@" >"$d.log" 2>&1 || { fail "$name: build failed: $(head -5 "$d.log")"; return; }
  local n
  n=$("$objdump" -d "$d/libsmall.a" | grep -cE "$pattern" || true)
  [ "$n" -gt 0 ] || fail "$name: no $pattern in the kernels"
  vsay "ok $name: $n instructions matching $pattern"
}
isa x86_avx512 'vfmadd[0-9]+ps.*zmm' objdump --cpu x86-64-v4 -- CC=gcc
command -v aarch64-linux-gnu-gcc >/dev/null &&
  isa aarch64_neon 'fmla.*v[0-9]+\.4s' aarch64-linux-gnu-objdump --target aarch64-linux-gnu -- CC=aarch64-linux-gnu-gcc
command -v clang-19 >/dev/null && [ -d /usr/riscv64-linux-gnu ] &&
  isa riscv64_rvv 'vfmacc\.v' riscv64-linux-gnu-objdump --target riscv64-linux-gnu --cpu zvl256b -- \
    CC="clang-19 --target=riscv64-linux-gnu" TARGET_CFLAGS=-march=rv64gcv

# riscv64 through LLVM too, or a pointer to --emit-c
mkdir -p "$w/rv"
if "$CHAMCC" "$w/small.onnx" -o "$w/rv/librv.a" --target riscv64-linux-gnu --tuner none >"$w/rv.log" 2>&1; then
  (cd "$w/rv" && ar x librv.a && readelf -h ./*.o) >"$w/rv/elf.txt" 2>&1 || fail "cannot read librv.a's objects"
  # the kernels, the runtime and (for a model with large constants) the weights
  [ "$(grep -c 'Machine:' "$w/rv/elf.txt")" -ge 2 ] && ! grep 'Machine:' "$w/rv/elf.txt" | grep -vq RISC-V ||
    fail "librv.a holds other than RISC-V objects: $(grep 'Machine:' "$w/rv/elf.txt")"
elif ! grep -q -- "--emit-c" "$w/rv.log"; then
  fail "the riscv64 refusal does not point at --emit-c: $(cat "$w/rv.log")"
fi

# a folder that cannot be one is refused before the model is read (no such model here)
: >"$w/afile"
"$CHAMCC" "$w/absent.onnx" --emit-c "$w/afile" >"$w/bad.log" 2>&1
grep -q -- "--emit-c .*afile is not a folder" "$w/bad.log" ||
  fail "--emit-c onto a file: $(head -1 "$w/bad.log")"

[ $fails -eq 0 ] && say "ok: the tree builds alone (make, cmake; gcc, clang; C99 scalar) and matches the LLVM library"
[ $fails -eq 0 ]
