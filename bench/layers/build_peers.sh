#!/usr/bin/env bash
# build_peers.sh OUT — builds bench/layers/peers.c (the OpenBLAS and oneDNN
# timers, with measure/reference.c) by hand with cc into OUT: benchmarks
# stay out of the CMake build. Used by run.sh and vs_onednn.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cc -O2 -std=gnu11 -fopenmp -I"$root/common/include" -I"$root/codegen/include" -I"$root/graph/include" \
  -I"$root/runtime/include" -I"$root/measure/include" $(pkg-config --cflags openblas) \
  "$here/peers.c" "$here/peer_dnnl.c" "$root/measure/reference.c" "$root/common/util.c" "$root/common/act.c" \
  -o "$1" $(pkg-config --libs openblas) -ldnnl -lcjson -lm
