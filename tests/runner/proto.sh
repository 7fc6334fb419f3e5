#!/usr/bin/env bash
# The runner's protocol, by a hand-written client (test_client.c) and
# hand-made candidates (kernels.c): results of good, wrong, crashing,
# hanging and unloadable candidates; garbage of every kind answered with an
# ERROR frame, and the runner still serving afterwards; chamcc's client
# reconnecting after the runner dropped it; SIGTERM ends the runner.
source "$(dirname "$0")/lib.sh"

command -v "$KERNEL_CC" >/dev/null || skip "$KERNEL_CC is not installed"
for k in ok wrong crash hang nosym; do
  kind=$(echo "$k" | tr a-z A-Z)
  "$KERNEL_CC" -std=gnu11 -O1 -fPIC -shared -I"$SRC/measure/include" -I"$SRC/common/include" -I"$SRC/runtime/include" -DKIND="$kind" "$HERE/kernels.c" -o "$WORK/$k.so" ||
    fail "cannot build $k.so"
done

start_runner --max-bytes 1000000 --idle-timeout 1
flush=()
[ "$ARCH" = riscv64 ] && flush=(no-flush) # no cache flush in RISC-V's base ISA: cold runs are refused
"$CLIENT" 127.0.0.1 "$PORT" "$WORK" "${flush[@]}" || { cat "$WORK/runner.err" >&2; fail "test_client found problems"; }
"$RECONNECT" 127.0.0.1 "$PORT" "$WORK" || { cat "$WORK/runner.err" >&2; fail "test_reconnect found problems"; }
stop_runner
no_leftovers
say "ok"
