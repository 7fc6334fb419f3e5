"""vs_onednn_table.py ROWS.tsv — the table of bench/layers/vs_onednn.sh.

ROWS.tsv holds one line per library, round and layer:
  dnnl ROUND name desc mflop blas1 blas2 dnnl1 dnnl2 reorder1 reorder2 impl
  cham ROUND name def1 def2 tuned1 tuned2
(GFLOP/s; "-" where there is no value). Per layer it prints the medians over
rounds and, per thread count, the median over rounds of chamcc / oneDNN
with its interquartile range (from 4 rounds; below, its min-max), where
chamcc is the tuned kernel if the log had one, else the default; the last
lines give the geometric means of those medians.
"""
import math
import statistics
import sys
from collections import defaultdict


def num(x):
    return float(x) if x not in ("-", "") else None


def fmt(x):
    return "-" if x is None else f"{x:.0f}" if x >= 100 else f"{x:.1f}"


def main(path):
    dnnl = defaultdict(dict)  # name -> round -> fields
    cham = defaultdict(dict)
    order, desc, impl = [], {}, {}
    for line in open(path):
        f = line.rstrip("\n").split("\t")
        lib, rnd, name = f[0], int(f[1]), f[2]
        if name not in desc:
            order.append(name)
            desc[name] = ""
        if lib == "dnnl":
            desc[name], impl[name] = f[3], f[11]
            dnnl[name][rnd] = [num(f[7]), num(f[8])]
        else:
            cham[name][rnd] = [num(x) for x in f[3:7]]
    print("| layer | shape | oneDNN 1T / 2T | chamcc default 1T / 2T | chamcc tuned 1T / 2T "
          "| chamcc/oneDNN 1T | chamcc/oneDNN 2T |")
    print("|---|---|--:|--:|--:|--:|--:|")
    logs = [[], []]
    for name in order:
        rounds = sorted(set(dnnl[name]) & set(cham[name]))

        def med(col, src):
            vals = [src[name][r][col] for r in rounds if src[name][r][col] is not None]
            return statistics.median(vals) if vals else float("nan")

        ratios = []
        for t in (0, 1):
            per = []
            for r in rounds:
                d, c = dnnl[name][r][t], cham[name][r][2 + t] or cham[name][r][t]
                if d and c:
                    per.append(c / d)
            if per:
                m = statistics.median(per)
                logs[t].append(math.log(m))
                lo, hi = (statistics.quantiles(per, n=4)[0::2] if len(per) >= 4
                          else (min(per), max(per)))
                ratios.append(f"{m:.2f} ({lo:.2f}-{hi:.2f})")
            else:
                ratios.append("-")
        tuned = [med(2, cham), med(3, cham)]
        cells = [f"{fmt(med(0, dnnl))} / {fmt(med(1, dnnl))}",
                 f"{fmt(med(0, cham))} / {fmt(med(1, cham))}",
                 " / ".join("-" if math.isnan(x) else fmt(x) for x in tuned)]
        print(f"| {name} | {desc[name]} | " + " | ".join(cells + ratios) + " |")
    for t in (0, 1):
        if logs[t]:
            g = math.exp(sum(logs[t]) / len(logs[t]))
            low = sum(1 for x in logs[t] if x < 0)
            print(f"\n{t + 1} thread{'s' if t else ''}: geometric mean chamcc/oneDNN {g:.2f} over "
                  f"{len(logs[t])} layers; {low} below 1.0")
    print("\nIn parentheses: the interquartile range of the per-round ratios (min-max "
          "below 4 rounds).")
    print("\noneDNN implementations: " + ", ".join(sorted(set(impl.values()))))


if __name__ == "__main__":
    main(sys.argv[1])
