#!/usr/bin/env bash
# A fake chamcc, to test the end-to-end harness before the compiler exists.
# Same command line as chamcc (MODEL -o OUTDIR/libNAME.a --name NAME, other
# flags ignored). It reads the model's inputs and outputs with onnx_ops
# ($CHAMCC_TOOLS/onnx_ops) and emits a library whose output i is a copy of
# input i when the sizes agree (zeros otherwise): right for Identity-like
# models, wrong for the rest, which is what the harness must tell apart.
# Errors mimic chamcc's: "chamcc: FILE: what is wrong", exit 1, no archive.
set -u
model="" out="" name=""
while [ $# -gt 0 ]; do
  case "$1" in
  -o) out=$2; shift 2 ;;
  --name) name=$2; shift 2 ;;
  --threads) shift 2 ;;
  -q) shift ;;
  -*) echo "chamcc: unknown option '$1'" >&2; exit 1 ;;
  *) model=$1; shift ;;
  esac
done
[ -n "$model" ] && [ -n "$out" ] || { echo "chamcc: usage: chamcc MODEL.onnx -o libNAME.a" >&2; exit 1; }
[ -n "$name" ] || { name=$(basename "$out" .a); name=${name#lib}; }
[ -r "$model" ] || { echo "chamcc: $model: cannot open" >&2; exit 1; }
desc=$("$CHAMCC_TOOLS/onnx_ops" "$model" 2>/dev/null) || { echo "chamcc: $model: not an ONNX model" >&2; exit 1; }
dir=$(dirname "$out")
tmp=$(mktemp -d)
trap '[ -n "${FAKE_KEEP:-}" ] || rm -rf "$tmp"' EXIT
{
  echo "#include <stdint.h>"
  printf '#ifdef __cplusplus\nextern "C" {\n#endif\n'
  for f in num_inputs num_outputs; do echo "int ${name}_$f(void);"; done
  for k in input output; do
    echo "const char *${name}_${k}_name(int i);"
    echo "int ${name}_${k}_rank(int i);"
    echo "const int64_t *${name}_${k}_shape(int i);"
  done
  echo "int ${name}_run(const float *const *inputs, float *const *outputs);"
  printf '#ifdef __cplusplus\n}\n#endif\n'
} >"$tmp/h"
echo "$desc" | awk -v P="$name" '
  function emit(kind, n, names, ranks, shapes, sizes,   i) {
    printf "static const char *%s_names[] = {", kind
    for (i = 0; i < n; i++) printf "\"%s\",", names[i]
    printf "0};\nstatic const int %s_ranks[] = {", kind
    for (i = 0; i < n; i++) printf "%d,", ranks[i]
    printf "0};\n"
    for (i = 0; i < n; i++) printf "static const int64_t %s_shape%d[] = {%s0};\n", kind, i, shapes[i]
    printf "static const int64_t *%s_shapes[] = {", kind
    for (i = 0; i < n; i++) printf "%s_shape%d,", kind, i
    printf "0};\nstatic const long %s_sizes[] = {", kind
    for (i = 0; i < n; i++) printf "%d,", sizes[i]
    printf "0};\nint %s_num_%ss(void) { return %d; }\n", P, kind, n
    printf "const char *%s_%s_name(int i) { return i >= 0 && i < %d ? %s_names[i] : 0; }\n", P, kind, n, kind
    printf "int %s_%s_rank(int i) { return i >= 0 && i < %d ? %s_ranks[i] : -1; }\n", P, kind, n, kind
    printf "const int64_t *%s_%s_shape(int i) { return i >= 0 && i < %d ? %s_shapes[i] : 0; }\n", P, kind, n, kind
  }
  BEGIN { ni = 0; no = 0 }
  ($1 == "input" && $6 == "data") || $1 == "output" {
    s = $5; gsub(/[\[\]]/, "", s); gsub(/\?/, "1", s)
    r = s == "" ? 0 : split(s, d, ",")
    size = 1; for (j = 1; j <= r; j++) size *= d[j]
    if ($1 == "input") { in_n[ni] = $3; in_r[ni] = r; in_s[ni] = s (s == "" ? "" : ","); in_z[ni++] = size }
    else { out_n[no] = $3; out_r[no] = r; out_s[no] = s (s == "" ? "" : ","); out_z[no++] = size }
  }
  END {
    print "#include <stdint.h>\n#include <string.h>"
    emit("input", ni, in_n, in_r, in_s, in_z)
    emit("output", no, out_n, out_r, out_s, out_z)
    printf "int %s_run(const float *const *in, float *const *out) {\n", P
    printf "  for (int i = 0; i < %d; i++)\n", no
    printf "    if (i < %d && input_sizes[i] == output_sizes[i]) memcpy(out[i], in[i], output_sizes[i] * 4);\n", ni
    printf "    else memset(out[i], 0, output_sizes[i] * 4);\n  return 0;\n}\n"
  }' >"$tmp/m.c"
cc -O1 -c "$tmp/m.c" -o "$tmp/m.o" || { echo "chamcc: $model: fake codegen failed" >&2; exit 1; }
mkdir -p "$dir" && cp "$tmp/h" "$dir/$name.h" && rm -f "$out" && ar rcs "$out" "$tmp/m.o"
