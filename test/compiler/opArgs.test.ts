// The kernel-call geometry both emitters share (src/compiler/codegen/opArgs.ts), checked against the
// reference runtime on the fixtures' real batches: every value of a training step is computed by the
// runtime, then each operator's output is rebuilt from its inputs with nothing but the offsets, strides,
// sizes and parameters opArgs derives — as the C and CUDA kernels use them. A wrong stride, start, axis
// or bound shows as elements that differ from the runtime's.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { loadModel } from '../../src/compiler/loadModel';
import { compile, type CompileResult } from '../../src/compiler/compile';
import { execute, initializerTensor } from '../../src/compiler/runtime';
import { readBatch } from '../../src/compiler/train/data';
import { tensor, type Tensor } from '../../src/compiler/ir/tensor';
import type { Node } from '../../src/compiler/ir/graph';
import {
  channelDims, concatParts, convArgs, gemmArgs, matmulArgs, numel, poolArgs, reduceGradArgs, reduceKept, sliceArgs, softmaxArgs,
  stridedCopyArgs, unaryParams,
} from '../../src/compiler/codegen/opArgs';

const repoRoot = path.resolve(__dirname, '..', '..');
const fixtures = path.resolve(repoRoot, '..', 'shared', 'fixtures');

interface Step { r: CompileResult; values: Map<string, Tensor>; ops: (op: string) => Node[] }

/** A full-scheme step of a fixture with every value the reference runtime computes on the fixture's batch. */
function stepOn(model: string): Step {
  const r = compile(loadModel(path.join(fixtures, model, 'model.onnx')), { scheme: 'full', compare: 'none' });
  const tg = r.program.tg;
  const feeds = readBatch(path.join(fixtures, model, 'test_data'), tg);
  for (const s of tg.state) feeds.set(s.name, s.dtype === 'int64' ? tensor('int64', s.dims) : tensor('float32', s.dims));
  const wanted = new Set<string>();
  for (const n of r.program.order) for (const v of [...n.inputs, ...n.outputs]) if (v && !feeds.has(v) && !tg.graph.initializers.has(v)) wanted.add(v);
  const values = new Map<string, Tensor>([...feeds, ...execute(tg.graph, feeds, { outputs: [...wanted], opsets: tg.opsets })]);
  for (const n of r.program.order) for (const v of n.inputs) if (v && !values.has(v) && tg.graph.initializers.has(v)) values.set(v, initializerTensor(tg.graph, v)!);
  return { r, values, ops: (op) => r.program.order.filter((n) => n.opType === op) };
}

const data = (s: Step, v: string): Float32Array => s.values.get(v)!.data as Float32Array;
const dims = (s: Step, v: string): number[] => s.values.get(v)!.dims;

/** Element offsets base + Σ index_i · strides_i over `shape`, row-major (what pe_copy_nd walks). */
function walk(shape: number[], strides: number[], base = 0): number[] {
  const out: number[] = [];
  const idx = shape.map(() => 0);
  for (let k = 0; k < numel(shape); k++) {
    out.push(idx.reduce((o, i, d) => o + i * strides[d], base));
    for (let d = shape.length - 1; d >= 0; d--) { if (++idx[d] < shape[d]) break; idx[d] = 0; }
  }
  return out;
}

/** The same numbers element for element (0 and -0 alike: scattering into zeros may sum a -0 away). */
function assertSame(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) if (got[i] !== want[i]) assert.fail(`${what}: element ${i} is ${got[i]}, the runtime's ${want[i]}`);
}

/** Largest difference relative to the largest magnitude of `want`. */
function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let worst = 0, max = 1e-30;
  for (let i = 0; i < want.length; i++) { worst = Math.max(worst, Math.abs(got[i] - want[i])); max = Math.max(max, Math.abs(want[i])); }
  return worst / max;
}

test('tiny_llama: Slice/SliceGrad offsets and strides, Concat/SplitLike boxes and Transpose strides move the runtime\'s elements', () => {
  const s = stepOn('tiny_llama');
  let checked = 0;
  for (const n of [...s.ops('Slice'), ...s.ops('SliceGrad')]) {
    const fwd = n.opType === 'Slice';
    const [x, y] = fwd ? [n.inputs[0], n.outputs[0]] : [n.outputs[0], n.inputs[0]];
    const sl = sliceArgs(n, s.values, (v) => dims(s, v));
    assert.deepEqual([sl.full, sl.dims], [dims(s, x), dims(s, y)], `${n.id}: full and slice dims`);
    const at = walk(dims(s, y), sl.strided, sl.offset);
    if (fwd) assertSame(Float32Array.from(at, (i) => data(s, x)[i]), data(s, y), `${n.id}: the slice's elements`);
    else {
      const dx = new Float32Array(numel(dims(s, x)));
      at.forEach((i, k) => { dx[i] = data(s, y)[k]; });
      assertSame(dx, data(s, x), `${n.id}: dy scattered into zeros`);
    }
    checked++;
  }
  for (const n of [...s.ops('Concat'), ...s.ops('SplitLike')]) {
    const full = n.opType === 'Concat' ? n.outputs[0] : n.inputs[0];
    const parts = concatParts(n, dims(s, full), (v) => dims(s, v));
    assert.equal(parts.reduce((t, p) => t + numel(p.dims), 0), numel(dims(s, full)), `${n.id}: the parts cover the whole`);
    for (const p of parts) assertSame(Float32Array.from(walk(p.dims, p.strides, p.offset), (i) => data(s, full)[i]), data(s, p.value), `${n.id}: part ${p.slot}`);
    checked++;
  }
  for (const n of [...s.ops('Transpose'), ...s.ops('Expand')]) {
    const t = stridedCopyArgs(n, dims(s, n.inputs[0]), dims(s, n.outputs[0]));
    assertSame(Float32Array.from(walk(t.dims, t.xs), (i) => data(s, n.inputs[0])[i]), data(s, n.outputs[0]), `${n.id}: strided copy`);
    checked++;
  }
  console.log(`  tiny_llama: ${checked} Slice/SliceGrad/Concat/SplitLike/Transpose/Expand operators rebuilt element for element`);
  assert.ok(s.ops('Slice').length > 0 && s.ops('SliceGrad').length > 0 && s.ops('Concat').length > 0, 'tiny_llama slices and concatenates');
});

test('tiny_llama: MatMul/MatMulT batch strides and Softmax runs; ReduceGrad broadcasts reproduce the runtime', () => {
  const s = stepOn('tiny_llama');
  let worst = 0;
  const mms = [...s.ops('MatMul'), ...s.ops('MatMulT')];
  for (const n of mms) {
    const m = matmulArgs(n, dims(s, n.inputs[0]), dims(s, n.inputs[1]));
    const a = data(s, n.inputs[0]), b = data(s, n.inputs[1]);
    const batchA = walk(m.dims, m.as), batchB = walk(m.dims, m.bs);
    const y = new Float64Array(numel(m.dims) * m.M * m.N);
    batchA.forEach((oa, bi) => {
      const ob = batchB[bi];
      for (let i = 0; i < m.M; i++) for (let j = 0; j < m.N; j++) {
        let acc = 0;
        for (let k = 0; k < m.K; k++) acc += a[oa + (m.ta ? k * m.M + i : i * m.K + k)] * b[ob + (m.tb ? j * m.K + k : k * m.N + j)];
        y[(bi * m.M + i) * m.N + j] = acc;
      }
    });
    assert.equal(y.length, numel(dims(s, n.outputs[0])), `${n.id}: output size`);
    const e = relErr(y, data(s, n.outputs[0]));
    assert.ok(e <= 1e-5, `${n.id} (${n.opType}): ${e} from the runtime`);
    worst = Math.max(worst, e);
  }
  for (const n of s.ops('Softmax')) {
    const x = dims(s, n.inputs[0]);
    const { outer, len, inner } = softmaxArgs(n, s.r.program.tg.opsets[''] ?? 17, x);
    assert.equal(outer * len * inner, numel(x));
    const y = data(s, n.outputs[0]);
    // Each run of `len` elements `inner` apart sums to one.
    for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) {
      let sum = 0;
      for (let l = 0; l < len; l++) sum += y[(o * len + l) * inner + i];
      assert.ok(Math.abs(sum - 1) <= 1e-5, `${n.id}: run ${o},${i} sums to ${sum}`);
    }
  }
  for (const n of s.ops('ReduceGrad')) {
    const g = reduceGradArgs(n, s.values, dims(s, n.outputs[0]), dims(s, n.inputs[0]));
    const got = Float32Array.from(walk(g.dims, g.xs), (i) => Math.fround(data(s, n.inputs[0])[i] * g.scale));
    assert.ok(relErr(got, data(s, n.outputs[0])) <= 1e-6, `${n.id}: ReduceGrad`);
  }
  for (const n of [...s.ops('ReduceMean'), ...s.ops('ReduceSum'), ...s.ops('ReduceToShape')]) {
    const kept = reduceKept(n, s.values, dims(s, n.inputs[0]), dims(s, n.outputs[0]));
    assert.equal(numel(kept), numel(dims(s, n.outputs[0])), `${n.id}: the kept dims hold the output`);
  }
  console.log(`  tiny_llama: ${s.ops('ReduceGrad').length} ReduceGrad rebuilt; ${mms.length} matmuls within ${worst.toExponential(2)} of the runtime`);
  assert.ok(mms.length > 0 && s.ops('Softmax').length > 0);
});

test('mobilenetv2_035 and mlp: conv and Gemm geometry, BatchNorm N/C/S and Clip bounds from constant operands', () => {
  const s = stepOn('mobilenetv2_035');
  for (const n of s.ops('Conv')) {
    const p = convArgs(n, dims(s, n.inputs[0]), dims(s, n.inputs[1]), dims(s, n.outputs[0]));
    const y = dims(s, n.outputs[0]);
    // The output size the geometry implies is the runtime's output.
    assert.equal(Math.floor((p.H + 2 * p.ph - p.dh * (p.KH - 1) - 1) / p.sh) + 1, y[2], `${n.id}: OH`);
    assert.equal(Math.floor((p.W + 2 * p.pw - p.dw * (p.KW - 1) - 1) / p.sw) + 1, y[3], `${n.id}: OW`);
    assert.equal(p.C / p.group, dims(s, n.inputs[1])[1], `${n.id}: channels per group`);
  }
  for (const n of s.ops('BatchNormalization')) {
    const { N, C, S } = channelDims(dims(s, n.inputs[0]));
    assert.equal(N * C * S, numel(dims(s, n.outputs[0])));
    assert.equal(C, numel(dims(s, n.inputs[1])), `${n.id}: one scale per channel`);
  }
  const clips = s.ops('Clip');
  for (const n of clips) {
    const { p0, p1 } = unaryParams(n, s.values);
    const x = data(s, n.inputs[0]);
    assertSame(Float32Array.from(x, (v) => Math.min(Math.max(v, p0), p1)), data(s, n.outputs[0]), `${n.id}: clamped to [${p0}, ${p1}]`);
  }
  assert.ok(clips.length > 0, 'MobileNetV2 clips (ReLU6)');

  const m = stepOn('mlp');
  const gemms = m.ops('Gemm');
  for (const n of gemms) {
    const [a, b, c] = n.inputs;
    const g = gemmArgs(n, dims(m, a), dims(m, b), c ? dims(m, c) : undefined);
    const A = data(m, a), Bw = data(m, b), Cb = c ? data(m, c) : undefined;
    const y = new Float64Array(g.M * g.N);
    for (let i = 0; i < g.M; i++) for (let j = 0; j < g.N; j++) {
      let acc = 0;
      for (let k = 0; k < g.K; k++) acc += A[g.ta ? k * g.M + i : i * g.K + k] * Bw[g.tb ? j * g.K + k : k * g.N + j];
      y[i * g.N + j] = g.alpha * acc + (Cb ? g.beta * Cb[i * g.cs0 + j * g.cs1] : 0);
    }
    assert.ok(relErr(y, data(m, n.outputs[0])) <= 1e-5, `${n.id}: Gemm`);
  }
  assert.ok(gemms.length > 0, 'the MLP has Gemms');
});

test('cnn_small: MaxPool windows from the pooling geometry give the runtime\'s maxima', () => {
  const s = stepOn('cnn_small');
  const pools = s.ops('MaxPool');
  for (const n of pools) {
    const p = poolArgs(n, dims(s, n.inputs[0]), dims(s, n.outputs[0]));
    const x = data(s, n.inputs[0]);
    const y = new Float32Array(p.planes * p.OH * p.OW);
    for (let c = 0; c < p.planes; c++) for (let oh = 0; oh < p.OH; oh++) for (let ow = 0; ow < p.OW; ow++) {
      let best = -Infinity;
      for (let kh = 0; kh < p.KH; kh++) for (let kw = 0; kw < p.KW; kw++) {
        const h = oh * p.sh - p.ph + kh * p.dh, w = ow * p.sw - p.pw + kw * p.dw;
        if (h >= 0 && h < p.H && w >= 0 && w < p.W) best = Math.max(best, x[(c * p.H + h) * p.W + w]);
      }
      y[(c * p.OH + oh) * p.OW + ow] = best;
    }
    assertSame(y, data(s, n.outputs[0]), `${n.id}: maxima`);
  }
  assert.ok(pools.length > 0, 'cnn_small max-pools');
});
