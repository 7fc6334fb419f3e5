#!/usr/bin/env bash
# A runner only its owner can use. Everywhere: `--bind 0.0.0.0` without a
# key, and a key file others can read, are refused. The cross runners
# (aarch64, riscv64: built without libcrypto) refuse --key-file and stop
# there. On the
# host, a runner on 0.0.0.0 with --key-file: test_auth's clients without
# the key, with a wrong one, replaying an old answer, cutting it short,
# sending a candidate or a huge frame instead are refused and logged, and
# none of their candidates runs; chamcc without --runner-key or with a
# wrong key stops before reading the model and records nothing; with the
# key, a small `chamcc tune` through the runner records ok measurements.
source "$(dirname "$0")/lib.sh"

command -v "$KERNEL_CC" >/dev/null || skip "$KERNEL_CC is not installed"
for k in ok mark; do
  kind=$(echo "$k" | tr a-z A-Z)
  "$KERNEL_CC" -std=gnu11 -O1 -fPIC -shared -I"$SRC/measure/include" -I"$SRC/common/include" -I"$SRC/runtime/include" -DKIND="$kind" "$HERE/kernels.c" -o "$WORK/$k.so" ||
    fail "cannot build $k.so"
done
(umask 077 && head -c 32 /dev/urandom >"$WORK/key" && head -c 32 /dev/urandom >"$WORK/wrong.key") ||
  fail "cannot make the keys"

# runner_refuses WHAT NEEDLE RUNNER OPTIONS...: the runner exits at once
# with an error containing NEEDLE, and never listens.
runner_refuses() {
  local what=$1 needle=$2
  shift 2
  timeout 60 "${RUNNER_CMD[@]}" --port 0 "$@" >"$WORK/refused.out" 2>"$WORK/refused.err" &&
    fail "$what: the runner started"
  cat "$WORK/refused.err"
  grep -q "^listening" "$WORK/refused.out" && fail "$what: the runner listened"
  grep -qF -- "$needle" "$WORK/refused.err" || fail "$what: the error lacks '$needle'"
}

runner_refuses "0.0.0.0 without a key" "refusing --bind 0.0.0.0 without --key-file" --bind 0.0.0.0
cp "$WORK/key" "$WORK/loose.key" && chmod 644 "$WORK/loose.key"
if [ "$ARCH" != host ]; then
  runner_refuses "a key, without libcrypto" "built without libcrypto" --key-file "$WORK/key"
  say "ok (this runner has no libcrypto: loopback only, no key)"
  exit 0
fi
runner_refuses "a key file others can read" "chmod 600" --key-file "$WORK/loose.key"

export CHAMCC_TEST_MARK=$WORK/ran # mark.so leaves this file when it is loaded
start_runner --bind 0.0.0.0 --key-file "$WORK/key"
"$AUTH" 127.0.0.1 "$PORT" "$WORK" "$WORK/key" "$WORK/wrong.key" "$CHAMCC_TEST_MARK" ||
  { cat "$WORK/runner.err" >&2; fail "test_auth found problems"; }
grep "authentication failed" "$WORK/runner.err"
[ "$(grep -c "authentication failed" "$WORK/runner.err")" -eq 6 ] || fail "the runner did not log 6 refusals"
[ "$(grep -c "task 'candidate'" "$WORK/runner.err")" -eq 2 ] ||
  fail "the runner took a TASK from a client without the key"

make_model "$WORK/tiny.onnx"
need_lld
for bad in "no key:" "wrong key:--runner-key $WORK/wrong.key"; do
  what=${bad%%:*}
  # shellcheck disable=SC2086 # the options are split on purpose
  "$CHAMCC" tune "$WORK/tiny.onnx" --runner "127.0.0.1:$PORT" ${bad#*:} --log "$WORK/bad.jsonl" \
    2>"$WORK/bad.err" && fail "chamcc with $what was let in"
  cat "$WORK/bad.err"
  case $what in
  "no key") grep -q "needs a key: pass --runner-key" "$WORK/bad.err" || fail "$what: the error does not say so" ;;
  *) grep -q "wrong key" "$WORK/bad.err" || fail "$what: the error does not say so" ;;
  esac
  [ ! -s "$WORK/bad.jsonl" ] || fail "chamcc with $what recorded measurements"
done

log=$WORK/tune.jsonl
"$CHAMCC" tune "$WORK/tiny.onnx" --runner "127.0.0.1:$PORT" --runner-key "$WORK/key" --trials 2 --tuner random "${QUICK[@]}" \
  --log "$log" 2>"$WORK/tune.err" || { cat "$WORK/tune.err" "$WORK/runner.err" >&2; fail "chamcc tune failed"; }
ok=$(count "$log" '"status":"ok"')
say "$ok ok records through the runner with the key"
[ "$ok" -eq 4 ] && [ "$(count "$log" '^\{')" -eq 4 ] || fail "expected 4 ok records (2 tasks x 2)"
stop_runner
no_leftovers
say "ok"
