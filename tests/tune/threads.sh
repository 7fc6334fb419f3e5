#!/usr/bin/env bash
# Tuning records say what they ran on: `chamcc tune --threads 1` writes
# "threads":1 in every record, and a build for another thread count does
# not use them and says so; a build for 1 thread uses them silently.
# `chamcc log stats` lists each thread count apart and says, per task,
# whether a build takes a tuned config or the default, as the build does.
#   threads.sh CHAMCC WORKDIR
source "$(dirname "$0")/lib.sh"
small_model

"$chamcc" tune "$work/small.onnx" --log "$log" --trials 3 --tuner random --threads 1 "${quick[@]}" -q || fail "tuning failed"
n=$(grep -c '^{' "$log")
[ "$n" -gt 0 ] || fail "nothing measured"
[ "$(grep -c '"threads":1[,}]' "$log")" -eq "$n" ] || fail "not every record says threads 1"

"$chamcc" "$work/small.onnx" -o "$work/lib2.a" --log "$log" --tuner none --threads 2 2>"$work/err2" ||
  { cat "$work/err2"; fail "build for 2 threads failed"; }
grep -q "$n measurements on another thread count than 2 are not used for this build" "$work/err2" ||
  { cat "$work/err2"; fail "the build for 2 threads did not say it ignored the 1-thread records"; }
"$chamcc" "$work/small.onnx" -o "$work/lib1.a" --log "$log" --tuner none --threads 1 2>"$work/err1" ||
  { cat "$work/err1"; fail "build for 1 thread failed"; }
grep -q "another thread count" "$work/err1" && { cat "$work/err1"; fail "the 1-thread build ignored its own records"; }

"$chamcc" tune "$work/small.onnx" --log "$log" --trials 2 --tuner random --threads 2 "${quick[@]}" -q ||
  fail "tuning on 2 threads failed"
"$chamcc" log stats "$log" >"$work/stats.txt" || fail "log stats"
cat "$work/stats.txt"
grep -Eq ", 1 thread: 2 tasks, [0-9]+ measurements" "$work/stats.txt" || fail "stats: the 1-thread group"
grep -Eq ", 2 threads: 2 tasks, [0-9]+ measurements" "$work/stats.txt" || fail "stats: the 2-thread group"
# the build's configs on 1 thread, from the log and without one
"$chamcc" "$work/small.onnx" -o "$work/lib1.a" --log "$log" --tuner none --threads 1 --print-configs \
  >"$work/log.txt" 2>/dev/null || fail "build with --print-configs"
"$chamcc" "$work/small.onnx" -o "$work/lib0.a" --log "$work/empty.jsonl" --tuner none --threads 1 --print-configs \
  >"$work/default.txt" 2>/dev/null || fail "build without records"
tuned=0
while IFS=$'\t' read -r _ key _ config; do
  dflt=$(awk -F'\t' -v k="$key" '$2 == k { print $4 }' "$work/default.txt")
  [ -n "$dflt" ] || fail "no default config for $key"
  want=default
  [ "$config" != "$dflt" ] && want=tuned && tuned=$((tuned + 1))
  # the task's line in the 1-thread group: its 6th field says default or tuned
  got=$(awk -v k="$key" '/, 1 thread:/ { on = 1; next } /threads?:/ { on = 0 }
        on && index($0, "  " k) == length($0) - length(k) - 1 { print $6 }' "$work/stats.txt")
  [ "$got" = "$want" ] || fail "stats says '$got' for $key, the build uses the $want config ($config)"
done <"$work/log.txt"
grep -q "a build uses a tuned config for $tuned of 2 tasks" "$work/stats.txt" || fail "stats: the tuned count"
echo "ok: $n records of 1 thread, used for 1 thread only; stats agree with the build ($tuned tuned)"
