#!/usr/bin/env bash
# `chamcc tune --runner` against a runner on loopback (this machine's, or
# the aarch64 or riscv64 one under qemu with --target): the budget
# completes with ok records for the runner's target, and a build from that
# log uses it (and ignores it for another CPU); the library built from it,
# linked for the runner's machine and run there, gives the model's output
# (computed by make_model.py). On the host also: a build (`chamcc MODEL
# -o lib.a --runner`) tunes through the runner too; tuning a foreign target
# without --runner, or with nothing listening, is one clear error. On a
# cross target also: `chamcc MODEL --emit-c DIR --runner` tunes what the
# log lacks, then writes the tree with the log's configs, and that tree,
# built and run there, gives the model's output too.
source "$(dirname "$0")/lib.sh"
need_lld
make_model "$WORK/tiny.onnx"
trials=3 # per task; the dense task has at least 3 configs on every target

# check_output DIR WHAT: tests/tools/run_model.c linked with DIR/libmodel.a
# for the runner's machine and run there on the model's input: its output
# must be the reference.
check_output() {
  local dir=$1 what=$2
  "$KERNEL_CC" -O2 -I"$dir" "$SRC/tests/tools/run_model.c" "$dir/libmodel.a" -lpthread -lm -o "$dir/run" ||
    fail "$what: cannot link tests/tools/run_model.c with it"
  "${TARGET_RUN[@]}" "$dir/run" --in "$WORK/tiny.in.bin" --ref "$WORK/tiny.ref.bin" >"$dir/run.out" 2>&1 ||
    { cat "$dir/run.out" >&2; fail "$what: the output is not the model's"; }
  say "$what: the output is the model's"
}

# configs_from_log FILE: FILE has --print-configs lines, every one from the log.
configs_from_log() {
  [ "$(grep -c '^config' "$1")" -gt 0 ] || fail "--print-configs printed nothing in $1"
  [ "$(grep '^config' "$1" | grep -vc "$(printf '\tlog\t')")" -eq 0 ] ||
    { cat "$1" >&2; fail "$1: a layer did not take its config from the log"; }
}

start_runner
log=$WORK/tune.jsonl
"$CHAMCC" tune "$WORK/tiny.onnx" "${TARGET[@]}" --runner "127.0.0.1:$PORT" --trials $trials --tuner random \
  "${QUICK[@]}" --log "$log" 2>"$WORK/tune.err" || { cat "$WORK/tune.err" "$WORK/runner.err" >&2; fail "chamcc tune failed"; }
cat "$WORK/tune.err"
records=$(count "$log" '^\{')
ok=$(count "$log" '"status":"ok"')
say "$records records, $ok ok"
[ "$records" -eq $((2 * trials)) ] || fail "expected $((2 * trials)) records (2 tasks x $trials), found $records"
[ "$ok" -eq "$records" ] || { grep -v '"status":"ok"' "$log" >&2; fail "not every record is ok"; }
[ "$(count "$log" '"times":\[[0-9]')" -eq "$records" ] || fail "records without times"
[ "$(count "$log" '"times":\[0(\.0*)?[],]')" -eq 0 ] || fail "records with a time of 0"
want=$([ "$ARCH" = host ] && uname -m || echo "$ARCH")
[ "$(count "$log" "\"target\":\"$want-")" -eq "$records" ] || fail "records are not for $want"
grep -q "task 'candidate'" "$WORK/runner.err" || fail "the runner did not log the task"
confirms=$(grep -c '"confirm":1' "$log")
say "$confirms confirmations"
[ "$confirms" -eq $((2 * trials * 3)) ] || fail "expected $((2 * trials * 3)) confirmations (every config, 3 rounds)"
[ "$(grep '"confirm":1' "$log" | grep -vc '"status":"ok"')" -eq 0 ] || fail "a confirmation failed"

# The log is what `chamcc tune` on the board would write: a cross build
# takes it as it is (every tunable layer from the log, nothing measured),
# and ignores it for another CPU (records are keyed by triple and CPU).
case $ARCH in aarch64) other_cpu=cortex-a72 ;; riscv64) other_cpu=generic ;; *) other_cpu=haswell ;; esac
mkdir -p "$WORK/lib"
"$CHAMCC" "$WORK/tiny.onnx" -o "$WORK/lib/libmodel.a" --name model "${TARGET[@]}" --log "$log" --tuner none \
  --print-configs >"$WORK/lib.configs" 2>"$WORK/fromlog.err" || { cat "$WORK/fromlog.err" >&2; fail "a build from the log failed"; }
cat "$WORK/fromlog.err"
grep -qE "chamcc: ([1-9][0-9]*) of \1 tunable layers use a tuned config" "$WORK/fromlog.err" ||
  fail "the build did not take every layer's config from the log"
configs_from_log "$WORK/lib.configs"
check_output "$WORK/lib" "the library built from the log"
"$CHAMCC" "$WORK/tiny.onnx" -o "$WORK/libother.a" "${TARGET[@]}" --cpu "$other_cpu" --log "$log" --tuner none \
  2>"$WORK/other.err" || { cat "$WORK/other.err" >&2; fail "a build for $other_cpu failed"; }
grep -qE "chamcc: 0 of [1-9][0-9]* tunable layers" "$WORK/other.err" ||
  { cat "$WORK/other.err" >&2; fail "records of another CPU were used for $other_cpu"; }
[ "$(grep -c '^{' "$log")" -eq $((records + confirms)) ] || fail "builds with --tuner none wrote records"

if [ "$ARCH" != host ]; then
  # one more measurement per task through the runner, then the C tree with
  # the log's configs, which must be those a library from the log takes
  tree=$WORK/tree
  "$CHAMCC" "$WORK/tiny.onnx" --emit-c "$tree" --name model "${TARGET[@]}" --runner "127.0.0.1:$PORT" \
    --trials $((trials + 1)) --tuner random "${QUICK[@]}" --log "$log" --print-configs >"$WORK/tree.configs" 2>"$WORK/tree.err" ||
    { cat "$WORK/tree.err" "$WORK/runner.err" >&2; fail "chamcc --emit-c --runner failed"; }
  cat "$WORK/tree.err"
  [ "$(count "$log" '"status":"ok"')" -eq $((records + 2)) ] || fail "the --emit-c build did not tune 2 more configs"
  grep -qE "chamcc: ([1-9][0-9]*) of \1 tunable layers use a tuned config" "$WORK/tree.err" ||
    fail "the tree did not take every layer's config from the log"
  configs_from_log "$WORK/tree.configs"
  "$CHAMCC" "$WORK/tiny.onnx" -o "$WORK/lib2.a" "${TARGET[@]}" --log "$log" --tuner none -q --print-configs \
    >"$WORK/lib2.configs" || fail "a build from the log failed"
  diff "$WORK/lib2.configs" "$WORK/tree.configs" >&2 || fail "the tree's configs are not those of a library"
  make_args=(CC="$KERNEL_CC")
  if [ "$ARCH" = riscv64 ] && command -v clang-19 >/dev/null; then # gcc 12 has no RVV: Clang's vectors
    make_args=(CC="clang-19 --target=riscv64-linux-gnu" TARGET_CFLAGS=-march=rv64gcv)
  fi
  make -s -C "$tree" "${make_args[@]}" >"$WORK/make.log" 2>&1 || { cat "$WORK/make.log" >&2; fail "make in the tree failed"; }
  check_output "$tree" "the tree built from the log (${make_args[0]})"
fi

if [ "$ARCH" = host ]; then
  blog=$WORK/build.jsonl
  "$CHAMCC" "$WORK/tiny.onnx" -o "$WORK/libtiny.a" --runner "127.0.0.1:$PORT" --trials 2 --tuner random "${QUICK[@]}" \
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
