#!/usr/bin/env node
// ort_layers.js — the ONNX Runtime column of bench/layers: times the
// one-layer models written by make_layer_models.py.
//
//   node ort_layers.js LAYERS.json MODELDIR [--layers a,b,c] [--min-time S] [--repeats R] [--no-spin]
//
// For 1 then 2 intra-op threads, for each layer: a session on
// MODELDIR/<name>.onnx, a random input, one warm-up run, then as many runs
// per measurement as make it last at least S seconds (default 0.2), the
// median over R measurements (default 5). Prints tab-separated lines
// "name ort1 ort2" (GFLOP/s = 2 * MACs / median run time) after a header.
// --no-spin: ORT's intra-op threads sleep when idle (allow_spinning = 0).
// onnxruntime-node comes from tests/oracle/node_modules (scripts/setup.sh).
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require(path.join(__dirname, '../../tests/oracle/node_modules/onnxruntime-node'));

const THREADS = [1, 2];

function parseArgs(argv) {
  const o = { minTime: 0.2, repeats: 5, only: null, spin: true, pos: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--layers') o.only = new Set(argv[++i].split(','));
    else if (a === '--min-time') o.minTime = parseFloat(argv[++i]);
    else if (a === '--repeats') o.repeats = Math.max(1, parseInt(argv[++i], 10));
    else if (a === '--no-spin') o.spin = false;
    else if (a.startsWith('--')) throw new Error(`unknown option ${a}`);
    else o.pos.push(a);
  }
  if (o.pos.length !== 2) throw new Error('usage: node ort_layers.js LAYERS.json MODELDIR [--layers a,b,c] [--min-time S] [--repeats R]');
  return o;
}

// 2 * MACs of a cnn_layers.json entry, in MFLOP.
function mflop(l) {
  if (l.op === 'dense') return 2e-6 * l.N * l.IN * l.OUT;
  return 2e-6 * l.N * l.K * l.OH * l.OW * (l.C / (l.group || 1)) * l.KH * l.KW;
}

function inputShape(l) {
  return l.op === 'dense' ? [l.N, l.IN] : [l.N, l.C, l.H, l.W];
}

const now = () => Number(process.hrtime.bigint()) / 1e9;

// Median seconds per session.run.
async function timeRun(session, feeds, o) {
  let t0 = now();
  await session.run(feeds); // warm-up
  let once = now() - t0;
  t0 = now();
  await session.run(feeds);
  once = Math.min(once, now() - t0);
  const iters = Math.ceil(o.minTime / Math.max(once, 1e-7));
  const times = [];
  for (let r = 0; r < o.repeats; r++) {
    t0 = now();
    for (let i = 0; i < iters; i++) await session.run(feeds);
    times.push((now() - t0) / iters);
  }
  times.sort((a, b) => a - b);
  const m = times.length >> 1;
  return times.length % 2 ? times[m] : (times[m - 1] + times[m]) / 2;
}

async function benchLayer(l, dir, threads, o) {
  const session = await ort.InferenceSession.create(path.join(dir, `${l.name}.onnx`), {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    logSeverityLevel: 3,
    extra: { session: { intra_op: { allow_spinning: o.spin ? '1' : '0' } } },
  });
  const shape = inputShape(l);
  const data = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => Math.random() - 0.5);
  const t = await timeRun(session, { x: new ort.Tensor('float32', data, shape) }, o);
  await session.release();
  return (mflop(l) * 1e-3) / t;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const layers = JSON.parse(fs.readFileSync(o.pos[0], 'utf8')).layers.filter((l) => !o.only || o.only.has(l.name));
  const res = layers.map(() => []);
  for (const [ti, t] of THREADS.entries()) {
    for (const [i, l] of layers.entries()) {
      res[i][ti] = await benchLayer(l, o.pos[1], t, o);
      console.error(`ort      ${t}T ${l.name.padEnd(14)} ${res[i][ti].toFixed(1).padStart(7)} GFLOP/s`);
    }
  }
  console.log('name\tort1\tort2');
  layers.forEach((l, i) => console.log(`${l.name}\t${res[i].map((g) => g.toFixed(1)).join('\t')}`));
}

main().catch((e) => {
  console.error(`ort_layers: ${e.message}`);
  process.exit(1);
});
