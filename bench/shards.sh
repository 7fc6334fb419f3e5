#!/usr/bin/env bash
# Tuning a model zoo in shards (issue 30): the wall-clock of `chamcc tune`
# over the zoo's distinct tasks at a fixed budget as one shard, then as N
# shards run one after the other on this machine (each shard timed on its
# own: on N machines they would run at once, and the longest would be the
# wall-clock). Prints markdown: per run its tasks, measurements, seconds,
# measurements per second, and for the shards the longest against the mean.
#
#   bench/shards.sh [--shards N] [--trials T] [--tuner NAME] [MODEL...]
#
# MODEL: names models/export_torchvision.py knows (default resnet18,
# mobilenet_v2, squeezenet1_1), exported into build/bench-zoo. Every run
# starts from an empty log. Measurement needs the cores to itself: run it
# on a quiet machine (the load average is printed before and after).
source "$(dirname "$0")/lib.sh"
shards=2 trials=8 tuner=chameleon
bench_opt() {
  case $1 in
  --shards) shards=$2 ;;
  --trials) trials=$2 ;;
  --tuner) tuner=$2 ;;
  *) return 1 ;;
  esac
}
bench_args "$@"
[ ${#models[@]} -gt 0 ] || models=(resnet18 mobilenet_v2 squeezenet1_1)
zoo=$here/build/bench-zoo
export_models "$zoo" "${models[@]}"
onnx=()
for m in "${models[@]}"; do onnx+=("$zoo/$m.onnx"); done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# run K N: tunes shard K of N into a fresh log; prints "tasks measurements seconds".
run() {
  local k=$1 n=$2 log=$work/run-$1-of-$2.jsonl t0 t1 tasks
  tasks=$("$chamcc" tune "${onnx[@]}" --trials "$trials" --shard "$k/$n" --list-tasks -q | wc -l)
  t0=$(date +%s.%N)
  "$chamcc" tune "${onnx[@]}" --trials "$trials" --tuner "$tuner" --shard "$k/$n" --log "$log" -q
  t1=$(date +%s.%N)
  echo "$tasks $(cat "$work"/run-$1-of-$2*.jsonl | wc -l) $(echo "$t1 - $t0" | bc)"
}

echo "CPU: $(machine); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "models: ${models[*]}; --trials $trials --tuner $tuner"
echo
echo "| run | tasks | measurements | seconds | measurements/s |"
echo "|---|--:|--:|--:|--:|"
read -r tasks meas secs < <(run 0 1)
printf '| 1 shard | %d | %d | %.1f | %.2f |\n' "$tasks" "$meas" "$secs" "$(echo "$meas / $secs" | bc -l)"
total=0 longest=0
for ((k = 0; k < shards; k++)); do
  read -r tasks meas secs < <(run $k "$shards")
  printf '| shard %d of %d | %d | %d | %.1f | %.2f |\n' $k "$shards" "$tasks" "$meas" "$secs" "$(echo "$meas / $secs" | bc -l)"
  total=$(echo "$total + $secs" | bc -l)
  longest=$(echo "if ($secs > $longest) $secs else $longest" | bc -l)
done
mean=$(echo "$total / $shards" | bc -l)
echo
printf 'shards: longest %.1f s, mean %.1f s, longest/mean %.3f; sum %.1f s\n' "$longest" "$mean" \
  "$(echo "$longest / $mean" | bc -l)" "$total"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
