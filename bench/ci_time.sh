#!/usr/bin/env bash
# The suite's time like for like (issue 28): the tests of an old commit
# against the same tests now, in alternating rounds, each from cold caches
# (no model cache, no fuzz build, no work folders: what a CI clone starts
# with), `ctest -j2 -LE 'acceptance|cluster'`.
#
#   bench/ci_time.sh [--old REV] [--rounds N] [--work DIR]
#
# --old (default 8b27a86, the commit before the measurer interface, whose
# tests are the issue's tests at filing) is checked out as a worktree in
# DIR/old (default build-ci-time/) and built there with scripts/build.sh;
# the current build is build/ (scripts/build.sh first). The old tests
# are those ctest lists there, less the disabled ones; "now" is the same
# names in build/, with the renames of the split (search_X -> tune_X or
# measure_X, search_measure -> measure_kernels) and the fake-measurer
# tuner tests (tune_tuner_*) that replaced search_tuner_run_autotvm and
# _chameleon. Tests that appeared since (other targets, other routes) are
# left out. Prints per round and side: wall seconds, tests, the summed
# test seconds, ctest's verdict; the logs stay in DIR.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
old_rev=8b27a86 rounds=1 work=$here/build-ci-time
while [ $# -gt 0 ]; do
  case "$1" in
  --old) old_rev=$2; shift 2 ;;
  --rounds) rounds=$2; shift 2 ;;
  --work) work=$2; shift 2 ;;
  *) echo "usage: bench/ci_time.sh [--old REV] [--rounds N] [--work DIR]" >&2; exit 2 ;;
  esac
done
mkdir -p "$work" && work=$(cd "$work" && pwd)
old=$work/old
if [ ! -d "$old" ]; then
  git -C "$here" worktree add -f "$old" "$old_rev" >/dev/null || exit 1
fi
# the ONNX Runtime the e2e tests use is installed into the source tree
[ -e "$old/tests/oracle/node_modules" ] || ln -s "$here/tests/oracle/node_modules" "$old/tests/oracle/node_modules"
(cd "$old" && bash scripts/build.sh >"$work/old-build.log" 2>&1) || { tail -20 "$work/old-build.log"; exit 1; }
(cd "$here" && bash scripts/build.sh >"$work/new-build.log" 2>&1) || { tail -20 "$work/new-build.log"; exit 1; }

names() { (cd "$1" && ctest -N -LE 'acceptance|cluster') | grep -v '(Disabled)' | sed -n 's/^ *Test *#[0-9]*: //p'; }
names "$old/build" | sort >"$work/old.txt"
names "$here/build" | sort >"$work/all-new.txt"
while read -r t; do
  case $t in
  search_measure) echo measure_kernels ;;
  search_tuner_run_*) ;;
  search_*) grep -x -e "tune_${t#search_}" -e "measure_${t#search_}" "$work/all-new.txt" ;;
  *) grep -x -e "$t" "$work/all-new.txt" ;;
  esac
done <"$work/old.txt" >"$work/new.txt"
grep '^tune_tuner_' "$work/all-new.txt" >>"$work/new.txt"
sort -u -o "$work/new.txt" "$work/new.txt"
echo "old $old_rev: $(wc -l <"$work/old.txt") tests; now: $(wc -l <"$work/new.txt") of them"

run() { # BUILD LIST TAG ROUND
  local b=$1 r=$4 log=$work/$3-$4.log t0
  rm -rf "$b/model-cache" "$b/fuzz" "$b/e2e-work" "$b/runner-work"
  t0=$(date +%s.%N)
  (cd "$b" && ctest -j2 -LE 'acceptance|cluster' -R "^($(paste -sd'|' "$2"))\$" >"$log" 2>&1)
  printf '%-4s round %d: wall %.0f s, %d tests, summed %.0f s, %s (load %s, %s UTC)\n' "$3" "$r" \
    "$(echo "$(date +%s.%N) - $t0" | bc)" "$(grep -c 'Test *#' "$log")" \
    "$(grep -oE '(Passed|Failed|Skipped) +[0-9.]+ sec' "$log" | awk '{s += $2} END {print s}')" \
    "$(grep -E 'tests passed|tests failed' "$log" | head -1)" "$(cut -d' ' -f1 /proc/loadavg)" "$(date -u +%H:%M)"
}
for r in $(seq "$rounds"); do
  run "$old/build" "$work/old.txt" old "$r"
  run "$here/build" "$work/new.txt" now "$r"
done
