#!/usr/bin/env bash
# Sets everything up, builds chamcc and runs the whole test suite with CTest
# (all but the labels "acceptance": acceptance checks not met yet, run them
# with `ctest --test-dir build -L acceptance`; and "cluster": a Slurm cluster
# started as root on this machine, `ctest --test-dir build -L cluster`).
#   scripts/test.sh [ctest options]      e.g. -L e2e, -R conformance
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bash "$here/scripts/setup.sh"
bash "$here/scripts/build.sh"
cd "$here/build"
ctest --output-on-failure -j2 -LE 'acceptance|cluster' "$@"
