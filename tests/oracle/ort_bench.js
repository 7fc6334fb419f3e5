#!/usr/bin/env node
// Times an ONNX model with ONNX Runtime, the baseline of bench/.
//
//   node ort_bench.js MODEL.onnx [--threads T] [--runs N] [--warmup W] [--seed S]
//
// Seeded random float32 inputs (dynamic dimensions taken as 1), W warm-up
// runs (default 5), then N timed runs (default 50) with T intra-op threads
// (default 1). Prints "ort: T threads, N runs: median X ms, min Y ms".
'use strict';
const { openSession, inputSpecs, randomInputs, feeds } = require('./common');

async function main() {
  const o = { threads: 1, runs: 50, warmup: 5, seed: 1, pos: [] };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--threads') o.threads = parseInt(argv[++i], 10);
    else if (a === '--runs') o.runs = parseInt(argv[++i], 10);
    else if (a === '--warmup') o.warmup = parseInt(argv[++i], 10);
    else if (a === '--seed') o.seed = parseInt(argv[++i], 10);
    else if (a.startsWith('--')) throw new Error(`unknown option ${a}`);
    else o.pos.push(a);
  }
  if (o.pos.length !== 1 || !(o.runs > 0)) throw new Error('usage: node ort_bench.js MODEL.onnx [--threads T] [--runs N]');
  const session = await openSession(o.pos[0], o.threads);
  const specs = inputSpecs(session);
  const f = feeds(specs, randomInputs(specs, o.seed));
  for (let i = 0; i < o.warmup; i++) await session.run(f);
  const times = [];
  for (let i = 0; i < o.runs; i++) {
    const t0 = process.hrtime.bigint();
    await session.run(f);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  const m = times.length >> 1;
  const median = times.length % 2 ? times[m] : (times[m - 1] + times[m]) / 2;
  console.log(`ort: ${o.threads} threads, ${o.runs} runs: median ${median.toFixed(3)} ms, min ${times[0].toFixed(3)} ms`);
}

main().catch((e) => {
  console.error(`ort_bench: ${e.message}`);
  process.exit(1);
});
