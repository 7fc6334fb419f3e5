#!/usr/bin/env bash
# Several runners at once (--runner A,B,C): candidates are spread over all
# three; one runner killed (-9) in the middle of the run gives its
# candidate to the others, the run completes its budget with every record
# ok (nothing charged to a config for the lost runner), and chamcc reports
# what each runner measured. chamcc is stopped (SIGSTOP) while the runner is
# killed, so the kill lands mid-run.
source "$(dirname "$0")/lib.sh"
need_lld
make_model "$WORK/tiny.onnx"
trials=8

pids=() ports=()
stop_all() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; }
trap stop_all EXIT
for i in 0 1 2; do # lib.sh's runner, three times: each one's pid and port kept here
  start_runner
  pids+=("$RUNNER_PID") ports+=("$PORT")
done
RUNNER_PID="" # stop_all ends them
runners="127.0.0.1:${ports[0]},127.0.0.1:${ports[1]},127.0.0.1:${ports[2]}"
say "runners on $runners"

log=$WORK/tune.jsonl
"$CHAMCC" tune "$WORK/tiny.onnx" "${TARGET[@]}" --runner "$runners" --trials $trials --tuner random "${QUICK[@]}" \
  --log "$log" 2>"$WORK/tune.err" &
pid=$!
for _ in $(seq 1200); do # until the first record
  [ -s "$log" ] && break
  kill -0 $pid 2>/dev/null || break
  sleep 0.05
done
kill -STOP $pid 2>/dev/null || { cat "$WORK/tune.err" >&2; fail "chamcc ended before its first record"; }
kill -9 "${pids[1]}"
wait "${pids[1]}" 2>/dev/null
kill -CONT $pid
wait $pid
rc=$?
cat "$WORK/tune.err"
[ "$rc" -eq 0 ] || fail "chamcc exited with $rc after losing one of three runners"
convs=$(count "$log" '"task":"conv2d')
[ "$convs" -eq $trials ] || fail "the conv task has $convs measurements, not its budget of $trials" # the dense one has fewer configs

[ "$(grep -vc '"status":"ok"' "$log")" -eq 0 ] || { cat "$log" >&2; fail "records other than ok"; }
for i in 0 2; do
  grep -Eq "^chamcc: runner 127.0.0.1:${ports[$i]}: [1-9][0-9]* candidates measured" "$WORK/tune.err" ||
    fail "runner $i measured nothing, or chamcc did not say"
done
grep -q "^chamcc: runner 127.0.0.1:${ports[1]}: .*lost" "$WORK/tune.err" || fail "the killed runner is not reported lost"
say "ok: $(count "$log" '^\{') measurements over three runners, one killed"
