#!/usr/bin/env bash
# A runner killed (-9) in the middle of a tuning run: chamcc finishes its
# budget anyway, every later candidate is a timeout record that names the
# runner, and chamcc exits 0. chamcc is stopped (SIGSTOP) while the runner
# is killed, so no measurement can slip in between: deterministic.
source "$(dirname "$0")/lib.sh"
need_lld
make_model "$WORK/tiny.onnx"
trials=3

start_runner
log=$WORK/tune.jsonl
"$CHAMCC" tune "$WORK/tiny.onnx" "${TARGET[@]}" --runner "127.0.0.1:$PORT" --trials $trials --tuner random \
  --log "$log" 2>"$WORK/tune.err" &
pid=$!
for _ in $(seq 1200); do # until the first record
  [ -s "$log" ] && break
  kill -0 $pid 2>/dev/null || break
  sleep 0.05
done
kill -STOP $pid 2>/dev/null || fail "chamcc ended before its first record"
kill -9 "$RUNNER_PID"
wait "$RUNNER_PID" 2>/dev/null
RUNNER_PID=""
before=$(count "$log" '^\{')
kill -CONT $pid
wait $pid
rc=$?
cat "$WORK/tune.err"
[ "$rc" -eq 0 ] || fail "chamcc exited with $rc after losing its runner"

records=$(count "$log" '^\{')
ok=$(count "$log" '"status":"ok"')
timeouts=$(count "$log" "\"status\":\"timeout\",\"message\":\"runner 127.0.0.1:$PORT: [^\"]+\"")
say "killed after $before records; $records records: $ok ok, $timeouts timeouts"
[ "$records" -eq $((2 * trials)) ] || fail "expected $((2 * trials)) records, found $records"
[ "$ok" -ge 1 ] || fail "no ok record before the kill"
[ "$ok" -le "$before" ] || fail "ok records after the runner was killed"
[ "$timeouts" -ge 1 ] || fail "no timeout record"
[ $((ok + timeouts)) -eq "$records" ] || { cat "$log" >&2; fail "records other than ok and timeouts naming the runner"; }
say "ok"
