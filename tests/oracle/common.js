// Shared helpers of the ONNX Runtime oracle scripts (ort_run.js, ort_bench.js).
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

// mulberry32: a small deterministic PRNG; uniform floats in [-1, 1).
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  };
}

// Static shape of an input: a dynamic dimension (name or -1) becomes 1.
function staticShape(meta) {
  return meta.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : 1));
}

async function openSession(model, threads) {
  return ort.InferenceSession.create(model, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    logSeverityLevel: 3, // errors only: no warnings about old opsets
  });
}

// Input descriptions, failing on inputs chamcc cannot take (non-float).
function inputSpecs(session) {
  return session.inputNames.map((name, i) => {
    const meta = session.inputMetadata[i];
    if (!meta.isTensor || meta.type !== 'float32') {
      throw new Error(`input '${name}' is ${meta.isTensor ? meta.type : 'not a tensor'}, only float32 is supported`);
    }
    return { name, shape: staticShape(meta), declared: meta.shape };
  });
}

function randomInputs(specs, seed) {
  const next = rng(seed);
  return specs.map((s) => {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let j = 0; j < n; j++) data[j] = next();
    return data;
  });
}

function readFloats(path, n) {
  const buf = fs.readFileSync(path);
  if (buf.length !== n * 4) throw new Error(`${path}: ${buf.length} bytes, the shape needs ${n * 4}`);
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
}

function feeds(specs, datas) {
  const f = {};
  specs.forEach((s, i) => { f[s.name] = new ort.Tensor('float32', datas[i], s.shape); });
  return f;
}

module.exports = { ort, rng, openSession, inputSpecs, randomInputs, readFloats, feeds };
