#!/usr/bin/env bash
# `chamcc tune --runner` against a runner on loopback (this machine's, or
# the aarch64 one under qemu with --target aarch64-linux-gnu): the budget
# completes with ok records for the runner's target, and a build from that
# log uses it (and ignores it for another CPU). On the host also: a
# build (`chamcc MODEL -o lib.a --runner`) tunes through the runner too;
# tuning a foreign target without --runner, or with nothing listening, is
# one clear error.
source "$(dirname "$0")/lib.sh"
need_lld
make_model "$WORK/tiny.onnx"
trials=3 # per task; the dense task has at least 3 configs on either target

start_runner
log=$WORK/tune.jsonl
"$CHAMCC" tune "$WORK/tiny.onnx" "${TARGET[@]}" --runner "127.0.0.1:$PORT" --trials $trials --tuner random \
  --log "$log" 2>"$WORK/tune.err" || { cat "$WORK/tune.err" "$WORK/runner.err" >&2; fail "chamcc tune failed"; }
cat "$WORK/tune.err"
records=$(count "$log" '^\{')
ok=$(count "$log" '"status":"ok"')
say "$records records, $ok ok"
[ "$records" -eq $((2 * trials)) ] || fail "expected $((2 * trials)) records (2 tasks x $trials), found $records"
[ "$ok" -eq "$records" ] || { grep -v '"status":"ok"' "$log" >&2; fail "not every record is ok"; }
[ "$(count "$log" '"times":\[[0-9]')" -eq "$records" ] || fail "records without times"
want=$([ "$ARCH" = aarch64 ] && echo aarch64 || uname -m)
[ "$(count "$log" "\"target\":\"$want-")" -eq "$records" ] || fail "records are not for $want"
grep -q "task 'candidate'" "$WORK/runner.err" || fail "the runner did not log the task"
confirms=$(grep -c '"confirm":1' "$log")
say "$confirms confirmations"
[ "$confirms" -eq $((2 * trials * 3)) ] || fail "expected $((2 * trials * 3)) confirmations (every config, 3 rounds)"
[ "$(grep '"confirm":1' "$log" | grep -vc '"status":"ok"')" -eq 0 ] || fail "a confirmation failed"

# The log is what `chamcc tune` on the board would write: a cross build
# takes it as it is (every tunable layer from the log, nothing measured),
# and ignores it for another CPU (records are keyed by triple and CPU).
other_cpu=$([ "$ARCH" = aarch64 ] && echo cortex-a72 || echo haswell)
"$CHAMCC" "$WORK/tiny.onnx" -o "$WORK/libfromlog.a" "${TARGET[@]}" --log "$log" --tuner none 2>"$WORK/fromlog.err" ||
  { cat "$WORK/fromlog.err" >&2; fail "a build from the log failed"; }
cat "$WORK/fromlog.err"
grep -qE "chamcc: ([1-9][0-9]*) of \1 tunable layers use a tuned config" "$WORK/fromlog.err" ||
  fail "the build did not take every layer's config from the log"
"$CHAMCC" "$WORK/tiny.onnx" -o "$WORK/libother.a" "${TARGET[@]}" --cpu "$other_cpu" --log "$log" --tuner none \
  2>"$WORK/other.err" || { cat "$WORK/other.err" >&2; fail "a build for $other_cpu failed"; }
grep -qE "chamcc: 0 of [1-9][0-9]* tunable layers" "$WORK/other.err" ||
  { cat "$WORK/other.err" >&2; fail "records of another CPU were used for $other_cpu"; }
[ "$(grep -c '^{' "$log")" -eq $((records + confirms)) ] || fail "builds with --tuner none wrote records"

if [ "$ARCH" = host ]; then
  blog=$WORK/build.jsonl
  "$CHAMCC" "$WORK/tiny.onnx" -o "$WORK/libtiny.a" --runner "127.0.0.1:$PORT" --trials 2 --tuner random \
    --log "$blog" -q || fail "a build with --runner failed"
  [ -s "$WORK/libtiny.a" ] && [ -s "$WORK/tiny.h" ] || fail "the build wrote no library"
  [ "$(count "$blog" '"status":"ok"')" -eq 4 ] || fail "the build did not tune through the runner"
fi
stop_runner
no_leftovers

if [ "$ARCH" = host ]; then
  foreign=$([ "$(uname -m)" = aarch64 ] && echo x86_64-linux-gnu || echo aarch64-linux-gnu)
  "$CHAMCC" tune "$WORK/tiny.onnx" --target "$foreign" --log "$WORK/x.jsonl" 2>"$WORK/x.err" &&
    fail "tuning for $foreign without --runner succeeded"
  cat "$WORK/x.err"
  grep -q -- "--runner" "$WORK/x.err" || fail "the error does not point to --runner"
  "$CHAMCC" tune "$WORK/tiny.onnx" --runner "127.0.0.1:$PORT" --log "$WORK/y.jsonl" 2>"$WORK/y.err" &&
    fail "tuning with no runner listening succeeded"
  cat "$WORK/y.err"
  grep -q "127.0.0.1:$PORT: connect" "$WORK/y.err" || fail "the error does not name the runner and connect"
  [ ! -s "$WORK/y.jsonl" ] || fail "records were written without a runner"
fi
say "ok"
