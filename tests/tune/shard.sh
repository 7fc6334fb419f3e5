#!/usr/bin/env bash
# `chamcc tune MODEL... --shard K/N` (issue 30): over N = 1..8 shards of a
# zoo whose models share tasks, every task is tuned by exactly one shard and
# the shards together are the zoo's distinct tasks; the Slurm and Kubernetes
# variables pick the same shards as --shard; bad shards are refused; a
# shard's measurements go to its own log (.shardK-of-N before the extension).
#   shard.sh CHAMCC WORKDIR
source "$(dirname "$0")/lib.sh"
/usr/bin/python3 "$here/make_zoo.py" "$work/zoo" || exit 1
zoo=("$work/zoo/zoo_a.onnx" "$work/zoo/zoo_b.onnx" "$work/zoo/zoo_c.onnx")
keys() { cut -f4; } # --list-tasks: budget, uses, GFLOP, key

# the zoo's distinct tasks: fewer than the models' tasks together (shared ones once)
sum=0
for m in "${zoo[@]}"; do
  "$chamcc" tune "$m" --list-tasks -q | keys >>"$work/each.txt" || fail "--list-tasks $m"
done
sort -u "$work/each.txt" >"$work/distinct.txt"
"$chamcc" tune "${zoo[@]}" --list-tasks -q | keys | sort >"$work/all.txt" || fail "--list-tasks of the zoo"
echo "tasks: $(wc -l <"$work/each.txt") in the models, $(wc -l <"$work/all.txt") distinct"
[ "$(wc -l <"$work/all.txt")" -lt "$(wc -l <"$work/each.txt")" ] || fail "the models share no task"
cmp -s "$work/all.txt" "$work/distinct.txt" || fail "the zoo's tasks are not the models' distinct tasks"

# N = 1..8: each task in exactly one shard
for n in 1 2 3 4 5 6 7 8; do
  : >"$work/union.txt"
  for ((k = 0; k < n; k++)); do
    "$chamcc" tune "${zoo[@]}" --shard $k/$n --list-tasks 2>"$work/err.txt" | keys >>"$work/union.txt" ||
      fail "--shard $k/$n"
    [ $n -eq 1 ] || grep -q "shard $k of $n (--shard)" "$work/err.txt" || fail "shard $k/$n not said"
  done
  sort "$work/union.txt" | cmp -s - "$work/all.txt" || { diff <(sort "$work/union.txt") "$work/all.txt"; fail "N=$n: not a partition"; }
done
echo "partitions of N = 1..8: ok"

# the order of the models does not change the split
for k in 0 1 2; do
  cmp -s <("$chamcc" tune "${zoo[@]}" --shard $k/3 --list-tasks -q | keys | sort) \
         <("$chamcc" tune "${zoo[2]}" "${zoo[0]}" "${zoo[1]}" --shard $k/3 --list-tasks -q | keys | sort) ||
    fail "shard $k/3 depends on the order of the models"
done

# the schedulers' variables pick the same shard as --shard
"$chamcc" tune "${zoo[@]}" --shard 1/3 --list-tasks -q >"$work/s13.txt"
SLURM_ARRAY_TASK_ID=1 SLURM_ARRAY_TASK_COUNT=3 SLURM_ARRAY_TASK_MIN=0 SLURM_ARRAY_TASK_MAX=2 \
  "$chamcc" tune "${zoo[@]}" --list-tasks >"$work/slurm.txt" 2>"$work/err.txt" || fail "Slurm variables"
cmp -s "$work/s13.txt" "$work/slurm.txt" || fail "SLURM_ARRAY_TASK_ID=1 of 3 is not --shard 1/3"
grep -q "shard 1 of 3 (SLURM_ARRAY_TASK_ID=1, SLURM_ARRAY_TASK_COUNT=3)" "$work/err.txt" || fail "Slurm shard not said"
SLURM_ARRAY_TASK_ID=6 SLURM_ARRAY_TASK_COUNT=3 SLURM_ARRAY_TASK_MIN=5 SLURM_ARRAY_TASK_MAX=7 \
  "$chamcc" tune "${zoo[@]}" --list-tasks -q | cmp -s - "$work/s13.txt" || fail "--array=5-7: task 6 is not share 1"
"$chamcc" tune "${zoo[@]}" --shard 2/3 --list-tasks -q >"$work/s23.txt"
JOB_COMPLETION_INDEX=2 "$chamcc" tune "${zoo[@]}" --shard-count 3 --list-tasks -q | cmp -s - "$work/s23.txt" ||
  fail "JOB_COMPLETION_INDEX=2 --shard-count 3 is not --shard 2/3"
SLURM_ARRAY_TASK_ID=1 SLURM_ARRAY_TASK_COUNT=3 "$chamcc" tune "${zoo[@]}" --shard 2/3 --list-tasks -q |
  cmp -s - "$work/s23.txt" || fail "--shard does not override the Slurm variables"

# refused, with a reason: bad shards, a count without an index, an index without a count
for bad in 3/3 -1/3 1/0 1 a/b 1/3x; do
  refused 2 "--shard needs K/N" "$chamcc" tune "${zoo[@]}" --shard "$bad" --list-tasks
done
refused 2 "JOB_COMPLETION_INDEX is not set" "$chamcc" tune "${zoo[@]}" --shard-count 3 --list-tasks
refused 1 "give the number of shares with --shard-count" env JOB_COMPLETION_INDEX=0 "$chamcc" tune "${zoo[@]}" --list-tasks
refused 1 "not below --shard-count 3" env JOB_COMPLETION_INDEX=3 "$chamcc" tune "${zoo[@]}" --shard-count 3 --list-tasks
refused 1 "not a range of consecutive indices" env SLURM_ARRAY_TASK_ID=2 SLURM_ARRAY_TASK_COUNT=3 \
  SLURM_ARRAY_TASK_MIN=0 SLURM_ARRAY_TASK_MAX=4 "$chamcc" tune "${zoo[@]}" --list-tasks
refused 1 "is not a number" env SLURM_ARRAY_TASK_ID=x SLURM_ARRAY_TASK_COUNT=3 "$chamcc" tune "${zoo[@]}" --list-tasks
refused 2 "go with \`chamcc tune\`" "$chamcc" "${zoo[0]}" --shard 0/2

# a shard tunes its tasks, and only them, into its own log
"$chamcc" tune "${zoo[@]}" --shard 2/3 --trials 2 --list-tasks -q | keys | sort >"$work/want.txt"
"$chamcc" tune "${zoo[@]}" --shard 2/3 --trials 2 --tuner random "${quick[@]}" --log "$work/t.jsonl" 2>"$work/err.txt" ||
  { cat "$work/err.txt"; fail "tuning shard 2/3"; }
[ -f "$work/t.shard2-of-3.jsonl" ] || fail "no log t.shard2-of-3.jsonl"
[ ! -e "$work/t.jsonl" ] || fail "the shard wrote the unsharded log"
grep -o '"task":"[^"]*"' "$work/t.shard2-of-3.jsonl" | sed 's/"task":"//; s/"$//' | sort -u >"$work/got.txt"
cmp -s "$work/got.txt" "$work/want.txt" || { diff "$work/got.txt" "$work/want.txt"; fail "the shard tuned other tasks"; }
echo "shard 2/3 tuned $(wc -l <"$work/got.txt") tasks into t.shard2-of-3.jsonl"
echo "ok"
