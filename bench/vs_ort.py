#!/usr/bin/env python3
"""Layer by layer against ONNX Runtime: which of a model's layers chamcc
loses, and by how much.

    bench/vs_ort.py MODEL.onnx [--threads T] [--rounds R] [--runs N] [--log FILE] [--top K]

Alternates R rounds (default 3) of ONNX Runtime's profiler
(tests/oracle/ort_profile.js) and of bench/profile.sh (chamcc's library with
a profiling runtime; built once, default schedules or --log's configs), N
runs each (default 20). Layers are matched by what they compute, not by
name (ORT renames the nodes it fuses): the operator and the shapes of the
first two inputs and of the output. Layers of one shape are summed on both
sides, so a kernel chamcc shares between nodes meets all of ORT's nodes of
that shape. Prints a markdown table, the largest time lost first: per
shape, the number of nodes, the median microseconds per run of each side,
ORT/chamcc, the time chamcc loses (+) or wins (-), and what only one side
runs (chamcc's layout changes, ORT's reorders). chamcc's column counts time
inside parallel loops only, so it needs T >= 2 (default: every core).
"""
import argparse
import os
import re
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# ORT's names of the operators it fuses or re-lays out, as the ONNX ones.
ORT_OPS = {'FusedConv': 'Conv', 'NhwcConv': 'Conv', 'FusedGemm': 'Gemm', 'QLinearConv': 'Conv'}


def prod(dims):
    n = 1
    for d in dims:
        n *= d
    return n


def matmul_key(inputs, out):
    """A Gemm or MatMul as the M x K by K x N product it is, whatever rank its
    operands have (ORT flattens a MatMul of 1xHxWxK into a Gemm of HW x K)."""
    try:
        a = [int(d) for d in inputs[0].split('x')]
        o = [int(d) for d in out.split('x')]
    except (IndexError, ValueError):
        return None
    m, n = prod(o[:-1]), o[-1]
    k = a[-1] if prod(a[:-1]) == m else a[0]  # a transposed A is K x M
    return ('MatMul/Gemm', f'{m}x{k}', f'{m}x{n}')


def key(op, inputs, out):
    if op in ('Gemm', 'MatMul'):
        k = matmul_key(inputs, out)
        if k:
            return k
    if op in ('Conv', 'Gemm', 'MatMul', 'ConvTranspose'):
        return (op, ','.join(inputs[:2]), out)
    return (op, inputs[0] if inputs else '', out)


def ort_round(model, threads, runs):
    """{key: [us per run, nodes]} of one ORT profile."""
    res = subprocess.run(['node', os.path.join(ROOT, 'tests/oracle/ort_profile.js'), model,
                          '--threads', str(threads), '--runs', str(runs)],
                         check=True, capture_output=True, text=True).stdout
    out = {}
    for line in res.splitlines():
        op, ins, o, us = line.split('\t')
        k = key(ORT_OPS.get(op, op), ins.split(','), o)
        t = out.setdefault(k, [0.0, 0])
        t[0] += float(us)
        t[1] += 1
    return out


def plan_nodes(plan):
    """{node name: key} from chamcc -v's graph listing."""
    nodes = {}
    shape = re.compile(r':f32\[([0-9,]*)\]')
    for line in open(plan):
        m = re.match(r"(\w+) '(.*?)' \( (.*?) \) -> (\S+)", line)
        if not m:
            continue
        ins = [s.replace(',', 'x') for s in shape.findall(m.group(3))]
        out = shape.findall(m.group(4))
        nodes[m.group(2)] = key(m.group(1), ins, out[0].replace(',', 'x') if out else '')
    return nodes


def chamcc_round(model, threads, runs, log, again):
    """{key: [us per run, kernels]} of one bench/profile.sh run."""
    cmd = ['bash', os.path.join(HERE, 'profile.sh'), model, '--threads', str(threads), '--runs', str(runs)]
    if log:
        cmd += ['--log', log]
    if again:
        cmd.append('--again')
    res = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    work = os.path.join(ROOT, 'build/bench-profile', os.path.basename(model)[:-5] + f'-{threads}t')
    nodes = plan_nodes(os.path.join(work, 'plan.txt'))
    out = {}
    for line in res.splitlines():
        cells = [c.strip() for c in line.strip('|').split('|')]
        if len(cells) != 7 or not cells[0].startswith('model_'):
            continue
        m = re.match(r"(\w+) '(.*)'", cells[1])
        kind = cells[0].split('_')[1]  # conv, reorder, pool, ...
        k = nodes.get(m.group(2)) if m else None
        if k is None or kind in ('reorder', 'halo'):  # a layout change or halo zeroing before that node
            k = ('(chamcc ' + kind + ')', cells[1], '')
        t = out.setdefault(k, [0.0, 0])
        t[0] += float(cells[4])
        t[1] += 1
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('model')
    ap.add_argument('--threads', type=int, default=os.cpu_count())
    ap.add_argument('--rounds', type=int, default=3)
    ap.add_argument('--runs', type=int, default=20)
    ap.add_argument('--log')
    ap.add_argument('--top', type=int, default=25)
    a = ap.parse_args()
    if a.threads < 2:
        sys.exit('vs_ort.py: --threads must be 2 or more (chamcc is timed inside its parallel loops)')
    ort_r, ch_r = [], []
    for r in range(a.rounds):
        ort_r.append(ort_round(a.model, a.threads, a.runs))
        ch_r.append(chamcc_round(a.model, a.threads, a.runs, a.log, again=r > 0))
    keys = set().union(*ort_r, *ch_r)

    def med(rounds, k):
        return statistics.median(r.get(k, [0.0, 0])[0] for r in rounds), max(r.get(k, [0, 0])[1] for r in rounds)

    rows = []
    for k in keys:
        (o, on), (c, cn) = med(ort_r, k), med(ch_r, k)
        rows.append((c - o, k, o, on, c, cn))
    rows.sort(key=lambda r: -abs(r[0]))
    print(f'{os.path.basename(a.model)}, {a.threads} threads, {a.rounds} rounds x {a.runs} runs (medians)\n')
    print('| op | inputs | output | nodes ORT / chamcc | ORT us | chamcc us | ORT/chamcc | chamcc loses us |')
    print('|---|---|---|--:|--:|--:|--:|--:|')
    for d, k, o, on, c, cn in rows[:a.top]:
        ratio = f'{o / c:.2f}' if o and c else '-'
        print(f'| {k[0]} | {k[1]} | {k[2]} | {on} / {cn} | {o:.0f} | {c:.0f} | {ratio} | {d:+.0f} |')
    to, tc = sum(r[2] for r in rows), sum(r[4] for r in rows)
    print(f'\nall layers: ORT {to / 1e3:.2f} ms, chamcc {tc / 1e3:.2f} ms (inside parallel loops), '
          f'ORT/chamcc {to / tc:.2f}; {len(rows)} shapes, {a.top} shown')


if __name__ == '__main__':
    main()
