# Shared by the runner test scripts (sourced, not run).
#
# Arguments: --arch host|aarch64|riscv64  --runner=PATH (chamcc-runner for
# that arch; empty when it was not built)  --chamcc PATH  --client PATH
# (test_client)  --reconnect PATH (test_reconnect)  --auth PATH
# (test_auth)  --src DIR (the source
# tree)  --work DIR (scratch, emptied).
# A cross runner runs under qemu-ARCH (called explicitly: binfmt is not
# assumed); the riscv64 one on a CPU with RVV 1.0 and VLEN 256, for which
# chamcc builds with --cpu zvl256b. Exit status: 0 pass, 1 fail, 77
# skipped (qemu, the cross gcc or ld.lld is missing). Every runner started
# is killed on exit.
set -uo pipefail

ARCH=host RUNNER="" CHAMCC="" CLIENT="" RECONNECT="" AUTH="" SRC="" WORK=""
while [ $# -gt 0 ]; do
  case "$1" in
  --arch) ARCH=$2; shift 2 ;;
  --runner=*) RUNNER=${1#--runner=}; shift ;;
  --chamcc) CHAMCC=$2; shift 2 ;;
  --client) CLIENT=$2; shift 2 ;;
  --reconnect) RECONNECT=$2; shift 2 ;;
  --auth) AUTH=$2; shift 2 ;;
  --src) SRC=$2; shift 2 ;;
  --work) WORK=$2; shift 2 ;;
  *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
NAME="$(basename "$0" .sh) ($ARCH)"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PY=/usr/bin/python3

say() { echo "$NAME: $*"; }
fail() { echo "$NAME: FAIL: $*" >&2; exit 1; }
skip() { echo "$NAME: SKIPPED: $*" >&2; exit 77; }

rm -rf "$WORK" && mkdir -p "$WORK/tmp" || fail "cannot make $WORK"
WORK=$(cd "$WORK" && pwd)
export TMPDIR=$WORK/tmp # runner and linker temporaries stay here, where leaks show

RUNNER_CMD=() # how to start the runner
QUICK=(--repeat-ms 2) # chamcc's brief timing: the tests check what is measured where, not speed
TARGET=()     # chamcc's --target (and --cpu) for the runner's machine
TARGET_RUN=() # runs a program for that machine (empty: natively)
KERNEL_CC=cc  # compiles hand-made candidates and test programs for it
case "$ARCH" in
host) RUNNER_CMD=("$RUNNER") ;;
aarch64 | riscv64)
  command -v "$ARCH-linux-gnu-gcc" >/dev/null || skip "$ARCH-linux-gnu-gcc is not installed"
  [ -n "$RUNNER" ] && [ -x "$RUNNER" ] || skip "chamcc-runner-$ARCH was not built (no cross gcc at configure time)"
  command -v "qemu-$ARCH" >/dev/null || skip "qemu-$ARCH is not installed (apt install qemu-user)"
  TARGET_RUN=("qemu-$ARCH" -L "/usr/$ARCH-linux-gnu")
  TARGET=(--target "$ARCH-linux-gnu")
  if [ "$ARCH" = riscv64 ]; then
    TARGET_RUN+=(-cpu rv64,v=true,vlen=256,vext_spec=v1.0)
    TARGET+=(--cpu zvl256b)
  fi
  RUNNER_CMD=("${TARGET_RUN[@]}" "$RUNNER")
  KERNEL_CC=$ARCH-linux-gnu-gcc ;;
*) fail "unknown --arch $ARCH" ;;
esac

# chamcc links candidates with ld.lld; look where it does.
need_lld() {
  command -v ld.lld-19 >/dev/null || command -v ld.lld >/dev/null ||
    [ -x "$(llvm-config-19 --bindir 2>/dev/null)/ld.lld" ] || skip "ld.lld is not installed (apt install lld-19)"
}

# make_model OUT.onnx [CHANNELS [SIZE]]
make_model() {
  $PY -c 'import onnx, numpy' 2>/dev/null || fail "$PY lacks onnx and numpy (scripts/setup.sh installs them)"
  $PY "$HERE/make_model.py" "$@" || fail "cannot write the test model"
}

RUNNER_PID=""
PORT=""
cleanup() {
  if [ -n "$RUNNER_PID" ]; then
    kill -9 "$RUNNER_PID" 2>/dev/null
    wait "$RUNNER_PID" 2>/dev/null
  fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# start_runner [RUNNER OPTIONS...]: starts it on a free port (of loopback,
# unless --bind says otherwise), sets PORT.
start_runner() {
  : >"$WORK/runner.out" # emptied here: the runner's own redirection may come after the first look
  "${RUNNER_CMD[@]}" --port 0 "$@" >"$WORK/runner.out" 2>"$WORK/runner.err" &
  RUNNER_PID=$!
  for _ in $(seq 600); do
    PORT=$(sed -n 's/^listening on .*:\([0-9][0-9]*\)$/\1/p' "$WORK/runner.out")
    [ -n "$PORT" ] && { say "runner listening on port $PORT"; return 0; }
    kill -0 "$RUNNER_PID" 2>/dev/null || { cat "$WORK/runner.err" >&2; fail "the runner died at start"; }
    sleep 0.05
  done
  fail "the runner did not say where it listens within 30 s"
}

# stop_runner: SIGTERM must end it with status 0.
stop_runner() {
  kill -TERM "$RUNNER_PID"
  wait "$RUNNER_PID"
  local rc=$?
  RUNNER_PID=""
  [ "$rc" -eq 0 ] || { cat "$WORK/runner.err" >&2; fail "the runner exited with $rc on SIGTERM"; }
  grep -q "chamcc-runner: stopped" "$WORK/runner.err" || fail "the runner did not say it stopped"
}

# no_leftovers: the runner and the linker removed their temporary files.
no_leftovers() {
  [ -z "$(ls -A "$TMPDIR")" ] || fail "temporary files left behind: $(ls "$TMPDIR" | head -5)"
}

# count LOG PATTERN: lines of LOG that match PATTERN (grep -E).
# count FILE REGEX: search records (not confirmations) matching REGEX
count() { grep -v '"confirm":1' "$1" | grep -cE "$2"; }
