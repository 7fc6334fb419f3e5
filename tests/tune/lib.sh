# lib.sh — the start of the tuning command-line tests (resume.sh,
# threads.sh, interrupt.sh, merge.sh, shard.sh, budget.sh), sourced with the test's
# arguments CHAMCC WORKDIR: sets chamcc, work (emptied), here (this folder)
# and log (work/tune.jsonl), skips the test (77) when /usr/bin/python3 lacks
# onnx, and defines fail and small_model (make_small_model.py's model as
# work/small.onnx).
set -uo pipefail
chamcc=$1 work=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
rm -rf "$work" && mkdir -p "$work"
/usr/bin/python3 -c 'import onnx, numpy' 2>/dev/null || { echo "skip: /usr/bin/python3 lacks onnx"; exit 77; }
log=$work/tune.jsonl
fail() { echo "FAIL: $*"; exit 1; }
small_model() { /usr/bin/python3 "$here/make_small_model.py" "$work/small.onnx" || exit 1; }
