#!/usr/bin/env bash
# bench/profile.sh on one of ONNX's test models (a conv with a reorder in
# and out): it must build, run and name every kernel of the plan, with
# shares that add up to 100%; and refuse bad arguments. Nothing is timed
# against anything. Usage: profile_check.sh PROFILE_SH CHAMCC WORK_DIR
set -u
profile=$1 chamcc=$2 work=$3
model=/usr/share/libonnx-testdata/data/pytorch-converted/test_Conv2d/model.onnx
[ -f "$model" ] || { echo "skipped: no $model (apt install libonnx-testdata)"; exit 77; }
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

out=$(bash "$profile" "$model" --threads 2 --runs 5 --chamcc "$chamcc" --work "$work" 2>&1)
rc=$?
echo "$out"
[ $rc = 0 ] || fail "exit status $rc"
# every kernel chamcc's plan calls has a row, and no other row exists
plan=$(sed -n 's/^call [0-9]*: \([^ ]*\) for .*/\1/p' "$work/plan.txt" | sort -u)
rows=$(sed -n 's/^| \(model_[a-z]*_[0-9]*\) | .*/\1/p' <<<"$out" | sort)
[ -n "$plan" ] || fail "no calls in chamcc -v's plan"
[ "$plan" = "$rows" ] || fail "rows [$(echo $rows)] are not the plan's kernels [$(echo $plan)]"
grep -q "^| model_conv_[0-9]* | Conv 'Conv_0' |" <<<"$out" || fail "no row for the conv, named by its node"
sum=$(awk -F'|' '/^\| model_/ {gsub(/[ %]/, "", $7); s += $7} END {print s + 0}' <<<"$out")
awk -v s="$sum" 'BEGIN {exit !(s > 99.5 && s < 100.5)}' || fail "shares add up to $sum%"
runs=$(sed -n 's/.*, \([0-9]*\) runs (warm-up included)/\1/p' <<<"$out")
[ "${runs:-0}" -ge 5 ] || fail "runs: '$runs', want at least the 5 asked for"

bash "$profile" >/dev/null 2>&1; [ $? = 2 ] || fail "no arguments: not a usage error"
bash "$profile" "$model" --threads x >/dev/null 2>&1; [ $? = 2 ] || fail "--threads x: not a usage error"
bash "$profile" "$model" --threads 1 >/dev/null 2>&1; [ $? = 2 ] || fail "--threads 1: not refused"
err=$(bash "$profile" "$work/missing.onnx" 2>&1); rc=$?
[ $rc = 1 ] && grep -q "missing.onnx: no such file" <<<"$err" || fail "missing model: status $rc: $err"
[ $fails = 0 ] && echo "profile_check: ok"
exit $((fails > 0))
