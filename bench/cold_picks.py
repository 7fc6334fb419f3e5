#!/usr/bin/python3
"""Re-ranks the best configs of tuning logs by cold measurement, and writes
the winners as a one-record-per-task log that a build can use.

    /usr/bin/python3 bench/cold_picks.py LAYERS.json OUT.jsonl LOG... [--net resnet18] [--top 8] [--rounds 3]

For every layer of the net (LAYERS.json: ../shared/workloads/cnn_layers.json),
the LOGs' distinct ok configs of its task are ranked by their best reading
(hot, as the tuners measured them); the top N are timed again with
`build/bench/tune_layers --eval --cold --config ...` (weights flushed before
every run, beside the default, R rounds), and the fastest at 2 threads wins.
OUT gets one record per task: the winner, with its cold median time (the
default wins where it is fastest: no record, the build uses it). A layer's
task is matched by position: the first LOG's tasks in the order of their
first records (the tuners tune a net's layers in order). Prints what it
picked. Needs scripts/build.sh first.
"""
import argparse
import json
import lzma
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def records(path):
    opener = lzma.open if path.endswith(".xz") else open
    with opener(path, "rt") as f:
        for line in f:
            try:
                yield json.loads(line)
            except ValueError:
                continue


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("layers")
    ap.add_argument("out")
    ap.add_argument("logs", nargs="+")
    ap.add_argument("--net", default="resnet18")
    ap.add_argument("--top", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()

    with open(a.layers) as f:
        names = [l["name"] for l in json.load(f)["layers"] if l["net"] == a.net]
    order, best, template = [], {}, {}
    for i, path in enumerate(a.logs):
        for r in records(path):
            k = r["task"]
            if i == 0 and k not in order:
                order.append(k)
            if r.get("status") != "ok" or r.get("confirm"):
                continue
            med = statistics.median(r["times"])
            c = tuple(r["config"])
            per = best.setdefault(k, {})
            per[c] = min(per.get(c, float("inf")), med)
            template.setdefault(k, r)
    if len(order) < len(names):
        sys.exit(f"cold_picks: {a.logs[0]} has {len(order)} tasks, the net {len(names)} layers")

    picks = []
    for name, key in zip(names, order):
        top = sorted(best[key], key=best[key].get)[: a.top]
        cmd = [os.path.join(HERE, "..", "build", "bench", "tune_layers"), a.layers, "--log", os.devnull,
               "--eval", "--cold", "--layer", name, "--rounds", str(a.rounds), "--repeats", "3",
               "--min-time", "0.05"]
        for c in top:
            cmd += ["--config", "i:" + ",".join(map(str, c))]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        rows = [line.split("\t") for line in out.splitlines() if line.startswith(name + "\t")]
        gflops = {row[1]: float(row[3]) for row in rows}  # config -> 2-thread GFLOP/s, cold
        win = max(gflops, key=gflops.get)
        print(f"{name}: default {gflops['default']:.1f}, best hot pick cold "
              f"{gflops['i:' + ','.join(map(str, top[0]))]:.1f}, winner {win} {gflops[win]:.1f} GFLOP/s (cold, 2T)")
        if win != "default":
            r = dict(template[key])
            r["config"] = [int(x) for x in win[2:].split(",")]
            r["times"] = [r["flops"] / (gflops[win] * 1e9)]
            r["tuner"] = "cold_picks"
            r.pop("confirm", None)
            picks.append(r)
    with open(a.out, "w") as f:
        for r in picks:
            f.write(json.dumps(r) + "\n")
    print(f"{a.out}: {len(picks)} tasks picked cold (the others keep their defaults)")


if __name__ == "__main__":
    main()
