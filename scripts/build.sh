#!/usr/bin/env bash
# Configures and builds chamcc into build/ (Release, Ninja). Incremental:
# a second run rebuilds only what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f build/build.ninja ] || cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C build -j"$(nproc)"
