#!/usr/bin/env node
// Where ONNX Runtime's time goes in a model, node by node: the peer's side
// of bench/vs_ort.sh.
//
//   node ort_profile.js MODEL.onnx [--threads T] [--runs N] [--warmup W]
//
// Runs the model W times untimed (default 5) and N times (default 20) with
// ORT's profiler on (seeded random inputs, as ort_bench.js), then prints one
// tab-separated line per node that ORT ran: its operator (ORT's name, after
// its own fusions: FusedConv, NCHWc Conv ...), the shapes of its inputs and
// of its first output ("1x64x56x56,64x64x3x3,64"), and its mean
// microseconds per timed run. The profile's own JSON file is deleted.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { ort, inputSpecs, randomInputs, feeds } = require('./common');

function shapes(list) {
  return (list || []).map((t) => Object.values(t)[0].join('x')).join(',');
}

async function main() {
  const o = { threads: 1, runs: 20, warmup: 5, pos: [] };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--threads') o.threads = parseInt(argv[++i], 10);
    else if (a === '--runs') o.runs = parseInt(argv[++i], 10);
    else if (a === '--warmup') o.warmup = parseInt(argv[++i], 10);
    else if (a.startsWith('--')) throw new Error(`unknown option ${a}`);
    else o.pos.push(a);
  }
  if (o.pos.length !== 1 || !(o.runs > 0)) throw new Error('usage: node ort_profile.js MODEL.onnx [--threads T] [--runs N]');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ort_profile-'));
  const session = await ort.InferenceSession.create(o.pos[0], {
    intraOpNumThreads: o.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    logSeverityLevel: 3,
    enableProfiling: true,
    profileFilePrefix: path.join(dir, 'p'),
  });
  const specs = inputSpecs(session);
  const f = feeds(specs, randomInputs(specs, 1));
  for (let i = 0; i < o.warmup; i++) await session.run(f);
  for (let i = 0; i < o.runs; i++) await session.run(f);
  session.endProfiling();
  const file = fs.readdirSync(dir).map((n) => path.join(dir, n))[0];
  const events = JSON.parse(fs.readFileSync(file, 'utf8'));
  fs.rmSync(dir, { recursive: true });
  // The warm-up runs are the first W of each node's events; keep the last N.
  const byNode = new Map();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    const k = e.name;
    if (!byNode.has(k)) byNode.set(k, { op: e.args.op_name, in: shapes(e.args.input_type_shape),
                                        out: shapes(e.args.output_type_shape), durs: [] });
    byNode.get(k).durs.push(e.dur);
  }
  for (const n of byNode.values()) {
    const timed = n.durs.slice(-o.runs);
    const us = timed.reduce((a, b) => a + b, 0) / o.runs;
    console.log(`${n.op}\t${n.in}\t${n.out}\t${us.toFixed(1)}`);
  }
}

main().catch((e) => {
  console.error(`ort_profile: ${e.message}`);
  process.exit(1);
});
