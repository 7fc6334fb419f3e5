# lib.sh — the start of the tuning command-line tests (resume.sh,
# threads.sh, interrupt.sh, merge.sh, shard.sh, budget.sh), sourced with
# the test's arguments CHAMCC WORKDIR: sets chamcc, work (emptied), here
# (this folder), log (work/tune.jsonl) and quick (chamcc's options for brief
# timing), skips the test (77) when /usr/bin/python3 lacks onnx, and defines
# fail, small_model (make_small_model.py's model as work/small.onnx) and
# refused.
set -uo pipefail
chamcc=$1 work=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
rm -rf "$work" && mkdir -p "$work"
/usr/bin/python3 -c 'import onnx, numpy' 2>/dev/null || { echo "skip: /usr/bin/python3 lacks onnx"; exit 77; }
log=$work/tune.jsonl
# Tuning runs here time each repeat briefly: the tests check what is
# recorded and resumed, not which config is fastest.
quick=(--repeat-ms 2)
fail() { echo "FAIL: $*"; exit 1; }
small_model() { /usr/bin/python3 "$here/make_small_model.py" "$work/small.onnx" || exit 1; }
# refused STATUS TEXT COMMAND...: COMMAND exits with STATUS and says TEXT on stderr
refused() {
  local want=$1 text=$2; shift 2
  "$@" >/dev/null 2>"$work/err.txt"; local rc=$?
  [ $rc -eq "$want" ] && grep -q -- "$text" "$work/err.txt" || { cat "$work/err.txt"; fail "exit $rc for: $*"; }
}
