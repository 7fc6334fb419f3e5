#!/bin/sh
# tune_layers' options: a value that is not a number, or out of range, is a
# usage error (status 2, naming the option), never read as 0; good values
# get as far as reading the layers file. Usage: layers_usage.sh TUNE_LAYERS
tl=$1 fails=0
missing=./no-such-layers.json
for opt in "--trials x" "--trials 0" "--trials 5x" "--seed -1" "--seed 99999999999" "--threads 1.5" \
           "--min-time x" "--min-time 0" "--repeats 0" "--rounds x" "--rounds -1" "--bogus" "--trials"; do
  name=${opt%% *}
  # shellcheck disable=SC2086 # the option and its value are two words
  err=$("$tl" "$missing" --log ./unused.jsonl $opt 2>&1 >/dev/null)
  status=$?
  case $status:$err in
    2:*"tune_layers: $name:"*) ;;
    *) echo "FAIL: tune_layers $opt: status $status, stderr: $err"; fails=1 ;;
  esac
done
err=$("$tl" "$missing" --log ./unused.jsonl --trials 8 --seed 3 --threads 2 --min-time 0.05 --repeats 3 \
      --rounds 0 2>&1 >/dev/null)
status=$?
case $status:$err in
  1:*"$missing"*) ;;
  *) echo "FAIL: good values: status $status (want 1, the missing layers file), stderr: $err"; fails=1 ;;
esac
err=$("$tl" "$missing" --log ./unused.jsonl --cold 2>&1 >/dev/null)
status=$?
case $status:$err in
  2:*"--cold needs --eval"*) ;;
  *) echo "FAIL: --cold without --eval: status $status, stderr: $err"; fails=1 ;;
esac
exit $fails
