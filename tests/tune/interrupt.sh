#!/usr/bin/env bash
# Ctrl-C leaves only true records (issue 26). `chamcc tune` runs in a
# session of its own (setsid), as a terminal's foreground job does, and the
# signal goes to its whole process group at a random moment of its tuning:
# SIGINT five times, then SIGTERM, each run resuming the same log. A run
# that was signalled exits 130 (143 for SIGTERM) and says how many
# measurements it saved, which must be the lines it added. The log must
# hold nothing the signal caused: no runtime_error or timeout (what a
# killed measuring child used to become), no message about a signal or an
# interrupt, no infra_error. A last run completes the budget, every config
# measured once.
#   interrupt.sh CHAMCC WORKDIR
source "$(dirname "$0")/lib.sh"
small_model
trials=30
lines() { if [ -f "$log" ]; then grep -c '^{' "$log"; else echo 0; fi; }

# signal_run SIGNAL: one run, signalled as a group at a random moment after
# its first measurement (before it, the batch is still being compiled and
# nothing runs); sets RC.
signal_run() {
  local sig=$1 err=$work/run.err before pid t0
  before=$(lines)
  setsid "$chamcc" tune "$work/small.onnx" --log "$log" --trials $trials --tuner random 2>"$err" &
  pid=$!
  for _ in $(seq 1200); do
    [ "$(lines)" -gt "$before" ] && break
    kill -0 $pid 2>/dev/null || break
    sleep 0.05
  done
  [ "$(ps -o pgid= -p $pid | tr -d ' ')" = "$pid" ] || { kill -9 $pid; fail "chamcc does not lead its own process group"; }
  sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", r % 2000 / 1000 }')"
  t0=$(date +%s.%N)
  kill -s "$sig" -- "-$pid" 2>/dev/null
  wait $pid
  RC=$?
  local added=$(($(lines) - before))
  echo "$sig: exit $RC, $added records added, ended $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s after the signal"
  tail -n 2 "$err"
  if [ $RC -eq 0 ]; then return; fi # it finished first
  [ $RC -eq $((128 + $(kill -l "$sig"))) ] || { cat "$err"; fail "exit status $RC after $sig"; }
  grep -q "^chamcc: $added measurements saved in $log" "$err" || { cat "$err"; fail "the saved count is not $added"; }
}

interrupted=0
for sig in INT INT INT INT INT TERM; do
  signal_run $sig
  [ $RC -ne 0 ] && interrupted=$((interrupted + 1))
done
[ $interrupted -ge 3 ] || fail "only $interrupted of 6 runs were interrupted: the test proves nothing"

"$chamcc" tune "$work/small.onnx" --log "$log" --trials $trials --tuner random "${quick[@]}" -q || fail "the last run failed"
bad=$(grep -E '"status":"(runtime_error|timeout|infra_error)"|[Ss]ignal|[Ii]nterrupt' "$log")
[ -z "$bad" ] || { echo "$bad"; fail "records caused by the signal"; }
search=$(grep -vc '"confirm":1' "$log")
[ "$search" -eq $((2 * trials)) ] || fail "expected $((2 * trials)) measurements, found $search"
dups=$(grep -v '"confirm":1' "$log" | grep -o '"task":"[^"]*","flops":[0-9.e+]*,"config":\[[0-9,]*\]' | sort | uniq -d | wc -l)
[ "$dups" -eq 0 ] || fail "$dups configs measured twice"
echo "ok: $interrupted interrupted runs, $(lines) records, all true"
