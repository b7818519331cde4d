// Finite-difference proof of every gradient rule: for a small random graph y = f(θ) and a random cotangent
// R, the backward graph's d(Σ y·R)/dθ must equal central differences of Σ y·R, element by element. The
// runtime computes in float32, so shapes are small and the tolerance is sized to float32 rounding
// (a wrong rule is off by O(1)). Inputs are kept away from kinks (ReLU at 0, Clip bounds, max ties).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import '../../src/compiler/runtime';
import '../../src/compiler/runtime/grad';
import { execute } from '../../src/compiler/runtime/execute';
import type { AttrValue, Graph } from '../../src/compiler/ir/graph';
import { tensor, type Tensor } from '../../src/compiler/ir/tensor';
import { tensorToInitializer } from '../../src/compiler/onnx/encode';
import { attrs as A, emptyAnnotations, GraphEditor } from '../../src/compiler/train/builder';
import { differentiate } from '../../src/compiler/train/autodiff';
import { inferShapes } from '../../src/compiler/ir/inferShapes';
import { isStatic } from '../../src/compiler/ir/shape';
import { convGradWeight } from '../../src/compiler/runtime/grad/conv';
import { seededRandom as rng } from '../../src/compiler/util/random';

let rand = rng(1234);

const size = (dims: number[]): number => dims.reduce((p, d) => p * d, 1);
/** Uniform in [lo, hi). */
const U = (dims: number[], lo = -1, hi = 1): Tensor => tensor('float32', dims, Float32Array.from({ length: size(dims) }, () => lo + (hi - lo) * rand()));
/** Random values at least `gap` away from 0 (for kinks at 0). */
const awayFromZero = (dims: number[], gap = 0.1): Tensor =>
  tensor('float32', dims, Float32Array.from({ length: size(dims) }, () => (rand() < 0.5 ? -1 : 1) * (gap + rand())));
/** Distinct values spaced 0.05 apart in random order (no near-ties for max). */
const distinct = (dims: number[]): Tensor => {
  const n = size(dims);
  const v = Array.from({ length: n }, (_, i) => (i - n / 2) * 0.05);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [v[i], v[j]] = [v[j], v[i]];
  }
  return tensor('float32', dims, Float32Array.from(v));
};
const I64 = (vals: number[], dims = [vals.length]): Tensor => tensor('int64', dims, BigInt64Array.from(vals.map(BigInt)));

interface N { op: string; inputs: string[]; outputs: string[]; attrs?: Record<string, AttrValue>; domain?: string }
interface Case {
  name: string;
  nodes: N[];
  /** Differentiated inputs. */
  params: Record<string, Tensor>;
  /** Inputs that are constants (indices, shapes, conditions, non-trained floats). */
  consts?: Record<string, Tensor>;
  out: string;
  opset?: number;
  eps?: number;
}

function buildGraph(c: Case): Graph {
  const g: Graph = { name: c.name, nodes: [], values: new Map(), inputs: [], outputs: [c.out], initializers: new Map() };
  const all = { ...c.params, ...(c.consts ?? {}) };
  for (const [k, t] of Object.entries(all)) {
    g.initializers.set(k, tensorToInitializer(k, t));
    g.values.set(k, { name: k, type: { dtype: t.dtype, shape: t.dims.slice() } });
  }
  c.nodes.forEach((n, i) => {
    g.nodes.push({ id: `n${i}_${n.op}`, name: `/layer/${n.op}_${i}`, opType: n.op, domain: n.domain ?? '', inputs: n.inputs, outputs: n.outputs, attrs: n.attrs ?? {}, layer: 'layer' });
    for (const o of n.outputs) if (o) g.values.set(o, { name: o, type: null });
  });
  return g;
}

const worst: [string, number][] = [];

function gradcheck(c: Case): void {
  const opsets = { '': c.opset ?? 17, pockengine: 1 };
  const fwd = buildGraph(c);
  const run = (over: Map<string, Tensor>): Tensor => execute(fwd, {}, { outputs: [c.out], overrides: over, opsets }).get(c.out)!;
  const y0 = run(new Map());
  const R = U(y0.dims);
  const f = (over: Map<string, Tensor>): number => {
    const y = run(over).data as Float32Array;
    let s = 0;
    for (let i = 0; i < y.length; i++) s += y[i] * (R.data as Float32Array)[i];
    return s;
  };

  const g = buildGraph(c);
  inferShapes({ path: '', irVersion: 8, opsets, producerName: '', producerVersion: '', modelVersion: 0, docString: '', metadata: {}, graph: g, warnings: [] });
  const ed = new GraphEditor(g, emptyAnnotations(g));
  const seed = ed.constant('seed', R);
  const names = Object.keys(c.params);
  const { grads, issues } = differentiate(ed, g, { loss: c.out, seed, wrt: names, opsets });
  assert.deepEqual(issues, [], `${c.name}: unexpected issues`);
  for (const p of names) assert.ok(grads.has(p), `${c.name}: no gradient for ${p}`);
  // The types the compiler declares for backward values (what memory planning sizes) are the real ones.
  const got = execute(g, {}, {
    outputs: names.map((p) => grads.get(p)!), opsets,
    onValue: (name, t) => {
      const ty = g.values.get(name)?.type;
      if (ty?.shape && isStatic(ty.shape)) assert.deepEqual([ty.dtype, ty.shape], [t.dtype, t.dims], `${c.name}: declared type of ${name}`);
    },
  });

  const eps = c.eps ?? 1e-2;
  let caseWorst = 0;
  for (const p of names) {
    const base = c.params[p];
    const analytic = got.get(grads.get(p)!)!;
    assert.deepEqual(analytic.dims, base.dims, `${c.name}: gradient of ${p} has shape [${analytic.dims}], parameter [${base.dims}]`);
    const fd = new Float64Array(size(base.dims));
    for (let i = 0; i < fd.length; i++) {
      const plus = tensor('float32', base.dims, Float32Array.from(base.data as Float32Array));
      const minus = tensor('float32', base.dims, Float32Array.from(base.data as Float32Array));
      (plus.data as Float32Array)[i] += eps;
      (minus.data as Float32Array)[i] -= eps;
      const hPlus = (plus.data as Float32Array)[i] - (base.data as Float32Array)[i];
      const hMinus = (base.data as Float32Array)[i] - (minus.data as Float32Array)[i];
      fd[i] = (f(new Map([[p, plus]])) - f(new Map([[p, minus]]))) / (hPlus + hMinus);
    }
    let maxErr = 0, maxRef = 0;
    const a = analytic.data as Float32Array;
    for (let i = 0; i < fd.length; i++) {
      maxErr = Math.max(maxErr, Math.abs(a[i] - fd[i]));
      maxRef = Math.max(maxRef, Math.abs(fd[i]));
    }
    const rel = maxErr / Math.max(maxRef, 1e-6);
    caseWorst = Math.max(caseWorst, rel);
    assert.ok(maxErr <= 2e-3 + 1e-2 * maxRef, `${c.name}: d/d${p} differs from finite differences by ${maxErr} (max |fd| ${maxRef})`);
  }
  worst.push([c.name, caseWorst]);
}

const cases: Case[] = [];
const add = (c: Case): void => {
  cases.push(c);
};

// ---- elementwise arithmetic with broadcasting
for (const op of ['Add', 'Sub', 'Mul', 'Div']) {
  add({ name: `${op} broadcast [2,3,4]·[3,1]`, nodes: [{ op, inputs: ['a', 'b'], outputs: ['y'] }], params: { a: U([2, 3, 4]), b: op === 'Div' ? U([3, 1], 0.5, 1.5) : U([3, 1]) }, out: 'y' });
  add({ name: `${op} broadcast [4]·[2,3,4] (left operand broadcast)`, nodes: [{ op, inputs: ['a', 'b'], outputs: ['y'] }], params: { a: U([4]), b: op === 'Div' ? U([2, 3, 4], 0.5, 1.5) : U([2, 3, 4]) }, out: 'y' });
}
add({ name: 'Pow base and exponent (broadcast)', nodes: [{ op: 'Pow', inputs: ['a', 'b'], outputs: ['y'] }], params: { a: U([2, 3], 0.5, 1.5), b: U([3], 1, 3) }, out: 'y' });
add({ name: 'Pow by a constant 2 (RMSNorm)', nodes: [{ op: 'Pow', inputs: ['a', 'two'], outputs: ['y'] }], params: { a: U([2, 5]) }, consts: { two: tensor('float32', [], Float32Array.of(2)) }, out: 'y' });
add({ name: 'Sqrt', nodes: [{ op: 'Sqrt', inputs: ['a'], outputs: ['y'] }], params: { a: U([2, 4], 0.5, 2) }, out: 'y' });
add({ name: 'Exp', nodes: [{ op: 'Exp', inputs: ['a'], outputs: ['y'] }], params: { a: U([2, 4]) }, out: 'y' });
add({ name: 'Log', nodes: [{ op: 'Log', inputs: ['a'], outputs: ['y'] }], params: { a: U([2, 4], 0.5, 2) }, out: 'y' });
add({ name: 'Neg', nodes: [{ op: 'Neg', inputs: ['a'], outputs: ['y'] }], params: { a: U([3, 2]) }, out: 'y' });
add({ name: 'Reciprocal', nodes: [{ op: 'Reciprocal', inputs: ['a'], outputs: ['y'] }], params: { a: U([3, 2], 0.5, 2) }, out: 'y' });
add({ name: 'Sin', nodes: [{ op: 'Sin', inputs: ['a'], outputs: ['y'] }], params: { a: U([6]) }, out: 'y' });
add({ name: 'Cos', nodes: [{ op: 'Cos', inputs: ['a'], outputs: ['y'] }], params: { a: U([6]) }, out: 'y' });
add({ name: 'Abs', nodes: [{ op: 'Abs', inputs: ['a'], outputs: ['y'] }], params: { a: awayFromZero([6]) }, out: 'y' });
add({ name: 'Sum of three (broadcast)', nodes: [{ op: 'Sum', inputs: ['a', 'b', 'c'], outputs: ['y'] }], params: { a: U([2, 3]), b: U([3]), c: U([2, 1]) }, out: 'y' });
add({
  name: 'Where (condition constant, branches broadcast)', nodes: [{ op: 'Where', inputs: ['cond', 'a', 'b'], outputs: ['y'] }],
  params: { a: U([2, 3]), b: U([3]) }, consts: { cond: tensor('bool', [2, 3], Uint8Array.from([1, 0, 1, 0, 0, 1])) }, out: 'y',
});
add({
  name: 'shared input accumulates (x·x + x)', nodes: [{ op: 'Mul', inputs: ['x', 'x'], outputs: ['sq'] }, { op: 'Add', inputs: ['sq', 'x'], outputs: ['y'] }],
  params: { x: U([2, 3]) }, out: 'y',
});

// ---- activations
for (const op of ['Relu', 'LeakyRelu', 'Abs']) add({ name: op, nodes: [{ op, inputs: ['a'], outputs: ['y'] }], params: { a: awayFromZero([3, 4]) }, out: 'y' });
for (const op of ['Sigmoid', 'Tanh', 'Erf', 'Softplus', 'Gelu']) add({ name: op, nodes: [{ op, inputs: ['a'], outputs: ['y'] }], params: { a: U([3, 4], -2, 2) }, out: 'y' });
add({ name: 'Gelu tanh approximation', nodes: [{ op: 'Gelu', inputs: ['a'], outputs: ['y'], attrs: { approximate: A.string('tanh') } }], params: { a: U([3, 4], -2, 2) }, out: 'y' });
const kinkFree = (dims: number[], kinks: number[]): Tensor => {
  const t = U(dims, -4, 4);
  const d = t.data as Float32Array;
  for (let i = 0; i < d.length; i++) for (const k of kinks) if (Math.abs(d[i] - k) < 0.1) d[i] = k + 0.2;
  return t;
};
add({ name: 'HardSigmoid', nodes: [{ op: 'HardSigmoid', inputs: ['a'], outputs: ['y'], attrs: { alpha: A.float(0.2), beta: A.float(0.5) } }], params: { a: kinkFree([4, 4], [-2.5, 2.5]) }, out: 'y' });
add({ name: 'HardSwish', nodes: [{ op: 'HardSwish', inputs: ['a'], outputs: ['y'] }], params: { a: kinkFree([4, 4], [-3, 3]) }, out: 'y' });
add({
  name: 'Clip (ReLU6, min/max inputs)', nodes: [{ op: 'Clip', inputs: ['a', 'lo', 'hi'], outputs: ['y'] }],
  params: { a: kinkFree([4, 4], [0, 1.5]) }, consts: { lo: tensor('float32', [], Float32Array.of(0)), hi: tensor('float32', [], Float32Array.of(1.5)) }, out: 'y',
});
add({
  name: 'Clip opset 6 (attributes)', opset: 6, nodes: [{ op: 'Clip', inputs: ['a'], outputs: ['y'], attrs: { min: A.float(-1), max: A.float(1) } }],
  params: { a: kinkFree([4, 4], [-1, 1]) }, out: 'y',
});

// ---- matrix products
for (const [tA, tB] of [[0, 0], [0, 1], [1, 0], [1, 1]]) {
  add({
    name: `Gemm transA=${tA} transB=${tB} alpha beta, bias [N]`, nodes: [{ op: 'Gemm', inputs: ['a', 'b', 'c'], outputs: ['y'], attrs: { transA: A.int(tA), transB: A.int(tB), alpha: A.float(0.7), beta: A.float(1.3) } }],
    params: { a: U(tA ? [4, 3] : [3, 4]), b: U(tB ? [5, 4] : [4, 5]), c: U([5]) }, out: 'y',
  });
}
add({ name: 'Gemm bias [M,N]', nodes: [{ op: 'Gemm', inputs: ['a', 'b', 'c'], outputs: ['y'], attrs: { transB: A.int(1) } }], params: { a: U([3, 4]), b: U([5, 4]), c: U([3, 5]) }, out: 'y' });
add({ name: 'MatMul 2-D', nodes: [{ op: 'MatMul', inputs: ['a', 'b'], outputs: ['y'] }], params: { a: U([3, 4]), b: U([4, 2]) }, out: 'y' });
add({ name: 'MatMul batched × shared matrix', nodes: [{ op: 'MatMul', inputs: ['a', 'b'], outputs: ['y'] }], params: { a: U([2, 3, 4]), b: U([4, 2]) }, out: 'y' });
add({ name: 'MatMul broadcast batch dims [2,1,3,4]·[3,4,2]', nodes: [{ op: 'MatMul', inputs: ['a', 'b'], outputs: ['y'] }], params: { a: U([2, 1, 3, 4]), b: U([3, 4, 2]) }, out: 'y' });

// ---- convolutions
const conv = (name: string, x: number[], w: number[], a: Record<string, AttrValue>, bias = true, op = 'Conv'): void => {
  const b = op === 'Conv' ? w[0] : w[1] * ((a.group?.value as number) ?? 1);
  add({
    name, nodes: [{ op, inputs: bias ? ['x', 'w', 'b'] : ['x', 'w'], outputs: ['y'], attrs: a }],
    params: { x: U(x), w: U(w), ...(bias ? { b: U([b]) } : {}) }, out: 'y',
  });
};
conv('Conv 3×3 with bias', [2, 3, 5, 5], [4, 3, 3, 3], { kernel_shape: A.ints([3, 3]) });
conv('Conv strided and padded', [1, 2, 6, 7], [3, 2, 3, 3], { kernel_shape: A.ints([3, 3]), strides: A.ints([2, 2]), pads: A.ints([1, 1, 1, 1]) });
conv('Conv asymmetric pads, stride 2×1', [1, 2, 5, 6], [2, 2, 2, 3], { kernel_shape: A.ints([2, 3]), strides: A.ints([2, 1]), pads: A.ints([0, 1, 1, 2]) }, false);
conv('Conv dilated', [1, 2, 7, 7], [2, 2, 3, 3], { kernel_shape: A.ints([3, 3]), dilations: A.ints([2, 2]), pads: A.ints([1, 1, 1, 1]) });
conv('Conv grouped (group 2)', [2, 4, 5, 5], [6, 2, 3, 3], { kernel_shape: A.ints([3, 3]), group: A.int(2), pads: A.ints([1, 1, 1, 1]) });
conv('Conv depthwise 3×3 stride 2 pad 1', [2, 3, 6, 6], [3, 1, 3, 3], { kernel_shape: A.ints([3, 3]), group: A.int(3), strides: A.ints([2, 2]), pads: A.ints([1, 1, 1, 1]) });
conv('Conv depthwise dilated, channel multiplier 2', [1, 2, 6, 6], [4, 1, 3, 3], { kernel_shape: A.ints([3, 3]), group: A.int(2), dilations: A.ints([2, 2]), pads: A.ints([2, 2, 2, 2]) });
conv('Conv pointwise 1×1', [2, 4, 3, 3], [5, 4, 1, 1], { kernel_shape: A.ints([1, 1]) });
conv('Conv 1-D strided', [2, 3, 9], [4, 3, 3], { kernel_shape: A.ints([3]), strides: A.ints([2]), pads: A.ints([1, 1]) });
conv('ConvTranspose stride 2 pad 1 output_padding 1', [1, 3, 4, 4], [3, 2, 3, 3], { kernel_shape: A.ints([3, 3]), strides: A.ints([2, 2]), pads: A.ints([1, 1, 1, 1]), output_padding: A.ints([1, 1]) }, true, 'ConvTranspose');
conv('ConvTranspose grouped', [1, 4, 3, 3], [4, 1, 2, 2], { kernel_shape: A.ints([2, 2]), group: A.int(2), strides: A.ints([2, 2]) }, true, 'ConvTranspose');

// ---- pooling
add({ name: 'MaxPool 2×2 stride 2', nodes: [{ op: 'MaxPool', inputs: ['x'], outputs: ['y'], attrs: { kernel_shape: A.ints([2, 2]), strides: A.ints([2, 2]) } }], params: { x: distinct([2, 2, 4, 4]) }, out: 'y' });
add({ name: 'MaxPool 3×3 stride 2 pad 1 (overlapping)', nodes: [{ op: 'MaxPool', inputs: ['x'], outputs: ['y'], attrs: { kernel_shape: A.ints([3, 3]), strides: A.ints([2, 2]), pads: A.ints([1, 1, 1, 1]) } }], params: { x: distinct([1, 2, 5, 5]) }, out: 'y' });
add({ name: 'MaxPool ceil_mode dilated', nodes: [{ op: 'MaxPool', inputs: ['x'], outputs: ['y'], attrs: { kernel_shape: A.ints([2, 2]), strides: A.ints([2, 2]), dilations: A.ints([2, 1]), ceil_mode: A.int(1) } }], params: { x: distinct([1, 1, 7, 6]) }, out: 'y' });
for (const inc of [0, 1]) {
  add({ name: `AveragePool pads count_include_pad=${inc}`, nodes: [{ op: 'AveragePool', inputs: ['x'], outputs: ['y'], attrs: { kernel_shape: A.ints([3, 3]), strides: A.ints([2, 2]), pads: A.ints([1, 1, 1, 1]), count_include_pad: A.int(inc) } }], params: { x: U([1, 2, 5, 5]) }, out: 'y' });
}
add({ name: 'GlobalAveragePool', nodes: [{ op: 'GlobalAveragePool', inputs: ['x'], outputs: ['y'] }], params: { x: U([2, 3, 3, 4]) }, out: 'y' });

// ---- normalization
add({
  name: 'BatchNormalization train (BN-9 five outputs, opset 13)', opset: 13,
  nodes: [{ op: 'BatchNormalization', inputs: ['x', 's', 'b', 'rm', 'rv'], outputs: ['y', 'rm2', 'rv2', 'sm', 'sv'], attrs: { epsilon: A.float(1e-5), momentum: A.float(0.9) } }],
  params: { x: U([3, 2, 2, 3]), s: U([2], 0.5, 1.5), b: U([2]) }, consts: { rm: U([2]), rv: U([2], 0.5, 1.5) }, out: 'y',
});
add({
  name: 'BatchNormalization train (training_mode=1, opset 17)', opset: 17,
  nodes: [{ op: 'BatchNormalization', inputs: ['x', 's', 'b', 'rm', 'rv'], outputs: ['y', 'rm2', 'rv2'], attrs: { epsilon: A.float(1e-5), training_mode: A.int(1) } }],
  params: { x: U([4, 3]), s: U([3], 0.5, 1.5), b: U([3]) }, consts: { rm: U([3]), rv: U([3], 0.5, 1.5) }, out: 'y',
});
add({
  name: 'BatchNormalization frozen running statistics', opset: 17,
  nodes: [{ op: 'BatchNormalization', inputs: ['x', 's', 'b', 'rm', 'rv'], outputs: ['y'] }],
  params: { x: U([2, 3, 2, 2]), s: U([3], 0.5, 1.5), b: U([3]) }, consts: { rm: U([3]), rv: U([3], 0.5, 1.5) }, out: 'y',
});
add({
  name: 'LayerNormalization last axis', nodes: [{ op: 'LayerNormalization', inputs: ['x', 's', 'b'], outputs: ['y'], attrs: { axis: A.int(-1), epsilon: A.float(1e-5) } }],
  params: { x: U([2, 3, 5]), s: U([5], 0.5, 1.5), b: U([5]) }, out: 'y',
});
add({
  name: 'LayerNormalization over the last two axes', nodes: [{ op: 'LayerNormalization', inputs: ['x', 's', 'b'], outputs: ['y'], attrs: { axis: A.int(1) } }],
  params: { x: U([2, 3, 4]), s: U([3, 4], 0.5, 1.5), b: U([3, 4]) }, out: 'y',
});
add({
  name: 'InstanceNormalization (GroupNorm export)', nodes: [{ op: 'InstanceNormalization', inputs: ['x', 's', 'b'], outputs: ['y'], attrs: { epsilon: A.float(1e-5) } }],
  params: { x: U([2, 3, 2, 3]), s: U([3], 0.5, 1.5), b: U([3]) }, out: 'y',
});
add({
  name: 'RMSNorm as exported (Pow/ReduceMean/Add/Sqrt/Div/Mul)', opset: 13,
  nodes: [
    { op: 'Pow', inputs: ['x', 'two'], outputs: ['p'] },
    { op: 'ReduceMean', inputs: ['p'], outputs: ['m'], attrs: { axes: A.ints([-1]), keepdims: A.int(1) } },
    { op: 'Add', inputs: ['m', 'eps'], outputs: ['a'] },
    { op: 'Sqrt', inputs: ['a'], outputs: ['r'] },
    { op: 'Div', inputs: ['one', 'r'], outputs: ['inv'] },
    { op: 'Mul', inputs: ['x', 'inv'], outputs: ['n'] },
    { op: 'Mul', inputs: ['n', 'w'], outputs: ['y'] },
  ],
  params: { x: U([2, 3, 6]), w: U([6], 0.5, 1.5) },
  consts: { two: tensor('float32', [], Float32Array.of(2)), eps: tensor('float32', [], Float32Array.of(1e-6)), one: tensor('float32', [], Float32Array.of(1)) },
  out: 'y',
});

// ---- reductions
add({ name: 'ReduceMean axes attribute keepdims=1 (opset 13)', opset: 13, nodes: [{ op: 'ReduceMean', inputs: ['x'], outputs: ['y'], attrs: { axes: A.ints([1]), keepdims: A.int(1) } }], params: { x: U([2, 3, 4]) }, out: 'y' });
add({ name: 'ReduceMean axes input keepdims=0 (opset 18)', opset: 18, nodes: [{ op: 'ReduceMean', inputs: ['x', 'ax'], outputs: ['y'], attrs: { keepdims: A.int(0) } }], params: { x: U([2, 3, 4]) }, consts: { ax: I64([0, -1]) }, out: 'y' });
add({ name: 'ReduceSum axes input (opset 13)', opset: 13, nodes: [{ op: 'ReduceSum', inputs: ['x', 'ax'], outputs: ['y'], attrs: { keepdims: A.int(0) } }], params: { x: U([2, 3, 4]) }, consts: { ax: I64([1]) }, out: 'y' });
add({ name: 'ReduceSum all axes', opset: 13, nodes: [{ op: 'ReduceSum', inputs: ['x'], outputs: ['y'], attrs: { keepdims: A.int(0) } }], params: { x: U([2, 3]) }, out: 'y' });

// ---- softmax family and losses
add({ name: 'Softmax last axis', nodes: [{ op: 'Softmax', inputs: ['x'], outputs: ['y'], attrs: { axis: A.int(-1) } }], params: { x: U([2, 3, 4], -2, 2) }, out: 'y' });
add({ name: 'Softmax middle axis', nodes: [{ op: 'Softmax', inputs: ['x'], outputs: ['y'], attrs: { axis: A.int(1) } }], params: { x: U([2, 3, 4], -2, 2) }, out: 'y' });
add({ name: 'Softmax opset 11 (coerced to 2-D at axis 1)', opset: 11, nodes: [{ op: 'Softmax', inputs: ['x'], outputs: ['y'], attrs: { axis: A.int(1) } }], params: { x: U([2, 3, 2], -2, 2) }, out: 'y' });
add({ name: 'LogSoftmax', nodes: [{ op: 'LogSoftmax', inputs: ['x'], outputs: ['y'], attrs: { axis: A.int(-1) } }], params: { x: U([3, 5], -2, 2) }, out: 'y' });
add({ name: 'SoftmaxCrossEntropy [N,C]', nodes: [{ op: 'SoftmaxCrossEntropy', domain: 'pockengine', inputs: ['x', 'labels'], outputs: ['y'] }], params: { x: U([4, 5], -2, 2) }, consts: { labels: I64([0, 4, 2, 2]) }, out: 'y' });
add({ name: 'SoftmaxCrossEntropy [N,T,V]', nodes: [{ op: 'SoftmaxCrossEntropy', domain: 'pockengine', inputs: ['x', 'labels'], outputs: ['y'] }], params: { x: U([2, 3, 4], -2, 2) }, consts: { labels: I64([0, 3, 1, 2, 2, 0], [2, 3]) }, out: 'y' });

// ---- data movement
add({ name: 'Reshape', nodes: [{ op: 'Reshape', inputs: ['x', 'shape'], outputs: ['y'] }], params: { x: U([2, 6]) }, consts: { shape: I64([3, -1, 2]) }, out: 'y' });
add({ name: 'Flatten', nodes: [{ op: 'Flatten', inputs: ['x'], outputs: ['y'], attrs: { axis: A.int(1) } }], params: { x: U([2, 3, 2]) }, out: 'y' });
add({ name: 'Unsqueeze then Squeeze (axes inputs)', opset: 13, nodes: [{ op: 'Unsqueeze', inputs: ['x', 'ax'], outputs: ['u'] }, { op: 'Squeeze', inputs: ['u', 'ax2'], outputs: ['s'] }, { op: 'Mul', inputs: ['s', 'u'], outputs: ['y'] }], params: { x: U([2, 3]) }, consts: { ax: I64([0, 2]), ax2: I64([0]) }, out: 'y' });
add({ name: 'Transpose with perm', nodes: [{ op: 'Transpose', inputs: ['x'], outputs: ['y'], attrs: { perm: A.ints([1, 2, 0]) } }], params: { x: U([2, 3, 4]) }, out: 'y' });
add({ name: 'Transpose default (reverse)', nodes: [{ op: 'Transpose', inputs: ['x'], outputs: ['y'] }], params: { x: U([2, 3, 4]) }, out: 'y' });
add({ name: 'Expand', nodes: [{ op: 'Expand', inputs: ['x', 'shape'], outputs: ['y'] }], params: { x: U([3, 1]) }, consts: { shape: I64([2, 3, 4]) }, out: 'y' });
add({ name: 'Concat axis 1', nodes: [{ op: 'Concat', inputs: ['a', 'b', 'c'], outputs: ['y'], attrs: { axis: A.int(1) } }], params: { a: U([2, 1, 3]), b: U([2, 2, 3]), c: U([2, 3, 3]) }, out: 'y' });
add({
  name: 'Split (split input) with an unused output', opset: 13, nodes: [{ op: 'Split', inputs: ['x', 'split'], outputs: ['p', 'q', 'r'], attrs: { axis: A.int(-1) } }, { op: 'Mul', inputs: ['p', 'r'], outputs: ['y'] }],
  params: { x: U([2, 6]) }, consts: { split: I64([2, 2, 2]) }, out: 'y',
});
add({
  name: 'Slice with axes and steps (negative step)', opset: 13, nodes: [{ op: 'Slice', inputs: ['x', 'st', 'en', 'ax', 'sp'], outputs: ['y'] }],
  params: { x: U([3, 4, 5]) }, consts: { st: I64([1, -1]), en: I64([3, 0]), ax: I64([0, 2]), sp: I64([1, -2]) }, out: 'y',
});
add({ name: 'Slice (rotate-half form, big end)', opset: 13, nodes: [{ op: 'Slice', inputs: ['x', 'st', 'en', 'ax'], outputs: ['y'] }], params: { x: U([2, 6]) }, consts: { st: I64([3]), en: I64([Number.MAX_SAFE_INTEGER]), ax: I64([-1]) }, out: 'y' });
add({ name: 'Gather embeddings with repeated ids', nodes: [{ op: 'Gather', inputs: ['w', 'ids'], outputs: ['y'] }], params: { w: U([5, 3]) }, consts: { ids: I64([1, 4, 1, 0, 1, 3], [2, 3]) }, out: 'y' });
add({ name: 'Gather axis 1 negative index', nodes: [{ op: 'Gather', inputs: ['w', 'ids'], outputs: ['y'], attrs: { axis: A.int(1) } }], params: { w: U([2, 4, 3]) }, consts: { ids: I64([-1, 0]) }, out: 'y' });
add({ name: 'Pad constant (pads input, one negative = crop)', opset: 13, nodes: [{ op: 'Pad', inputs: ['x', 'pads'], outputs: ['y'] }], params: { x: U([2, 3, 4]) }, consts: { pads: I64([0, 1, 2, 1, 0, -1]) }, out: 'y' });
add({ name: 'Pad opset 2 (pads attribute)', opset: 2, nodes: [{ op: 'Pad', inputs: ['x'], outputs: ['y'], attrs: { pads: A.ints([1, 0, 0, 2]) } }], params: { x: U([2, 3]) }, out: 'y' });
add({ name: 'Tile', nodes: [{ op: 'Tile', inputs: ['x', 'reps'], outputs: ['y'] }], params: { x: U([2, 3]) }, consts: { reps: I64([2, 3]) }, out: 'y' });
add({ name: 'Identity', nodes: [{ op: 'Identity', inputs: ['x'], outputs: ['y'] }], params: { x: U([4]) }, out: 'y' });
add({ name: 'Dropout ratio 0 with mask (training export)', opset: 13, nodes: [{ op: 'Dropout', inputs: ['x', 'r', 't'], outputs: ['y', 'mask'] }], params: { x: U([3, 4]) }, consts: { r: tensor('float32', [], Float32Array.of(0)), t: tensor('bool', [], Uint8Array.of(1)) }, out: 'y' });
add({ name: 'Cast float32 -> float32', nodes: [{ op: 'Cast', inputs: ['x'], outputs: ['y'], attrs: { to: A.int(1) } }], params: { x: U([4]) }, out: 'y' });
add({ name: 'Trilu lower', nodes: [{ op: 'Trilu', inputs: ['x'], outputs: ['y'], attrs: { upper: A.int(0) } }], params: { x: U([3, 4]) }, out: 'y' });

for (const c of cases) test(`gradcheck: ${c.name}`, () => gradcheck(c));

test('gradcheck: worst relative error per rule', () => {
  rand = rng(1);
  assert.ok(worst.length === cases.length, 'every case ran');
  const lines = worst.sort((a, b) => b[1] - a[1]).slice(0, 8).map(([n, e]) => `  ${e.toExponential(2)}  ${n}`);
  console.log(`gradcheck: ${worst.length} cases, worst relative errors vs finite differences:\n${lines.join('\n')}`);
});

test('ConvGradWeight channels=k computes exactly the first k output channels of the full gradient', () => {
  const shapes: [number[], number[], Record<string, AttrValue>][] = [
    [[2, 4, 6, 6], [6, 4, 3, 3], { pads: A.ints([1, 1, 1, 1]), strides: A.ints([2, 2]) }],
    [[2, 4, 5, 5], [6, 2, 3, 3], { group: A.int(2) }],
    [[2, 3, 5, 5], [3, 1, 3, 3], { group: A.int(3), pads: A.ints([1, 1, 1, 1]) }],
    [[1, 4, 3, 3], [5, 4, 1, 1], {}],
  ];
  for (const [xd, wd, a] of shapes) {
    const node = { id: 'c', name: 'c', opType: 'Conv', domain: '', inputs: [], outputs: [], attrs: a, layer: '' };
    const x = U(xd);
    const fwdOut = execute(buildGraph({ name: 'c', nodes: [{ op: 'Conv', inputs: ['x', 'w'], outputs: ['y'], attrs: a }], params: { x, w: U(wd) }, out: 'y' }), {}, { opsets: { '': 17 } }).get('y')!;
    const dy = U(fwdOut.dims);
    const full = convGradWeight(x, dy, wd, node);
    for (const k of [1, 2, wd[0] - 1]) {
      const part = convGradWeight(x, dy, wd, node, k);
      assert.deepEqual(part.dims, [k, ...wd.slice(1)]);
      assert.deepEqual(Array.from(part.data as Float32Array), Array.from((full.data as Float32Array).subarray(0, part.data.length)), `W [${wd}] channels ${k}`);
    }
  }
});
