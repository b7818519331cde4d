// Every ONNX operator test case (../shared/onnx-node-tests) of an operator the runtime has a kernel for:
// run model.onnx on test_data_set_0's inputs and compare with its outputs. Cases that cannot be run are
// listed with the reason; all others must pass.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { importModelFile } from '../../src/compiler/onnx/import';
import { col2im, convGeometry, execute, findKernel, gemm, im2col } from '../../src/compiler/runtime';
import { readTensorFile } from '../../src/compiler/runtime/tensorFile';
import { isControlFlow } from '../../src/compiler/runtime/control';
import { tensor, type Tensor } from '../../src/compiler/ir/tensor';
import type { AttrValue, Graph, Model, Node } from '../../src/compiler/ir/graph';
import { attrFloat } from '../../src/compiler/ir/graph';

const root = path.resolve(__dirname, '..', '..', '..', 'shared', 'onnx-node-tests');
const index = JSON.parse(fs.readFileSync(path.join(root, 'index.json'), 'utf8')) as { tests_by_op: Record<string, string[]> };

const RTOL = 1e-4;
const ATOL = 1e-4;

/** Why a value of this dtype cannot be checked, or undefined when it can. */
function dtypeProblem(dtype: string, opTypes: string[]): string | undefined {
  if (dtype === 'float16' || dtype === 'bfloat16') return opTypes.every((o) => o === 'Cast') ? undefined : `${dtype} arithmetic (the runtime computes in float32; only Cast converts ${dtype})`;
  if (/^float8|^float4|int4$|^complex|^undefined$/.test(dtype)) return `unsupported dtype ${dtype}`;
  if (dtype === 'string') return opTypes.every((o) => o === 'Equal' || o === 'Identity') ? undefined : 'string tensors';
  return undefined;
}

function compare(name: string, got: Tensor, want: Tensor): string | undefined {
  if (got.dtype !== want.dtype) return `${name}: dtype ${got.dtype}, expected ${want.dtype}`;
  if (got.dims.join(',') !== want.dims.join(',')) return `${name}: shape [${got.dims}], expected [${want.dims}]`;
  const float = got.dtype === 'float32' || got.dtype === 'float64';
  for (let i = 0; i < want.data.length; i++) {
    const a = got.data[i], b = want.data[i];
    if (float) {
      const x = a as number, y = b as number;
      if (Number.isNaN(y) ? !Number.isNaN(x) : !(Math.abs(x - y) <= ATOL + RTOL * Math.abs(y) || x === y)) {
        return `${name}[${i}] = ${x}, expected ${y}`;
      }
    } else if (a !== b) return `${name}[${i}] = ${a}, expected ${b}`;
  }
  return undefined;
}

/**
 * PyTorch (the project's ground truth) updates BatchNormalization's running variance with the unbiased
 * batch variance; the ONNX spec, hence these test outputs, with the biased one. Rewrite the expected
 * running variance accordingly: from want = m·var + (1−m)·v_b follows ours = m·var + (1−m)·v_b·n/(n−1).
 */
function pytorchRunningVar(model: Model, feeds: Map<string, Tensor>, want: Tensor): Tensor {
  const node = model.graph.nodes[0];
  const m = attrFloat(node, 'momentum', 0.9);
  const x = feeds.get(node.inputs[0])!, v = feeds.get(node.inputs[4])!;
  const n = x.dims.reduce((p, d, i) => (i === 1 ? p : p * d), 1);
  const data = Float32Array.from(want.data as Float32Array, (w, c) => {
    const base = m * (v.data[c] as number);
    return base + (w - base) * (n / (n - 1));
  });
  return { ...want, data };
}

interface Outcome { name: string; status: 'pass' | 'fail' | 'skip'; detail?: string }

function runCase(name: string): Outcome {
  const dir = path.join(root, name);
  const model = importModelFile(path.join(dir, 'model.onnx'));
  const g = model.graph;
  const opTypes = [...new Set(g.nodes.map((n) => n.opType))];
  const missing = g.nodes.filter((n) => !isControlFlow(n) && !findKernel(n.opType, n.domain)).map((n) => n.opType);
  if (missing.length) return { name, status: 'fail', detail: `no kernel for ${[...new Set(missing)].join(', ')}` };
  const dataDir = path.join(dir, 'test_data_set_0');
  const feeds = new Map<string, Tensor>();
  const expected = new Map<string, Tensor>();
  const read = (file: string): Tensor | string => {
    try {
      return readTensorFile(file);
    } catch (e) {
      return `${path.basename(file)} cannot be read as a tensor (a sequence/optional value, or a dtype the importer does not load): ${(e as Error).message.split('\n')[0]}`;
    }
  };
  for (let k = 0; k < g.inputs.length; k++) {
    const f = path.join(dataDir, `input_${k}.pb`);
    if (!fs.existsSync(f)) continue;
    const t = read(f);
    if (typeof t === 'string') return { name, status: 'skip', detail: t };
    feeds.set(g.inputs[k], t);
  }
  for (let k = 0; k < g.outputs.length; k++) {
    const t = read(path.join(dataDir, `output_${k}.pb`));
    if (typeof t === 'string') return { name, status: 'skip', detail: t };
    expected.set(g.outputs[k], t);
  }
  for (const t of [...feeds.values(), ...expected.values()]) {
    const p = dtypeProblem(t.dtype, opTypes);
    if (p) return { name, status: 'skip', detail: p };
  }
  const node = g.nodes[0];
  if (g.nodes.length === 1 && node.opType === 'Dropout') {
    const ratio = feeds.get(node.inputs[1]), training = feeds.get(node.inputs[2]);
    if (training && training.data[0] && (!ratio || ratio.data[0] !== 0)) {
      return { name, status: 'skip', detail: 'training-mode dropout draws a random mask from numpy\'s generator' };
    }
  }
  let got: Map<string, Tensor>;
  try {
    got = execute(g, feeds, { opsets: model.opsets });
  } catch (e) {
    return { name, status: 'fail', detail: (e as Error).message };
  }
  const bnTraining = g.nodes.length === 1 && node.opType === 'BatchNormalization' && g.outputs.length === 3;
  for (const [k, want] of expected) {
    const w = bnTraining && k === g.outputs[2] ? pytorchRunningVar(model, feeds, want) : want;
    const err = compare(k, got.get(k)!, w);
    if (err) return { name, status: 'fail', detail: err };
  }
  return { name, status: 'pass' };
}

test('ONNX operator test cases run on the reference runtime', () => {
  const cases = Object.values(index.tests_by_op).flat().sort();
  const outcomes = cases.map((c) => {
    try {
      return runCase(c);
    } catch (e) {
      return { name: c, status: 'fail', detail: (e as Error).message } as Outcome;
    }
  });
  const by = (s: Outcome['status']) => outcomes.filter((o) => o.status === s);
  console.log(`ONNX node tests: ${by('pass').length} passed, ${by('skip').length} skipped, ${by('fail').length} failed of ${cases.length}`);
  for (const o of by('skip')) console.log(`  skipped ${o.name}: ${o.detail}`);
  for (const o of by('fail')) console.log(`  FAILED ${o.name}: ${o.detail}`);
  assert.deepEqual(by('fail').map((o) => `${o.name}: ${o.detail}`), []);
  assert.ok(by('pass').length > 400, 'most cases run');
});

// ---- Kernels and helpers the ONNX cases above do not reach ----

const f32 = (dims: number[], xs: number[]): Tensor => tensor('float32', dims, Float32Array.from(xs));
const i64 = (xs: number[]): Tensor => tensor('int64', [xs.length], BigInt64Array.from(xs.map(BigInt)));
const arr = (t: Tensor): number[] => Array.from(t.data as ArrayLike<number | bigint>, Number);
const ints = (xs: number[]): AttrValue => ({ type: 'ints', value: xs });
const int = (x: number): AttrValue => ({ type: 'int', value: x });

/** Runs one node on the given inputs (by position) and returns its outputs. */
function runOp(opType: string, inputs: (Tensor | undefined)[], attrs: Record<string, AttrValue> = {}, opts: { opset?: number; outputs?: number } = {}): Tensor[] {
  const names = inputs.map((t, i) => (t ? `in${i}` : ''));
  const outs = Array.from({ length: opts.outputs ?? 1 }, (_, i) => `out${i}`);
  const n: Node = { id: 'n', name: 'n', opType, domain: '', inputs: names, outputs: outs, attrs, layer: '' };
  const g: Graph = { name: 'g', nodes: [n], values: new Map(), inputs: names.filter((x) => x), outputs: outs, initializers: new Map() };
  const feeds = new Map(inputs.flatMap((t, i) => (t ? [[`in${i}`, t] as [string, Tensor]] : [])));
  const r = execute(g, feeds, { opsets: { '': opts.opset ?? 17 } });
  return outs.map((o) => r.get(o)!);
}

function close(got: number[], want: number[], tol = 1e-5): void {
  assert.equal(got.length, want.length);
  got.forEach((g, i) => assert.ok(Math.abs(g - want[i]) <= tol * (1 + Math.abs(want[i])), `[${i}] ${g} vs ${want[i]}`));
}

test('every wanted operator has a kernel', () => {
  const wanted = (JSON.parse(fs.readFileSync(path.join(root, 'index.json'), 'utf8')) as { wanted_ops: string[] }).wanted_ops;
  const extra = ['InstanceNormalization', 'Min', 'Max', 'Less', 'Greater', 'Not', 'And', 'Abs', 'Reciprocal', 'LeakyRelu', 'ReduceMax', 'Tile', 'Pad'];
  assert.deepEqual([...wanted, ...extra].filter((op) => !findKernel(op)), []);
});

test('elementwise extras: Min, Max, comparisons, logic, Abs, Reciprocal, LeakyRelu', () => {
  const a = f32([2, 2], [1, -2, 3, NaN]), b = f32([2], [0, 5]);
  assert.deepEqual(arr(runOp('Min', [a, b])[0]), [0, -2, 0, NaN]);
  assert.deepEqual(arr(runOp('Max', [a, b, f32([], [2])])[0]), [2, 5, 3, NaN]);
  assert.deepEqual(arr(runOp('Less', [a, b])[0]), [0, 1, 0, 0]);
  assert.deepEqual(arr(runOp('Greater', [a, b])[0]), [1, 0, 1, 0]);
  const t = tensor('bool', [3], Uint8Array.of(1, 0, 1)), u = tensor('bool', [3], Uint8Array.of(1, 1, 0));
  assert.deepEqual(arr(runOp('And', [t, u])[0]), [1, 0, 0]);
  assert.deepEqual(arr(runOp('Not', [t])[0]), [0, 1, 0]);
  assert.deepEqual(arr(runOp('Abs', [f32([3], [-1.5, 0, 2])])[0]), [1.5, 0, 2]);
  assert.deepEqual(arr(runOp('Reciprocal', [f32([2], [4, -0.5])])[0]), [0.25, -2]);
  close(arr(runOp('LeakyRelu', [f32([3], [-2, 0, 3])], { alpha: { type: 'float', value: 0.1 } })[0]), [-0.2, 0, 3]);
  assert.deepEqual(arr(runOp('Add', [i64([1, 2]), i64([10])])[0]), [11, 12]);
});

test('InstanceNormalization normalizes each (image, channel) over space', () => {
  const x = f32([1, 2, 2, 2], [1, 2, 3, 4, 2, 2, 2, 6]);
  const [y] = runOp('InstanceNormalization', [x, f32([2], [2, 1]), f32([2], [0.5, -1])], { epsilon: { type: 'float', value: 1e-5 } });
  const want: number[] = [];
  for (const [vals, s, b] of [[[1, 2, 3, 4], 2, 0.5], [[2, 2, 2, 6], 1, -1]] as [number[], number, number][]) {
    const m = vals.reduce((p, v) => p + v, 0) / 4;
    const v = vals.reduce((p, x) => p + (x - m) ** 2, 0) / 4;
    for (const x of vals) want.push(((x - m) / Math.sqrt(v + 1e-5)) * s + b);
  }
  close(arr(y), want);
});

test('ReduceMax (axes as attribute before opset 18, as input since), Tile, Pad modes', () => {
  const x = f32([2, 3], [1, 5, 2, 7, 0, 3]);
  assert.deepEqual(arr(runOp('ReduceMax', [x], { axes: ints([1]), keepdims: int(0) }, { opset: 13 })[0]), [5, 7]);
  const [r] = runOp('ReduceMax', [x, i64([0])], {}, { opset: 18 });
  assert.deepEqual(r.dims, [1, 3]);
  assert.deepEqual(arr(r), [7, 5, 3]);
  const [t] = runOp('Tile', [f32([2, 2], [1, 2, 3, 4]), i64([2, 1])]);
  assert.deepEqual(t.dims, [4, 2]);
  assert.deepEqual(arr(t), [1, 2, 3, 4, 1, 2, 3, 4]);
  const v = f32([3], [1, 2, 3]);
  const pad = (mode: string) => arr(runOp('Pad', [v, i64([2, 1])], { mode: { type: 'string', value: mode } })[0]);
  assert.deepEqual(pad('constant'), [0, 0, 1, 2, 3, 0]);
  assert.deepEqual(pad('reflect'), [3, 2, 1, 2, 3, 2]);
  assert.deepEqual(pad('edge'), [1, 1, 1, 2, 3, 3]);
  assert.deepEqual(arr(runOp('Pad', [f32([2, 2], [1, 2, 3, 4])], { pads: ints([0, 1, 0, 0]), value: { type: 'float', value: 9 } }, { opset: 2 })[0]), [9, 1, 2, 9, 3, 4]);
});

/** Direct-definition convolution for checking the im2col, pointwise and depthwise paths. */
function naiveConv(x: Tensor, w: Tensor, stride: number, pad: number, dil: number, group: number): number[] {
  const [N, C, H, W] = x.dims, [M, Cg, KH, KW] = w.dims;
  const OH = Math.floor((H + 2 * pad - (KH - 1) * dil - 1) / stride) + 1, OW = Math.floor((W + 2 * pad - (KW - 1) * dil - 1) / stride) + 1;
  const xd = x.data as Float32Array, wd = w.data as Float32Array, out: number[] = [];
  const Mg = M / group;
  for (let n = 0; n < N; n++) for (let m = 0; m < M; m++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
    let s = 0;
    const g = Math.floor(m / Mg);
    for (let c = 0; c < Cg; c++) for (let kh = 0; kh < KH; kh++) for (let kw = 0; kw < KW; kw++) {
      const ih = oh * stride - pad + kh * dil, iw = ow * stride - pad + kw * dil;
      if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
      s += xd[((n * C + g * Cg + c) * H + ih) * W + iw] * wd[((m * Cg + c) * KH + kh) * KW + kw];
    }
    out.push(s);
  }
  return out;
}

test('Conv paths (im2col, grouped, pointwise, depthwise) agree with the definition', () => {
  const rnd = (n: number) => Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898) * 0.5);
  const cases = [
    { C: 4, M: 6, k: 3, stride: 1, pad: 1, dil: 1, group: 1 },
    { C: 4, M: 6, k: 3, stride: 2, pad: 1, dil: 2, group: 2 },
    { C: 5, M: 7, k: 1, stride: 1, pad: 0, dil: 1, group: 1 },
    { C: 6, M: 6, k: 3, stride: 2, pad: 1, dil: 1, group: 6 },
    { C: 6, M: 6, k: 3, stride: 1, pad: 2, dil: 2, group: 6 },
  ];
  for (const c of cases) {
    const x = f32([2, c.C, 9, 8], rnd(2 * c.C * 72));
    const w = f32([c.M, c.C / c.group, c.k, c.k], rnd(c.M * (c.C / c.group) * c.k * c.k).map((v) => v * 1.7));
    const attrs = { strides: ints([c.stride, c.stride]), pads: ints([c.pad, c.pad, c.pad, c.pad]), dilations: ints([c.dil, c.dil]), group: int(c.group) };
    const [y] = runOp('Conv', [x, w], attrs);
    close(arr(y), naiveConv(x, w, c.stride, c.pad, c.dil, c.group));
  }
});

test('gemm matches the definition for every transpose, alpha and beta; im2col and col2im are adjoint', () => {
  const rnd = (n: number, s: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 78.233 + s));
  for (const [M, N, K] of [[1, 1, 1], [3, 5, 7], [4, 8, 4], [5, 9, 300], [17, 3, 2]]) {
    for (const tA of [false, true]) for (const tB of [false, true]) for (const [alpha, beta] of [[1, 0], [0.5, 2]]) {
      const A = rnd(M * K, 1), B = rnd(K * N, 2), C0 = rnd(M * N, 3), C = C0.slice();
      gemm(M, N, K, A, B, C, tA, tB, alpha, beta);
      const want: number[] = [];
      for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += (tA ? A[k * M + i] : A[i * K + k]) * (tB ? B[j * K + k] : B[k * N + j]);
        want.push(alpha * s + beta * C0[i * N + j]);
      }
      close(Array.from(C), want, 1e-5);
    }
  }
  // <im2col(x), c> = <x, col2im(c)> for a strided, padded, dilated geometry.
  const C = 3;
  const geo = convGeometry([7, 6], [3, 2], { strides: [2, 1], dilations: [1, 2], pads: [1, 0, 2, 1] });
  const rows = C * 6, cols = geo.outSpatial[0] * geo.outSpatial[1];
  const x = rnd(C * 42, 4), c = rnd(rows * cols, 5);
  const col = new Float32Array(rows * cols);
  im2col(x, 0, C, geo, col);
  const back = new Float32Array(C * 42);
  col2im(c, C, geo, back, 0);
  let lhs = 0, rhs = 0;
  for (let i = 0; i < col.length; i++) lhs += col[i] * c[i];
  for (let i = 0; i < x.length; i++) rhs += x[i] * back[i];
  assert.ok(Math.abs(lhs - rhs) < 1e-4, `${lhs} vs ${rhs}`);
});

test('MatMul broadcasts batch dims', () => {
  const a = f32([2, 1, 2, 3], Array.from({ length: 12 }, (_, i) => i - 5));
  const b = f32([3, 3, 2], Array.from({ length: 18 }, (_, i) => (i % 7) - 3));
  const [y] = runOp('MatMul', [a, b]);
  assert.deepEqual(y.dims, [2, 3, 2, 2]);
  const want: number[] = [];
  for (let p = 0; p < 2; p++) for (let q = 0; q < 3; q++) for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) {
    let s = 0;
    for (let k = 0; k < 3; k++) s += (a.data[p * 6 + i * 3 + k] as number) * (b.data[q * 6 + k * 2 + j] as number);
    want.push(s);
  }
  close(arr(y), want);
});
