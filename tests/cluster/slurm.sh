#!/usr/bin/env bash
# A real scheduler (issue 30): a one-node Slurm cluster on this machine
# (Debian's slurm-wlm and munge, installed with apt-get if missing; a
# generated slurm.conf; munged, slurmctld and slurmd as root, no systemd or
# cgroups), a job array `sbatch --array=0-3` running `chamcc tune` on a
# small zoo (each array task takes its shard from SLURM_ARRAY_TASK_ID and
# SLURM_ARRAY_TASK_COUNT), then `chamcc log merge` and a build of each model
# whose every tunable layer takes its config from the merged log. The
# daemons are stopped at the end, on failure too. Exit 77 (skipped) without
# root, apt-get, or python3 with onnx.
#   slurm.sh CHAMCC SRCDIR WORKDIR
set -uo pipefail
chamcc=$(realpath "$1") src=$(realpath "$2") work=$3
fail() { echo "FAIL: $*"; exit 1; }
skip() { echo "skip: $*"; exit 77; }

[ "$(id -u)" -eq 0 ] || skip "needs root (daemons as root, SlurmUser=root)"
/usr/bin/python3 -c 'import onnx, numpy' 2>/dev/null || skip "/usr/bin/python3 lacks onnx"
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  command -v apt-get >/dev/null || skip "slurm-wlm and munge are missing and there is no apt-get"
  echo "installing slurm-wlm and munge"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends slurm-wlm munge >/dev/null 2>&1 ||
    { apt-get update >/dev/null 2>&1 &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends slurm-wlm munge >/dev/null 2>&1; } ||
    skip "apt-get could not install slurm-wlm and munge"
fi

rm -rf "$work" && mkdir -p "$work"/{munge,state,spool,out,logs}
work=$(realpath "$work")
chmod 755 "$work/munge" # the key inside is mode 400
cd "$work"

# ---- teardown, whatever happens ----
pids=()
teardown() {
  if [ -n "${jobid:-}" ]; then # our jobs first, so that slurmd ends their steps
    scancel "$jobid" 2>/dev/null
    for _ in $(seq 40); do [ -z "$(squeue -h -j "$jobid" 2>/dev/null)" ] && break; sleep 0.5; done
  fi
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill "${pids[i]}" 2>/dev/null; done
  for p in "${pids[@]}"; do
    for _ in $(seq 20); do kill -0 "$p" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$p" 2>/dev/null
  done
}
trap teardown EXIT

# ---- munge ----
mungekey -c -k "$work/munge/munge.key" >/dev/null 2>&1 || fail "mungekey"
chmod 400 "$work/munge/munge.key"
munged -F -f --key-file="$work/munge/munge.key" --socket="$work/munge/munge.sock" \
  --pid-file="$work/munge/munged.pid" --log-file="$work/munge/munged.log" \
  --seed-file="$work/munge/munged.seed" >"$work/munge/munged.out" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -S "$work/munge/munge.sock" ] && break; sleep 0.1; done
[ -S "$work/munge/munge.sock" ] || { cat "$work/munge/munged.log"; fail "munged did not start"; }

# ---- slurm.conf for one node: this machine, on two free ports ----
node=$(hostname -s)
cpus=$(nproc)
free_port() { # a port nobody listens on, from a range
  local p
  for p in $(shuf -i 20000-40000 -n 50); do
    ss -Htln "sport = :$p" 2>/dev/null | grep -q . || { echo "$p"; return; }
  done
  echo 26817
}
p1=$(free_port); p2=$(free_port); [ "$p1" = "$p2" ] && p2=$((p1 + 1))
cat >slurm.conf <<CONF
ClusterName=chamcc-test
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$p1
SlurmdPort=$p2
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$work/munge/munge.sock
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
MinJobAge=600
KillWait=5
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=test Nodes=$node Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$work/slurm.conf
slurmctld -D -c -f "$SLURM_CONF" >"$work/slurmctld.out" 2>&1 &
pids+=($!)
slurmd -D -N "$node" -f "$SLURM_CONF" >"$work/slurmd.out" 2>&1 &
pids+=($!)
up=0
for _ in $(seq 60); do
  state=$(sinfo -h -N -o '%T' 2>/dev/null | head -n 1)
  case "$state" in idle*|mixed*|allocated*) up=1; break ;; esac
  sleep 0.5
done
[ $up -eq 1 ] || { tail -n 20 slurmctld.log slurmd.log slurmctld.out slurmd.out; fail "the node did not come up (state '${state:-}')"; }
echo "slurm up: node $node, $cpus CPUs, ports $p1 $p2"

# ---- the job array: the job script of docs/SCALING.md ----
/usr/bin/python3 "$src/tests/tune/make_zoo.py" "$work/zoo" || fail "make_zoo.py"
cat >tune.sbatch <<JOB
#!/bin/bash
#SBATCH --job-name=chamcc-tune
#SBATCH --array=0-3
#SBATCH --cpus-per-task=$cpus
#SBATCH --output=$work/out/tune-%a.out
# Every array task runs the same command; chamcc takes its shard from
# SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT and writes
# logs/tuning.shardK-of-4.jsonl. Measuring needs the cores to itself.
"$chamcc" tune $work/zoo/zoo_a.onnx $work/zoo/zoo_b.onnx $work/zoo/zoo_c.onnx \\
  --trials 2 --tuner random --log $work/logs
echo "exit \$?"
JOB
jobid=$(sbatch --parsable tune.sbatch) || fail "sbatch"
echo "submitted job array $jobid"
for _ in $(seq 1200); do
  [ -z "$(squeue -h -j "$jobid" 2>/dev/null)" ] && break
  sleep 0.5
done
[ -z "$(squeue -h -j "$jobid" 2>/dev/null)" ] || fail "the job array did not finish in 10 minutes"
jobid=

# ---- every shard ran, took its own share, and the shares are the zoo ----
zoo=("$work/zoo/zoo_a.onnx" "$work/zoo/zoo_b.onnx" "$work/zoo/zoo_c.onnx")
"$chamcc" tune "${zoo[@]}" --trials 2 --list-tasks -q | cut -f4 | sort >all.txt
: >union.txt
for k in 0 1 2 3; do
  out=out/tune-$k.out
  [ -f "$out" ] || fail "array task $k wrote no output"
  grep -q "shard $k of 4 (SLURM_ARRAY_TASK_ID=$k, SLURM_ARRAY_TASK_COUNT=4)" "$out" || { cat "$out"; fail "task $k: shard not from Slurm"; }
  grep -q "^exit 0" "$out" || { cat "$out"; fail "array task $k failed"; }
  log=logs/tuning.shard$k-of-4.jsonl
  [ -s "$log" ] || fail "no $log"
  grep -o '"task":"[^"]*"' "$log" | sed 's/"task":"//; s/"$//' | sort -u >>union.txt
done
sort union.txt | cmp -s - all.txt || { diff <(sort union.txt) all.txt; fail "the shards' tasks are not each zoo task once"; }
echo "4 shards tuned $(wc -l <all.txt) tasks, each once"

# ---- merge, and build every model from the merge alone ----
"$chamcc" log merge merged.jsonl logs || fail "log merge"
"$chamcc" log stats merged.jsonl
for m in "${zoo[@]}"; do
  name=$(basename "$m" .onnx)
  "$chamcc" "$m" -o "$work/lib$name.a" --log merged.jsonl --tuner none 2>build.err || { cat build.err; fail "build $name"; }
  line=$(grep "tunable layers use a tuned config" build.err)
  echo "$name: $line"
  read -r used total < <(sed -E 's/.*chamcc: ([0-9]+) of ([0-9]+) tunable.*/\1 \2/' <<<"$line")
  [ -n "$total" ] && [ "$total" -gt 0 ] && [ "$used" = "$total" ] || fail "$name: not every tunable layer from the log"
done
echo "ok"
