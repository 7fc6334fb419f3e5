# Shared helpers for the end-to-end test scripts (sourced, not run).
#
# Common options, accepted by every script before its own arguments:
#   --chamcc PATH   the compiler (default: $CHAMCC, else build/chamcc)
#   --tools DIR     where pb2raw and onnx_ops were built (default: dir of chamcc + /tests/tools)
#   --work DIR      scratch space (default: /tmp/chamcc-e2e-$USER/NAME)
#   --src DIR       the source tree (default: the tree this script is in)
#   -v              verbose
# Environment: CHAMCC_E2E_FLAGS is appended to every chamcc call (e.g. to
# pick a no-tuning mode); CHAMCC_E2E_TIMEOUT bounds each step (seconds, 300).
# CHAMCC_E2E_TARGET=TRIPLE (and CHAMCC_E2E_CPU=NAME) compiles for that target:
# for aarch64-linux-gnu the libraries are linked with aarch64-linux-gnu-gcc
# and run under qemu-aarch64 (called explicitly: binfmt is not assumed), the
# test skipping when either is absent; CHAMCC_E2E_SLOWDOWN multiplies the
# step timeout (default 10 under qemu).
# riscv64-linux-gnu likewise with riscv64-linux-gnu-gcc and qemu-riscv64
# (CHAMCC_E2E_QEMU_CPU, e.g. rv64,v=true,vlen=256, is given to it as -cpu).
# CHAMCC_E2E_EMITC=1 builds every library through the C back end: chamcc
# --emit-c writes DIR/tree, and `make` builds libmodel.a there from nothing
# but that tree, with CC=$CHAMCC_E2E_EMITC_CC (default: the target's
# compiler) and, when they are set, CFLAGS=$CHAMCC_E2E_EMITC_CFLAGS and
# TARGET_CFLAGS=$CHAMCC_E2E_EMITC_TARGET_CFLAGS; a C file compiled without
# -Wall -Wextra, or any warning, fails the build. With EMITC_SHARED_RT=FILE
# the trees of one run share one runtime object, and with EMITC_UNITY=1 the
# C files of a tree are compiled as one (unity.mk); conformance.sh sets both.
# The trees are archived by gcc-ar where there is one (emit_c_model says why).
# Exit status convention: 0 pass, 1 fail, 77 skipped (a prerequisite is absent).

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$E2E_DIR/../.." && pwd)
CHAMCC=${CHAMCC:-}
TOOLS=${CHAMCC_TOOLS:-}
WORK=""
VERBOSE=0
ARGS=()
PY=/usr/bin/python3
STEP_TIMEOUT=${CHAMCC_E2E_TIMEOUT:-300}
read -r -a EXTRA_FLAGS <<<"${CHAMCC_E2E_FLAGS:-}"
E2E_TARGET=${CHAMCC_E2E_TARGET:-}
E2E_CPU=${CHAMCC_E2E_CPU:-}
TARGET_CC=cc   # compiles and links programs for the target
TARGET_RUN=()  # runs them (empty: natively)
GCC_AR=$(command -v gcc-ar || true) # the trees' archiver, when there is one (emit_c_model)
[ -n "$E2E_TARGET" ] && EXTRA_FLAGS+=(--target "$E2E_TARGET")
[ -n "$E2E_CPU" ] && EXTRA_FLAGS+=(--cpu "$E2E_CPU")
case "$E2E_TARGET" in
aarch64-*)
  TARGET_CC=aarch64-linux-gnu-gcc
  TARGET_RUN=(qemu-aarch64 -L /usr/aarch64-linux-gnu)
  [ "$(uname -m)" = aarch64 ] && TARGET_CC=cc TARGET_RUN=()
  STEP_TIMEOUT=$((STEP_TIMEOUT * ${CHAMCC_E2E_SLOWDOWN:-10})) ;;
riscv64-*)
  TARGET_CC=riscv64-linux-gnu-gcc
  TARGET_RUN=(qemu-riscv64 -L /usr/riscv64-linux-gnu)
  [ -n "${CHAMCC_E2E_QEMU_CPU:-}" ] && TARGET_RUN+=(-cpu "$CHAMCC_E2E_QEMU_CPU")
  STEP_TIMEOUT=$((STEP_TIMEOUT * ${CHAMCC_E2E_SLOWDOWN:-10})) ;;
esac

parse_common_args() {
  while [ $# -gt 0 ]; do
    case "$1" in
    --chamcc) CHAMCC=$2; shift 2 ;;
    --tools) TOOLS=$2; shift 2 ;;
    --work) WORK=$2; shift 2 ;;
    --src) SRC=$2; shift 2 ;;
    -v) VERBOSE=1; shift ;;
    *) ARGS+=("$1"); shift ;;
    esac
  done
  [ -n "$CHAMCC" ] || CHAMCC=$SRC/build/chamcc
  [ -n "$TOOLS" ] || TOOLS=$(dirname "$CHAMCC")/tests/tools
  [ -n "$WORK" ] || WORK=/tmp/chamcc-e2e-${USER:-$(id -u)}/$TEST_NAME
  CHAMCC=$(readlink -f "$CHAMCC" || echo "$CHAMCC")
  mkdir -p "$WORK"
  WORK=$(cd "$WORK" && pwd)
  export CHAMCC_TOOLS=$TOOLS # the fake compiler (tests/e2e/fake) needs onnx_ops
}

say() { echo "$TEST_NAME: $*"; }
vsay() { [ "$VERBOSE" = 1 ] && echo "$TEST_NAME: $*"; return 0; }
skip() { echo "$TEST_NAME: SKIPPED: $*" >&2; exit 77; }
die() { echo "$TEST_NAME: ERROR: $*" >&2; exit 1; }

need_chamcc() {
  [ -x "$CHAMCC" ] || die "no compiler at $CHAMCC (build it, or pass --chamcc)"
}
need_tool() { # need_tool NAME: a helper from tests/tools
  [ -x "$TOOLS/$1" ] || die "no $1 in $TOOLS (build the $1 target, or pass --tools)"
}
need_cmd() { command -v "$1" >/dev/null || skip "$1 is not installed"; }
# need_target: the target's compiler and emulator (when cross-compiling).
need_target() {
  command -v "$TARGET_CC" >/dev/null || skip "$TARGET_CC is not installed (scripts/setup.sh installs the cross compilers)"
  [ -z "${CHAMCC_E2E_EMITC_CC:-}" ] || command -v "${CHAMCC_E2E_EMITC_CC%% *}" >/dev/null ||
    skip "${CHAMCC_E2E_EMITC_CC%% *} is not installed"
  [ ${#TARGET_RUN[@]} -eq 0 ] || command -v "${TARGET_RUN[0]}" >/dev/null ||
    skip "${TARGET_RUN[0]} is not installed (apt install qemu-user)"
}
need_python_onnx() {
  "$PY" -c 'import onnx' 2>/dev/null || skip "$PY cannot import onnx (apt install python3-onnx)"
}
need_ort() {
  need_cmd node
  [ -d "$SRC/tests/oracle/node_modules/onnxruntime-node" ] ||
    skip "onnxruntime-node is not installed (scripts/setup.sh, or: cd tests/oracle && ONNXRUNTIME_NODE_INSTALL=skip npm install)"
}

# compile_model MODEL DIR: chamcc MODEL into DIR/libmodel.a + DIR/model.h, then
# links run_model against it as DIR/run. Logs in DIR/chamcc.log, DIR/cc.log.
# Returns 1 when chamcc fails, 2 when the link fails. With RUN_MODEL_OBJ set
# (see prebuild_run_model) it links that object instead of compiling the source.
compile_model() {
  local model=$1 dir=$2
  mkdir -p "$dir"
  rm -f "$dir/libmodel.a" "$dir/model.h" "$dir/run"
  if [ -n "${CHAMCC_E2E_EMITC:-}" ]; then
    emit_c_model "$model" "$dir" || return 1
  else
    timeout "$STEP_TIMEOUT" "$CHAMCC" "$model" -o "$dir/libmodel.a" --name model -q \
      "${EXTRA_FLAGS[@]}" >"$dir/chamcc.log" 2>&1 || return 1
  fi
  local main=("$SRC/tests/tools/run_model.c")
  [ -n "${RUN_MODEL_OBJ:-}" ] && main=("$RUN_MODEL_OBJ")
  "$TARGET_CC" -O2 -I "$dir" "${main[@]}" "$dir/libmodel.a" -lpthread -lm \
    -o "$dir/run" >"$dir/cc.log" 2>&1 || return 2
}

# emit_c_model MODEL DIR: chamcc --emit-c DIR/tree (or a copy of the tree
# EMITC_TREE names, emitted earlier), make there (see the top), DIR/libmodel.a
# and DIR/model.h from it. The make output goes to DIR/chamcc.log on failure.
emit_c_model() {
  local model=$1 dir=$2 args
  rm -rf "$dir/tree"
  if [ -n "${EMITC_TREE:-}" ]; then # emitted once for several routes (conformance.sh --trees-from)
    cp -r "$EMITC_TREE" "$dir/tree" 2>"$dir/chamcc.log" || return 1
  else
    timeout "$STEP_TIMEOUT" "$CHAMCC" "$model" --emit-c "$dir/tree" --name model -q \
      "${EXTRA_FLAGS[@]}" >"$dir/chamcc.log" 2>&1 || return 1
  fi
  args=(CC="${CHAMCC_E2E_EMITC_CC:-$TARGET_CC}")
  # GNU ar, asked for an archive's index, loads every plugin of
  # /usr/lib/bfd-plugins to read the members (on Debian the LLVMgold of each
  # installed LLVM, each pulling in its libLLVM): 28 ms of CPU per archive
  # here, a fifth of a gcc conformance case. gcc-ar is the same ar given
  # GCC's plugin only (2 ms) and writes the same bytes.
  [ -n "$GCC_AR" ] && args+=(AR="$GCC_AR")
  [ -n "${CHAMCC_E2E_EMITC_CFLAGS+set}" ] && args+=(CFLAGS="$CHAMCC_E2E_EMITC_CFLAGS")
  [ -n "${CHAMCC_E2E_EMITC_TARGET_CFLAGS+set}" ] && args+=(TARGET_CFLAGS="$CHAMCC_E2E_EMITC_TARGET_CFLAGS")
  if [ -n "${EMITC_SHARED_RT:-}" ]; then
    shared_runtime "$dir" "${args[@]}" || return 1
    args+=(RT_OBJ="$EMITC_SHARED_RT")
  fi
  [ -n "${EMITC_UNITY:-}" ] && args+=(-f Makefile -f "$E2E_DIR/unity.mk" unity)
  tree_make "$dir" "${args[@]}" || return 1
  cp "$dir/tree/libmodel.a" "$dir/tree/model.h" "$dir/"
}

# tree_make DIR MAKE-ARGS...: make in DIR/tree; fails (make's output in
# DIR/chamcc.log) when make does, when a C file is compiled without -Wall
# -Wextra, or when anything warns.
tree_make() {
  local dir=$1
  shift
  if ! timeout "$STEP_TIMEOUT" make -C "$dir/tree" --no-print-directory "$@" >"$dir/make.log" 2>&1; then
    cp "$dir/make.log" "$dir/chamcc.log"
    return 1
  fi
  if grep -q -i 'warning' "$dir/make.log" ||
    ! awk '/ -c [^ ]*\.c( |$)/ && !(/ -Wall( |$)/ && / -Wextra( |$)/) {bad = 1} END {exit bad}' "$dir/make.log"; then
    { echo "make: warnings, or a C file compiled without -Wall -Wextra:"; cat "$dir/make.log"; } >"$dir/chamcc.log"
    return 1
  fi
}

# shared_runtime DIR MAKE-ARGS...: $EMITC_SHARED_RT, the runtime object of
# every tree of this run: the first tree to get here builds it with its
# Makefile (the others wait on a lock), and a tree whose chamcc_rt.c differs
# from that one's may not use it.
shared_runtime() {
  local dir=$1 rt=$EMITC_SHARED_RT
  shift
  (
    flock 9
    [ -s "$rt" ] && exit 0
    tree_make "$dir" "$@" chamcc_rt.o || exit 1
    cp "$dir/tree/chamcc_rt.c" "$rt.c" && cp "$dir/tree/chamcc_rt.o" "$rt"
  ) 9>"$rt.lock" || return 1
  cmp -s "$dir/tree/chamcc_rt.c" "$rt.c" && return 0
  echo "the runtime source differs from the shared one's ($rt.c)" >"$dir/chamcc.log"
  return 1
}

# prebuild_run_model: compiles run_model.c once, against the API as declared
# in tests/e2e/fake/model.h (the same for every model), and exports
# RUN_MODEL_OBJ so compile_model only links. For runs over many models.
prebuild_run_model() {
  "$TARGET_CC" -O2 -c -I "$E2E_DIR/fake" "$SRC/tests/tools/run_model.c" -o "$WORK/run_model.o" ||
    die "cannot compile run_model.c"
  export RUN_MODEL_OBJ=$WORK/run_model.o
}

# run_limited CMD...: runs a program built for the target with the step timeout.
run_limited() { timeout "$STEP_TIMEOUT" "${TARGET_RUN[@]}" "$@"; }
