#!/usr/bin/env bash
# Fuzzes chamcc's importer and front half (tests/fuzz/) for SECONDS.
#
#   bench/fuzz.sh SECONDS [LIBFUZZER-OPTION...]
#
# Builds the libFuzzer target with clang-19, ASan and UBSan into build-fuzz/
# (FUZZ_BUILD=DIR elsewhere; FUZZ_SANITIZE=undefined for UBSan alone, faster,
# in a folder of its own) when needed; makes the seed corpus once
# (build-fuzz/seeds: the ONNX conformance models, the bad-input models of
# tests/e2e/make_bad_models.py, the regression models) and the dictionary;
# replays tests/fuzz/regressions/ (except known-open *.open.onnx); then fuzzes
# with build-fuzz/corpus (kept between runs) and prints the executions,
# exec/s and every crash, leak, timeout or out-of-memory file the run left in
# build-fuzz/artifacts/. Exit 0 when the run found nothing, 1 when it found
# something new, 77 when clang-19 or libFuzzer is missing (apt-get install
# clang-19 libfuzzer-19-dev; scripts/setup.sh does).
#
# libFuzzer runs in fork mode and keeps going after a finding; each finding
# is then replayed and named by a signature ("KIND @ FUNCTION"); findings
# listed in tests/fuzz/regressions/open.txt (known, not fixed yet) are
# reported but do not fail the run. Each run appends a line to
# build-fuzz/history.tsv (date, seconds, executions, exec/s, findings).
# Reproduce a finding: build-fuzz/fuzz_model FILE; minimize one:
# build-fuzz/fuzz_model -minimize_crash=1 -max_total_time=60 FILE
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:?usage: bench/fuzz.sh SECONDS [LIBFUZZER-OPTION...]}
shift
B=${FUZZ_BUILD:-$here/build-fuzz}
say() { echo "fuzz: $*"; }

# ---- clang-19 with libFuzzer, or skip ----
if ! command -v clang-19 >/dev/null; then
  say "clang-19 not found (apt-get install clang-19 libfuzzer-19-dev): skipped"
  exit 77
fi
mkdir -p "$B"
if [ ! -x "$B/fuzz_model" ] &&
   ! echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' |
     clang-19 -fsanitize=fuzzer,address,undefined -x c - -o "$B/probe" 2>"$B/probe.log"; then
  say "clang-19 cannot link a libFuzzer target (libfuzzer-19-dev missing?): skipped"
  exit 77
fi

# ---- build ----
if [ ! -f "$B/build.ninja" ]; then
  CC=clang-19 cmake -S "$here/tests/fuzz" -B "$B" -G Ninja -DFUZZ_SANITIZE="${FUZZ_SANITIZE:-address,undefined}" \
    >"$B/configure.log" 2>&1 ||
    { cat "$B/configure.log"; say "configure failed"; exit 1; }
fi
ninja -C "$B" -j2 fuzz_model >"$B/build.log" 2>&1 || { tail -40 "$B/build.log"; say "build failed"; exit 1; }

# ---- seeds (once), dictionary ----
data=/usr/share/libonnx-testdata/data
if [ ! -f "$B/seeds/.done" ]; then
  rm -rf "$B/seeds" && mkdir -p "$B/seeds"
  # (names by parameter expansion: a thousand command substitutions take seconds)
  while IFS= read -r f; do
    d=${f%/model.onnx} && s=${d%/*}
    cp "$f" "$B/seeds/${s##*/}-${d##*/}.onnx"
  done < <(find "$data/node" "$data/pytorch-converted" -mindepth 2 -maxdepth 2 -name model.onnx \
             -size -1025k 2>/dev/null) # at most 1 MiB
  if /usr/bin/python3 -c 'import onnx, numpy' 2>/dev/null &&
     /usr/bin/python3 "$here/tests/e2e/make_bad_models.py" "$B/seeds/bad" >/dev/null 2>&1; then
    find "$B/seeds/bad" -name '*.onnx' | while read -r f; do cp "$f" "$B/seeds/bad-$(basename "$f")"; done
  fi
  rm -rf "$B/seeds/bad"
  touch "$B/seeds/.done"
fi
cp "$here"/tests/fuzz/regressions/*.onnx "$B/seeds/" 2>/dev/null || true
{ cat "$here/tests/fuzz/onnx.dict"
  sed -n 's/^GR_OP([A-Z_0-9]*, *\("[A-Za-z]*"\).*/op_\1=\1/p' "$here/graph/include/chamcc/ops.def" | tr -d '"' |
    sed 's/=\(.*\)/="\1"/'
} >"$B/onnx.dict"
say "$(find "$B/seeds" -name '*.onnx' | wc -l) seeds, $(grep -c '=' "$B/onnx.dict") dictionary words"

# ---- the regression models first: a fixed finding must stay fixed ----
mkdir -p "$B/corpus" "$B/artifacts" "$B/logs"
fixed=()
for f in "$here"/tests/fuzz/regressions/*.onnx; do
  [ -f "$f" ] && [[ $f != *.open.onnx ]] && fixed+=("$f")
done
if [ ${#fixed[@]} -gt 0 ]; then
  if ! "$B/fuzz_model" -runs=1 "${fixed[@]}" >"$B/logs/regressions.log" 2>&1; then
    tail -40 "$B/logs/regressions.log"
    say "a regression model fails again (see above)"
    exit 1
  fi
  say "${#fixed[@]} regression models replayed clean"
fi

# ---- fuzz ----
# Fork mode: a finding ends one job, not the run, so a known one (below)
# does not stop the search for new ones.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
opts=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1
      -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=1048576
      -dict="$B/onnx.dict" -artifact_prefix="$B/artifacts/" -print_final_stats=1)
log="$B/logs/fuzz-$(date +%Y%m%d-%H%M%S).log"
touch "$B/logs/.start"
say "fuzzing for $secs s (log: $log)"
rc=0
(cd "$B" && ./fuzz_model "${opts[@]}" "$@" corpus seeds) >"$log" 2>&1 || rc=$?

# ---- report ----
# The last status line: "#N: cov: C ft: F corp: ... oom/timeout/crash: ... time: Ts ..."
last=$(grep -E '^#[0-9]+: cov' "$log" | tail -1 || true)
execs=$(echo "$last" | sed -n 's/^#\([0-9]*\):.*/\1/p')
took=$(echo "$last" | sed -n 's/.* time: \([0-9]*\)s.*/\1/p')
rate=$(( ${execs:-0} / (${took:-0} > 0 ? ${took:-1} : 1) ))
found=$(find "$B/artifacts" -type f -newer "$B/logs/.start" | sort)
nfound=$(echo "$found" | grep -c . || true)
say "${execs:-0} executions, ${rate:-0} exec/s, corpus $(ls "$B/corpus" | wc -l) files, $nfound findings"
printf '%s\t%s\t%s\t%s\t%s\n' "$(date -Is)" "$secs" "${execs:-0}" "${rate:-0}" "$nfound" >>"$B/history.tsv"
say "$(awk -F'\t' '{s += $3} END {print s + 0}' "$B/history.tsv") executions in all runs so far ($B/history.tsv)"

# A finding's signature, "KIND @ FUNCTION": what the sanitizer says (numbers
# made N) and the first frame in graph/ or codegen/. Known ones are listed in
# tests/fuzz/regressions/open.txt; only new ones fail the run.
signature() {
  UBSAN_OPTIONS=print_stacktrace=1 "$B/fuzz_model" -runs=1 -timeout=10 -rss_limit_mb=2048 "$1" 2>&1 | awk '
    /runtime error: / && !kind { k = $0; sub(/.*runtime error: /, "", k); sub(/[:,].*/, "", k); kind = k }
    /^fuzz_model: / && !kind { kind = substr($0, 13); sub(/: \047.*/, "", kind) }
    /^chamcc: internal error: / && !kind { kind = "assertion failed" }
    /^SUMMARY: / && !kind { kind = $3 ($3 == "deadly" ? " signal" : ""); if (/leaked/) kind = "leak" }
    /^ +#[0-9]+ 0x[0-9a-f]+ in / && !fn && /\/(graph|codegen)\// { fn = $4 }
    END { gsub(/-?([0-9]+|inf|nan)/, "N", kind); printf "%s @ %s\n", kind ? kind : "no report", fn ? fn : "?" }'
}
new=0
if [ -n "$found" ]; then
  known=$(grep -v '^#' "$here/tests/fuzz/regressions/open.txt" 2>/dev/null | cut -f1 || true)
  : >"$B/logs/findings.txt"
  for f in $(echo "$found" | head -1000); do
    printf '%s\t%s\n' "$(signature "$f")" "$f" >>"$B/logs/findings.txt"
  done
  [ "$nfound" -gt 1000 ] && say "(only the first 1000 findings classified)"
  while IFS=$'\t' read -r sig files; do
    n=$(echo "$files" | wc -w)
    if echo "$known" | grep -qxF -- "$sig"; then
      say "known (open): $sig  [$n files, e.g. $(echo $files | cut -d' ' -f1)]"
    else
      say "NEW: $sig  [$n files, e.g. $(echo $files | cut -d' ' -f1)]"
      new=$((new + 1))
    fi
  done < <(sort "$B/logs/findings.txt" | awk -F'\t' '{a[$1] = a[$1] " " $2} END {for (s in a) print s "\t" a[s]}' | sort)
fi
if [ "$new" -gt 0 ]; then
  say "FAILED: $new new kinds of finding. Reproduce: $B/fuzz_model FILE;"
  say "minimize: $B/fuzz_model -minimize_crash=1 -max_total_time=60 FILE"
  exit 1
fi
if [ "$rc" -ne 0 ] && [ -z "$found" ]; then
  tail -20 "$log"
  say "FAILED: the fuzzer exited with $rc"
  exit 1
fi
say "no new crash, leak or timeout"
