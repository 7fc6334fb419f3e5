#!/usr/bin/env bash
# The C back end against the LLVM one (issue 29): the same model, the same
# configs, compiled by chamcc through LLVM (libmodel.a) and emitted as C
# (`chamcc --emit-c`) then built by gcc -O3 -march=native, at 1 and 2
# threads.
#
#   bench/emitc.sh [--log FILE] [--rounds R] [--runs N] [--threads "1 2"] [--cc CC] [MODEL...]
#
# MODEL: names models/export_torchvision.py knows (default: resnet18
# mobilenet_v2), exported with seeded random weights into build/bench-emitc.
# Both libraries use default schedules (--tuner none), or with --log the
# log's tuned configs. R rounds (default 5) alternate the two libraries, N
# timed runs each (default 20); per round the median of the N runs. The
# table gives per model and thread count the median over rounds of each
# (ms), the median of the per-round ratios C/LLVM with their range (the
# spread), and the seconds `make -j2` takes to build the emitted tree
# (its compile time). Prints markdown, with the CPU and compiler first and
# the load average (1, 5, 15 min) before and after each row's rounds.
source "$(dirname "$0")/lib.sh"
log="" rounds=5 runs=20 threads="1 2" cc=gcc
bench_opt() { case $1 in --cc) cc=$2 ;; *) timing_opt "$@" ;; esac; }
bench_args "$@"
[ ${#models[@]} -gt 0 ] || models=(resnet18 mobilenet_v2)
work=$here/build/bench-emitc
export_models "$work" "${models[@]}"

echo "CPU: $(machine); $($cc --version | head -1); $(date -u +%Y-%m-%d); rounds $rounds x $runs runs"
echo
echo "| model | threads | LLVM ms | C ms | C/LLVM (min-max) | make -j2 s | load before / after |"
echo "|---|--:|--:|--:|--:|--:|--:|"
for m in "${models[@]}"; do
  for t in $threads; do
    d=$work/$m-${t}t
    use_log=$(build_log "$d")
    build_runner "$chamcc" "$work/$m.onnx" "$d/llvm" "$t" "$use_log"
    rm -rf "$d/c"
    "$chamcc" "$work/$m.onnx" --emit-c "$d/c" --name model --threads "$t" -q --tuner none --log "$use_log"
    t0=$(date +%s.%N)
    make -s -j2 -C "$d/c" CC="$cc" TARGET_CFLAGS=-march=native >/dev/null
    compile=$(seconds_since "$t0")
    cc -O2 -I"$d/c" "$here/tests/tools/run_model.c" "$d/c/libmodel.a" -lpthread -lm -o "$d/c/run"
    l_all="" c_all="" r_all="" load0=$(cut -d' ' -f1-3 /proc/loadavg)
    for ((r = 0; r < rounds; r++)); do
      l=$(bench_ms "$d/llvm/run" "$runs")
      c=$(bench_ms "$d/c/run" "$runs")
      l_all+="$l " c_all+="$c "
      r_all+="$(ratio "$c" "$l") "
    done
    printf '| %s | %s | %.2f | %.2f | %.2f (%s) | %s | %s / %s |\n' "$m" "$t" "$(median <<<"$l_all")" \
      "$(median <<<"$c_all")" "$(median <<<"$r_all")" "$(spread <<<"$r_all")" "$compile" "$load0" \
      "$(cut -d' ' -f1-3 /proc/loadavg)"
  done
done
