#!/usr/bin/env bash
# Tuning survives kill -9: the log keeps every finished measurement, and the
# same command run again measures nothing twice and reaches the same budget.
# Also: a malformed line in the log is reported with its line number and
# skipped, and a build then uses the log.
#   resume.sh CHAMCC WORKDIR
source "$(dirname "$0")/lib.sh"
small_model

trials=10
"$chamcc" tune "$work/small.onnx" --log "$log" --trials $trials --tuner random -q &
pid=$!
for _ in $(seq 300); do # wait for a few finished measurements, then kill -9
  [ -f "$log" ] && [ "$(wc -l <"$log")" -ge 4 ] && break
  sleep 0.1
done
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
before=$(wc -l <"$log")
echo "killed after $before measurements"
[ "$before" -ge 4 ] || fail "no measurements before the kill"
head -n "$before" "$log" >"$work/before.jsonl"

printf 'this is not json\n' >>"$log" # a malformed line must not stop anything
"$chamcc" tune "$work/small.onnx" --log "$log" --trials $trials --tuner random "${quick[@]}" 2>"$work/stderr" ||
  { cat "$work/stderr"; fail "resumed run failed"; }
grep -q "tune.jsonl:$((before + 1)):" "$work/stderr" || { cat "$work/stderr"; fail "malformed line not reported with its number"; }

cmp -s <(head -n "$before" "$log") "$work/before.jsonl" || fail "records written before the kill changed"
good=$(grep -v '"confirm":1' "$log" | grep -c '^{.*}$') # search records
confirms=$(grep -c '"confirm":1' "$log") # the 4 best of each task and its default, 3 rounds each
all=$(grep -c '^{.*}$' "$log")
tasks=$(grep -o '"task":"[^"]*"' "$log" | sort -u | wc -l)
echo "tasks: $tasks, records: $good"
[ "$tasks" -eq 2 ] || fail "expected 2 tasks"
[ "$good" -eq $((tasks * trials)) ] || fail "expected $((tasks * trials)) records, found $good"
# the default config is one of the 4 best, or a fifth confirmed config
[ "$confirms" -ge $((tasks * 4 * 3)) ] && [ "$confirms" -le $((tasks * 5 * 3)) ] ||
  fail "expected $((tasks * 12)) to $((tasks * 15)) confirmations, found $confirms"
per=$(grep '"confirm":1' "$log" | grep -o '"task":"[^"]*","flops":[0-9.e+]*,"config":\[[0-9,]*\]' | sort | uniq -c |
  awk '{print $1}' | sort -u | tr '\n' ' ')
[ "$per" = "3 " ] || fail "confirmations per confirmed config: $per(want 3 each)"
dups=$(grep -v '"confirm":1' "$log" | grep -o '"task":"[^"]*","flops":[0-9.e+]*,"config":\[[0-9,]*\]' | sort | uniq -d | wc -l)
[ "$dups" -eq 0 ] || fail "$dups configs measured twice"

# nothing left to do: a third run measures nothing
"$chamcc" tune "$work/small.onnx" --log "$log" --trials $trials --tuner random -q 2>/dev/null || fail "third run failed"
[ "$(grep -c '^{.*}$' "$log")" -eq "$all" ] || fail "the third run measured again"

# and a build uses the log without measuring
"$chamcc" "$work/small.onnx" -o "$work/libsmall.a" --log "$log" --trials $trials -q 2>/dev/null || fail "build failed"
[ "$(grep -c '^{.*}$' "$log")" -eq "$all" ] || fail "the build measured again"
echo "ok"
