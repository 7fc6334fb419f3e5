#!/usr/bin/env bash
# `--budget N` (measurements per task on average, shared by FLOPs) against
# `--trials N` (per task) and the default (24), read from --list-tasks:
# --budget 24 is the default; --budget 240 gives every task at least its
# default budget and the model ten times the default total, the larger
# tasks (by FLOPs x uses) at least as much as the smaller; bad values and
# --budget with --trials are refused, and so are bad --repeat-ms values.
#   budget.sh CHAMCC WORKDIR
source "$(dirname "$0")/lib.sh"
/usr/bin/python3 "$here/make_zoo.py" "$work/zoo" || exit 1
m=$work/zoo/zoo_a.onnx
list() { "$chamcc" tune "$m" --list-tasks -q "$@"; } # budget, uses, GFLOP, key

list >"$work/default.txt" || fail "--list-tasks"
n=$(wc -l <"$work/default.txt")
[ "$n" -ge 2 ] || fail "the model has $n tasks; the test needs at least 2"
list --budget 24 | cmp -s - "$work/default.txt" || fail "--budget 24 is not the default"
list --budget 240 >"$work/x10.txt" || fail "--budget 240"
paste "$work/default.txt" "$work/x10.txt" | awk -F'\t' -v n="$n" '
  $4 != $8 { print "task order differs: " $4 " / " $8; bad = 1 }
  $5 < $1 { print "task " $4 ": " $5 " < default " $1; bad = 1 }
  { d += $1; t += $5; w[NR] = $2 * $3; b[NR] = $5 }
  END {
    for (i = 1; i <= NR; i++) for (j = 1; j <= NR; j++)
      if (w[i] > w[j] && b[i] < b[j]) { print "task " i " has more work but a smaller budget than " j; bad = 1 }
    if (t < 240 * n) { print "total " t " < 240 x " n " tasks"; bad = 1 }
    if (t < 9 * d) { print "total " t " is not about ten times the default " d; bad = 1 }
    printf "default %d measurements, --budget 240: %d, over %d tasks\n", d, t, n
    exit bad }' || fail "--budget 240"
list --trials 5 | awk -F'\t' '$1 != 5 { exit 1 }' || fail "--trials 5 is not 5 per task"

for bad in 0 -3 x 2.5; do
  refused 2 "--budget needs a positive number" "$chamcc" tune "$m" --list-tasks --budget "$bad"
done
refused 2 "not both" "$chamcc" tune "$m" --list-tasks --budget 48 --trials 4
for bad in 0 0.05 20000 x 2ms; do
  refused 2 "--repeat-ms needs a number from 0.1 to 10000" "$chamcc" tune "$m" --list-tasks --repeat-ms "$bad"
done
echo "ok"
