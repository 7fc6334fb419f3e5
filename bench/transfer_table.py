#!/usr/bin/env python3
"""transfer_table.py: the table of bench/transfer.sh.

    transfer_table.py SOURCE_LOG --cold LOG... --warm LOG...

Each --cold / --warm log is one tuning run of the target model (a warm log
also holds the source's records, copied before the run). Compared: the tasks
of the target that every run tuned and that the source log does not hold.
A search record's speed is median(ref_times) / median(times): the candidate
against the task's reference measured beside it. Confirmations and records
that are not ok do not count (a failed candidate counts as measured, with
no speed).
"""
import json
import math
import re
import statistics
import sys

KS = (4, 8, 16, None)  # best of the first k search measurements; None: all


def records(path):
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                yield json.loads(line)


def search_runs(path, skip):
    """task -> speeds of its search measurements in order (None: failed)."""
    runs = {}
    for r in records(path):
        if r.get("confirm") or r["task"] in skip:
            continue
        ok = r.get("status") == "ok" and r.get("times") and r.get("ref_times")
        speed = statistics.median(r["ref_times"]) / statistics.median(r["times"]) if ok else None
        runs.setdefault(r["task"], []).append(speed)
    return runs


def best(speeds, k):
    got = [s for s in (speeds if k is None else speeds[:k]) if s is not None]
    return max(got) if got else None


def geomean(xs):
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")


def main(argv):
    if "--cold" not in argv or "--warm" not in argv:
        sys.exit(__doc__)
    source = argv[1]
    cold = argv[argv.index("--cold") + 1:argv.index("--warm")]
    warm = argv[argv.index("--warm") + 1:]
    skip = {r["task"] for r in records(source)}
    runs = {"cold": [search_runs(p, skip) for p in cold], "warm": [search_runs(p, skip) for p in warm]}
    tasks = set.intersection(*(set(r) for side in runs.values() for r in side))
    tasks = sorted(t for t in tasks if all(best(r[t], None) for side in runs.values() for r in side))
    print(f"{len(tasks)} tasks of the target that the source log does not hold "
          f"(speed: against the task's default measured beside it; geometric mean over the tasks)")
    print()
    head = " | ".join(f"best of first {k}" if k else "best of all" for k in KS)
    print(f"| run | seed | {head} | mean of first 8 | measurements |")
    print("|---|--:|" + "--:|" * (len(KS) + 2))
    summary = {}
    for side in ("cold", "warm"):
        for i, r in enumerate(runs[side]):
            cols = [geomean([best(r[t], k) for t in tasks]) for k in KS]
            first = geomean([statistics.mean(s for s in r[t][:8] if s is not None) for t in tasks
                             if any(s is not None for s in r[t][:8])])
            n = sum(len(r[t]) for t in tasks)
            summary.setdefault(side, []).append(cols + [first])
            path = (cold if side == "cold" else warm)[i]
            seed = re.search(r"-s(\d+)\.jsonl$", path)
            print(f"| {side} | {seed.group(1) if seed else path} | "
                  + " | ".join(f"{c:.3f}" for c in cols) + f" | {first:.3f} | {n} |")
    print()
    w, c = summary["warm"], summary["cold"]
    ratios = [statistics.median(a[j] for a in w) / statistics.median(b[j] for b in c) for j in range(len(KS) + 1)]
    names = [f"first {k}" if k else "all" for k in KS] + ["mean of first 8"]
    print("warm / cold, medians over seeds: " + ", ".join(f"{n} {x:.3f}" for n, x in zip(names, ratios)))


if __name__ == "__main__":
    main(sys.argv)
