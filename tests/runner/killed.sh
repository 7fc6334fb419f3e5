#!/usr/bin/env bash
# A runner killed (-9) in the middle of a tuning run: the candidates it can
# no longer measure are infra errors, not the configs' fault, so nothing is
# written for them; after TUNE_INFRA_LIMIT (3) in a row chamcc stops with a
# message that names the runner and how many measurements it saved, and
# exits 1. Run again with a new runner, the same command completes the
# budget, every record ok. chamcc is stopped (SIGSTOP) while the runner is
# killed, so no measurement can slip in between; a result already received
# may still be written after.
source "$(dirname "$0")/lib.sh"
need_lld
make_model "$WORK/tiny.onnx"
trials=3

start_runner
log=$WORK/tune.jsonl
tune() {
  "$CHAMCC" tune "$WORK/tiny.onnx" "${TARGET[@]}" --runner "127.0.0.1:$PORT" --trials $trials --tuner random \
    "${QUICK[@]}" --log "$log" "$@"
}
tune 2>"$WORK/tune.err" &
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
before=$(grep -c '^{' "$log")
kill -CONT $pid
wait $pid
rc=$?
cat "$WORK/tune.err"
[ "$rc" -eq 1 ] || fail "chamcc exited with $rc after losing its runner (expected 1)"
grep -q "measuring failed 3 times in a row.*runner 127.0.0.1:$PORT" "$WORK/tune.err" ||
  fail "the error does not say the runner failed"
records=$(grep -c '^{' "$log")
grep -q "^chamcc: $records measurements saved in $log" "$WORK/tune.err" || fail "the saved count is not $records"
say "killed after $before records; $records records"
# one result may have come back from the runner before it was killed and be
# written only once chamcc runs again (a measurement that did happen); any
# more would be candidates the dead runner could not have measured
[ "$records" -le $((before + 1)) ] || { cat "$log" >&2; fail "records written after the runner was killed"; }
[ "$(grep -c '"status":"ok"' "$log")" -eq "$records" ] || { cat "$log" >&2; fail "records other than ok"; }

start_runner # on a new port
tune -q 2>"$WORK/again.err" || { cat "$WORK/again.err" >&2; fail "the second run failed"; }
[ "$(count "$log" '^\{')" -eq $((2 * trials)) ] || fail "expected $((2 * trials)) measurements after the second run"
[ "$(grep -vc '"status":"ok"' "$log")" -eq 0 ] || { cat "$log" >&2; fail "records other than ok"; }
stop_runner
say "ok"
