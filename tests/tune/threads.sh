#!/usr/bin/env bash
# Tuning records say what they ran on: `chamcc tune --threads 1` writes
# "threads":1 in every record, and a build for another thread count does
# not use them and says so; a build for 1 thread uses them silently.
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
echo "ok: $n records of 1 thread, used for 1 thread only"
