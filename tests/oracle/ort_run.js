#!/usr/bin/env node
// Runs an ONNX model with ONNX Runtime, the reference for chamcc's tests.
//
//   node ort_run.js MODEL.onnx OUTDIR [--seed S] [--inputs a.bin,b.bin] [--threads T]
//
// Inputs are seeded uniform random float32 in [-1, 1) (mulberry32, seed 1 by
// default) unless raw float32 files are given. Dynamic dimensions are taken
// as 1. Writes OUTDIR/input_I.bin, OUTDIR/output_I.bin (raw little-endian
// float32, in the model's input/output order) and OUTDIR/meta.json (names,
// shapes, files). Exit status: 0 ok, 1 error, 2 unsupported model (an input
// or output that is not float32).
'use strict';
const fs = require('fs');
const path = require('path');
const { openSession, inputSpecs, randomInputs, readFloats, feeds } = require('./common');

function parseArgs(argv) {
  const o = { seed: 1, inputs: null, threads: 1, pos: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--seed') o.seed = parseInt(argv[++i], 10);
    else if (a === '--inputs') o.inputs = argv[++i].split(',');
    else if (a === '--threads') o.threads = parseInt(argv[++i], 10);
    else if (a.startsWith('--')) throw new Error(`unknown option ${a}`);
    else o.pos.push(a);
  }
  if (o.pos.length !== 2) throw new Error('usage: node ort_run.js MODEL.onnx OUTDIR [--seed S] [--inputs a.bin,b.bin]');
  return o;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const [model, outdir] = o.pos;
  const session = await openSession(model, o.threads);
  let specs;
  try {
    specs = inputSpecs(session);
  } catch (e) {
    console.error(`ort_run: ${model}: ${e.message}`);
    process.exit(2);
  }
  const n = (s) => s.shape.reduce((a, b) => a * b, 1);
  let datas;
  if (o.inputs) {
    if (o.inputs.length !== specs.length) throw new Error(`${o.inputs.length} input files for ${specs.length} inputs`);
    datas = specs.map((s, i) => readFloats(o.inputs[i], n(s)));
  } else {
    datas = randomInputs(specs, o.seed);
  }
  fs.mkdirSync(outdir, { recursive: true });
  const meta = { model: path.resolve(model), seed: o.inputs ? null : o.seed, inputs: [], outputs: [] };
  specs.forEach((s, i) => {
    const file = `input_${i}.bin`;
    fs.writeFileSync(path.join(outdir, file), Buffer.from(datas[i].buffer, datas[i].byteOffset, datas[i].byteLength));
    meta.inputs.push({ name: s.name, shape: s.shape, declared_shape: s.declared, file });
  });
  const t0 = process.hrtime.bigint();
  const results = await session.run(feeds(specs, datas));
  meta.run_ms = Number(process.hrtime.bigint() - t0) / 1e6;
  session.outputNames.forEach((name, i) => {
    const t = results[name];
    if (t.type !== 'float32') {
      console.error(`ort_run: ${model}: output '${name}' is ${t.type}, only float32 is supported`);
      process.exit(2);
    }
    const file = `output_${i}.bin`;
    fs.writeFileSync(path.join(outdir, file), Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    meta.outputs.push({ name, shape: t.dims.map(Number), file });
  });
  fs.writeFileSync(path.join(outdir, 'meta.json'), JSON.stringify(meta, null, 2) + '\n');
  for (const x of meta.inputs) console.log(`input ${x.name} [${x.shape}]`);
  for (const x of meta.outputs) console.log(`output ${x.name} [${x.shape}]`);
}

main().catch((e) => {
  console.error(`ort_run: ${e.message}`);
  process.exit(1);
});
