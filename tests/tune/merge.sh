#!/usr/bin/env bash
# `chamcc log merge` and builds from many logs (issue 30): two shards of a
# small model tuned into a folder; their merge is the same bytes in any
# order and merged again; a malformed line is reported with file and line
# and skipped; builds from the merge, from the folder, from the shard logs
# named in the other order, and from one file holding the same records
# (reversed, with copied lines) choose the same configs and write the same
# library; `chamcc log stats` lists the tasks.
#   merge.sh CHAMCC WORKDIR
source "$(dirname "$0")/lib.sh"
small_model
mkdir -p "$work/logs"
cd "$work"

for k in 0 1; do
  "$chamcc" tune small.onnx --shard $k/2 --trials 3 --tuner random "${quick[@]}" --log logs -q || fail "tuning shard $k/2"
done
s0=logs/tuning.shard0-of-2.jsonl s1=logs/tuning.shard1-of-2.jsonl
[ -s $s0 ] && [ -s $s1 ] || fail "a shard wrote no log"

"$chamcc" log merge merged.jsonl $s0 $s1 2>err.txt || { cat err.txt; fail "merge"; }
grep -q "wrote merged.jsonl: $(cat $s0 $s1 | wc -l) records from 2 logs (0 duplicates" err.txt || { cat err.txt; fail "merge summary"; }
"$chamcc" log merge reversed.jsonl $s1 $s0 2>/dev/null || fail "merge in the other order"
cmp merged.jsonl reversed.jsonl || fail "merge(a, b) != merge(b, a)"
"$chamcc" log merge again.jsonl merged.jsonl 2>/dev/null || fail "merge of the merge"
cmp merged.jsonl again.jsonl || fail "merge(merge(a, b)) != merge(a, b)"
"$chamcc" log merge again.jsonl logs merged.jsonl 2>err.txt || fail "merge of a folder and the merge"
cmp merged.jsonl again.jsonl || fail "merge(folder, merge) != merge"
grep -q "$(wc -l <merged.jsonl) duplicates" err.txt || { cat err.txt; fail "duplicates not counted"; }

# a malformed line: reported with file and line, skipped, the rest merged
{ head -n 1 $s0; echo '{"version":1,"target":'; tail -n +2 $s0; } >bad.jsonl
"$chamcc" log merge fixed.jsonl bad.jsonl $s1 2>err.txt || { cat err.txt; fail "merge with a malformed line"; }
grep -q "bad.jsonl:2: " err.txt || { cat err.txt; fail "malformed line not reported as bad.jsonl:2"; }
grep -q "1 malformed line" err.txt || { cat err.txt; fail "malformed count"; }
cmp merged.jsonl fixed.jsonl || fail "the malformed line changed the merge"
"$chamcc" log merge out.jsonl missing.jsonl 2>err.txt; rc=$?
[ $rc -eq 1 ] && grep -q "missing.jsonl" err.txt || fail "a missing input: exit $rc"

# builds from the same records, however they are split, choose the same
tac $s1 $s0 >one.jsonl && head -n 3 $s0 >>one.jsonl # one file: reversed, lines copied
build() { # NAME LOG-OPTIONS...
  local name=$1; shift
  mkdir -p $name
  "$chamcc" small.onnx -o $name/libsmall.a --tuner none --print-configs "$@" >$name/configs.txt 2>$name/err.txt ||
    { cat $name/err.txt; fail "build $name"; }
  grep -q "2 of 2 tunable layers use a tuned config" $name/err.txt || { cat $name/err.txt; fail "build $name: not all layers from the log"; }
}
build b_merged --log merged.jsonl
build b_folder --log logs
build b_shards --log $s1 --log $s0
build b_one --log one.jsonl
[ "$(grep -c $'\tlog\t' b_merged/configs.txt)" -eq 2 ] || fail "--print-configs: $(cat b_merged/configs.txt)"
for b in b_folder b_shards b_one; do
  cmp b_merged/configs.txt $b/configs.txt || fail "$b chose other configs than the merged log"
  cmp b_merged/libsmall.a $b/libsmall.a || fail "$b wrote another library than the merged log"
done
grep -q "and 2 more logs" b_folder/err.txt || { cat b_folder/err.txt; fail "the folder's logs not said"; }

# stats: one machine, both tasks, a best throughput for each
"$chamcc" log stats logs >stats.txt || fail "stats"
cat stats.txt
grep -q ": 2 tasks, 6 measurements (0 failed)" stats.txt || fail "stats totals"
[ "$(grep -c '  conv2d ' stats.txt)" -eq 2 ] || fail "stats: not 2 tasks"
awk '/  conv2d / && $4 <= 0 { bad = 1 } END { exit bad }' stats.txt || fail "stats: a task without a best GFLOP/s"
echo "ok"
