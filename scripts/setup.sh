#!/usr/bin/env bash
# Installs what chamcc needs on Debian 12 when it is missing: the build tools,
# the libraries the compiler links (LLVM 19 C API, protobuf-c, cJSON,
# OpenBLAS, XGBoost, libcrypto for the runner's key), lld (links candidates
# for `--runner`), the test oracles (ONNX Runtime through npm, torchvision
# and onnx for model export, ONNX's own test data) and the AArch64 and RISC-V cross
# tools.
# Usage: scripts/setup.sh            (as root, or with sudo available)
set -euo pipefail

pkgs=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  llvm-19-dev lld-19 clang-19 libfuzzer-19-dev libclang-rt-19-dev
  libprotobuf-c-dev protobuf-c-compiler libonnx-dev
  libcjson-dev libopenblas-dev libxgboost-dev libssl-dev
  libonnx-testdata python3-onnx python3-torchvision python3-numpy
  nodejs
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
  gcc-riscv64-linux-gnu libc6-dev-riscv64-cross
)
[ "${CHAMCC_SETUP_BENCH:-0}" = 1 ] && pkgs+=(libdnnl-dev)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
    missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian's nodejs comes without npm; NodeSource's bundles it and conflicts with
# Debian's npm package, so install npm only when the command is missing.
if ! command -v npm >/dev/null; then
  [ "$(id -u)" -ne 0 ] && sudo=sudo || sudo=""
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends npm >/dev/null
fi

# ONNX Runtime for Node (the test oracle), into tests/node_modules.
here=$(cd "$(dirname "$0")/.." && pwd)
if [ ! -d "$here/tests/oracle/node_modules/onnxruntime-node" ]; then
  echo "setup: installing onnxruntime-node into tests/oracle"
  (cd "$here/tests/oracle" &&
     ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund --silent >/dev/null)
fi
echo "setup: done"
