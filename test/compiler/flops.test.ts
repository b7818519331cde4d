import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AttrValue, Node, ValueType } from '../../src/compiler/ir/graph';
import { attrInt, attrInts } from '../../src/compiler/ir/graph';
import { importModelFile } from '../../src/compiler/onnx/import';
import { opCost, graphCosts, sumCosts, type TypeOf } from '../../src/compiler/cost/flops';
import { GRADIENT_OPS } from '../../src/compiler/cost/gradientOps';

const shared = path.resolve(__dirname, '..', '..', '..', 'shared');

function node(opType: string, inputs: string[], outputs: string[], attrs: Record<string, AttrValue> = {}, domain = ''): Node {
  return { id: `${opType}_0`, name: '', opType, domain, inputs, outputs, attrs, layer: '' };
}
const ints = (value: number[]): AttrValue => ({ type: 'ints', value });
const int = (value: number): AttrValue => ({ type: 'int', value });
function types(t: Record<string, (number | string)[]>, dtype: ValueType['dtype'] = 'float32'): TypeOf {
  return (name) => (t[name] ? { dtype, shape: t[name] } : null);
}

test('Conv FLOPs: 2 x N x C_out x H_out x W_out x (C_in/group) x kH x kW, plus one add per output for the bias', () => {
  const n = node('Conv', ['x', 'w', 'b'], ['y'], { strides: ints([2, 2]), pads: ints([1, 1, 1, 1]) });
  const ty = types({ x: [2, 3, 32, 32], w: [8, 3, 3, 3], b: [8], y: [2, 8, 16, 16] });
  const c = opCost(n, ty);
  assert.equal(c.flops, 2 * 2 * 8 * 16 * 16 * 3 * 3 * 3 + 2 * 8 * 16 * 16);
  assert.equal(c.opClass, 'conv');
  assert.equal(c.bytes, 4 * (2 * 3 * 32 * 32 + 8 * 3 * 3 * 3 + 8 + 2 * 8 * 16 * 16));
  assert.equal(c.approximate, false);

  const g = node('Conv', ['x', 'w'], ['y'], { group: int(2) });
  const cg = opCost(g, types({ x: [1, 4, 10, 10], w: [6, 2, 3, 3], y: [1, 6, 8, 8] }));
  assert.equal(cg.flops, 2 * 1 * 6 * 8 * 8 * 2 * 3 * 3);
  assert.equal(cg.opClass, 'conv');

  const dw = node('Conv', ['x', 'w'], ['y'], { group: int(16) });
  const cd = opCost(dw, types({ x: [1, 16, 12, 12], w: [16, 1, 3, 3], y: [1, 16, 12, 12] }));
  assert.equal(cd.flops, 2 * 16 * 12 * 12 * 9);
  assert.equal(cd.opClass, 'depthwise');
});

test('ConvTranspose FLOPs: 2 x N x C_in x H_in x W_in x (C_out/group) x kH x kW', () => {
  const n = node('ConvTranspose', ['x', 'w'], ['y'], { strides: ints([2, 2]) });
  const c = opCost(n, types({ x: [1, 4, 5, 5], w: [4, 3, 2, 2], y: [1, 3, 10, 10] }));
  assert.equal(c.flops, 2 * 4 * 5 * 5 * 3 * 2 * 2);
});

test('Gemm and MatMul FLOPs: 2 x M x N x K (batched and broadcast), plus the bias add', () => {
  const gemm = node('Gemm', ['a', 'b', 'c'], ['y'], { transB: int(1) });
  const cg = opCost(gemm, types({ a: [4, 64], b: [10, 64], c: [10], y: [4, 10] }));
  assert.equal(cg.flops, 2 * 4 * 10 * 64 + 4 * 10);
  assert.equal(cg.opClass, 'gemm');
  const gemmT = node('Gemm', ['a', 'b'], ['y'], { transA: int(1) });
  assert.equal(opCost(gemmT, types({ a: [64, 4], b: [64, 10], y: [4, 10] })).flops, 2 * 4 * 10 * 64);

  const mm = node('MatMul', ['a', 'b'], ['y']);
  const cm = opCost(mm, types({ a: [2, 3, 4, 5], b: [5, 6], y: [2, 3, 4, 6] }));
  assert.equal(cm.flops, 2 * (2 * 3) * 4 * 6 * 5);
  assert.equal(cm.bytes, 4 * (2 * 3 * 4 * 5 + 5 * 6 + 2 * 3 * 4 * 6));
  const vec = opCost(mm, types({ a: [5], b: [5, 6], y: [6] }));
  assert.equal(vec.flops, 2 * 6 * 5);
});

test('elementwise, reductions, pooling and views follow their per-element counts', () => {
  const t = types({ x: [2, 8, 4, 4], y: [2, 8, 4, 4], p: [2, 8, 1, 1], s: [4] });
  assert.equal(opCost(node('Relu', ['x'], ['y']), t).flops, 256);
  assert.equal(opCost(node('Sigmoid', ['x'], ['y']), t).flops, 4 * 256);
  assert.equal(opCost(node('Add', ['x', 'p'], ['y']), t).flops, 256);
  assert.equal(opCost(node('GlobalAveragePool', ['x'], ['p']), t).flops, 256 + 16);
  assert.equal(opCost(node('MaxPool', ['x'], ['p'], { kernel_shape: ints([4, 4]) }), t).flops, 16 * 16);
  const bnInfer = node('BatchNormalization', ['x', 'g', 'b', 'm', 'v'], ['y']);
  assert.equal(opCost(bnInfer, t).flops, 4 * 256);
  const bnTrain = node('BatchNormalization', ['x', 'g', 'b', 'm', 'v'], ['y', 'rm', 'rv']);
  assert.equal(opCost(bnTrain, t).flops, 8 * 256);
  const reshape = opCost(node('Reshape', ['x', 's'], ['y']), t);
  assert.deepEqual([reshape.flops, reshape.bytes, reshape.opClass], [0, 0, 'none']);
  const transpose = opCost(node('Transpose', ['x'], ['y']), t);
  assert.deepEqual([transpose.flops, transpose.bytes, transpose.opClass], [0, 2 * 256 * 4, 'data']);
  // Gather reads only the rows it gathers: the indices and the output, not the whole table.
  const gather = opCost(node('Gather', ['table', 'idx'], ['out']), (n) => ({
    table: { dtype: 'float32' as const, shape: [1000, 64] }, idx: { dtype: 'int64' as const, shape: [2, 16] }, out: { dtype: 'float32' as const, shape: [2, 16, 64] },
  })[n] ?? null);
  assert.equal(gather.bytes, 2 * (2 * 16 * 64 * 4) + 2 * 16 * 8);
});

test('bytes use each dtype\'s size; symbolic dims count as 1 and mark the result approximate', () => {
  const half = opCost(node('Add', ['a', 'b'], ['y']), types({ a: [10], b: [10], y: [10] }, 'float16'));
  assert.equal(half.bytes, 3 * 10 * 2);
  const sym = opCost(node('MatMul', ['a', 'b'], ['y']), types({ a: ['batch', 8], b: [8, 4], y: ['batch', 4] }));
  assert.equal(sym.flops, 2 * 4 * 8);
  assert.equal(sym.approximate, true);
  assert.match(sym.notes.join(' '), /symbolic dimension "batch"/);
  const unknown = opCost(node('Relu', ['x'], ['y']), () => null);
  assert.equal(unknown.approximate, true);
});

test('gradient operators named in the table cost what their forward operator costs', () => {
  const fwd = node('Conv', ['x', 'w'], ['y'], { strides: ints([1, 1]) });
  const ty = types({ x: [1, 4, 8, 8], w: [6, 4, 3, 3], y: [1, 6, 8, 8], dy: [1, 6, 8, 8], dx: [1, 4, 8, 8], dw: [6, 4, 3, 3] });
  const forward = opCost(fwd, ty);
  for (const op of ['ConvGradInput', 'ConvGradWeight']) {
    const g = node(op, op === 'ConvGradInput' ? ['dy', 'w'] : ['dy', 'x'], [op === 'ConvGradInput' ? 'dx' : 'dw'], {}, 'pockengine');
    const c = opCost(g, ty, { forward: fwd });
    assert.equal(c.flops, forward.flops, op);
    assert.equal(c.opClass, 'conv');
    assert.equal(c.approximate, false);
    const blind = opCost(g, ty);
    assert.equal(blind.approximate, true, 'without the forward node the figure is flagged');
  }
  const relu = opCost(node('ReluGrad', ['dy', 'y'], ['dx'], {}, 'pockengine'), types({ dy: [100], y: [100], dx: [100] }));
  assert.equal(relu.flops, 100 * (GRADIENT_OPS.ReluGrad as { perOutputElement: number }).perOutputElement);
  const unknown = opCost(node('Mystery', ['a'], ['b'], {}, 'pockengine'), types({ a: [7], b: [7] }));
  assert.equal(unknown.flops, 7);
  assert.equal(unknown.approximate, true);
  assert.match(unknown.notes[0], /no FLOP rule for pockengine\.Mystery/);
});

test('every operator of the ONNX test selection has a FLOP rule', () => {
  const index = JSON.parse(fs.readFileSync(path.join(shared, 'onnx-node-tests', 'index.json'), 'utf8')) as { wanted_ops: string[] };
  assert.ok(index.wanted_ops.length > 40);
  const ty: TypeOf = () => ({ dtype: 'float32', shape: [2, 4, 6, 6] });
  for (const op of index.wanted_ops) {
    const c = opCost(node(op, ['a', 'b', 'c'], ['y']), ty);
    assert.ok(!c.notes.some((n) => n.startsWith('no FLOP rule')), `${op}: ${c.notes.join('; ')}`);
    assert.ok(Number.isFinite(c.flops) && c.flops >= 0, op);
  }
});

/** Conv/Gemm output shapes by the ONNX arithmetic: an independent walk for the fixture, not shape inference. */
function convShapes(model: ReturnType<typeof importModelFile>): TypeOf {
  const g = model.graph;
  const shape = new Map<string, number[]>();
  for (const name of g.inputs) {
    const s = g.values.get(name)?.type?.shape;
    if (s) shape.set(name, s.map((d) => (typeof d === 'number' ? d : 1)));
  }
  for (const [name, init] of g.initializers) shape.set(name, init.dims);
  for (const n of g.nodes) {
    const x = shape.get(n.inputs[0]);
    if (n.opType === 'Conv' && x) {
      const w = shape.get(n.inputs[1])!;
      const k = w.slice(2), s = attrInts(n, 'strides') ?? k.map(() => 1), p = attrInts(n, 'pads') ?? [...k, ...k].map(() => 0);
      shape.set(n.outputs[0], [x[0], w[0], ...k.map((kk, i) => Math.floor((x[2 + i] + p[i] + p[i + k.length] - kk) / s[i]) + 1)]);
    } else if (n.opType === 'GlobalAveragePool' && x) shape.set(n.outputs[0], [x[0], x[1], 1, 1]);
    else if (n.opType === 'Flatten' && x) shape.set(n.outputs[0], [x[0], x.slice(1).reduce((a, b) => a * b, 1)]);
    else if (n.opType === 'Gemm' && x) {
      const b = shape.get(n.inputs[1])!;
      shape.set(n.outputs[0], [x[0], attrInt(n, 'transB', 0) ? b[0] : b[1]]);
    } else if (x && n.outputs[0]) shape.set(n.outputs[0], x); // BN, Clip, Add, Dropout keep the shape
  }
  return (name) => (shape.has(name) ? { dtype: 'float32', shape: shape.get(name)! } : null);
}

/** torchvision mobilenet_v2 channel rounding. */
function makeDivisible(v: number, divisor = 8): number {
  const nv = Math.max(divisor, Math.floor((v + divisor / 2) / divisor) * divisor);
  return nv < 0.9 * v ? nv + divisor : nv;
}

test('MobileNetV2 (width 0.35, 96x96, batch 2): Conv + Gemm FLOPs equal the architecture worked by hand', () => {
  const model = importModelFile(path.join(shared, 'fixtures', 'mobilenetv2_035', 'model.onnx'));
  const typeOf = convShapes(model);
  const nodeCosts = model.graph.nodes.filter((n) => n.opType === 'Conv' || n.opType === 'Gemm').map((n) => opCost(n, typeOf));
  const ours = nodeCosts.reduce((s, c) => s + c.flops, 0);
  assert.ok(nodeCosts.every((c) => !c.approximate));

  // The network from torchvision's table (t, c, n, s), every conv bias-free (BN follows), batch 2.
  const N = 2, width = 0.35;
  let hw = 96 / 2, cin = makeDivisible(32 * width);
  let macs = (hw * hw) * cin * 3 * 9; // stem 3x3 stride 2
  const settings = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1]];
  for (const [t, c, n, s] of settings) {
    const cout = makeDivisible(c * width);
    for (let i = 0; i < n; i++) {
      const stride = i === 0 ? s : 1;
      const hidden = cin * t;
      if (t !== 1) macs += hw * hw * hidden * cin; // 1x1 expand
      const hwOut = hw / stride;
      macs += hwOut * hwOut * hidden * 9; // 3x3 depthwise
      macs += hwOut * hwOut * cout * hidden; // 1x1 project
      hw = hwOut;
      cin = cout;
    }
  }
  macs += hw * hw * 1280 * cin; // last 1x1 conv to 1280
  const expected = N * 2 * macs + (N * 2 * 1280 * 10 + N * 10); // classifier Gemm with bias
  assert.equal(ours, expected);

  // The whole forward graph: every node gets a figure, the total is dominated by Conv.
  const all = sumCosts(model.graph.nodes.map((n) => opCost(n, typeOf)));
  // Train-mode BatchNorm (8 FLOP per element), ReLU6 and the residual adds come on top: about a quarter more.
  assert.ok(all.flops > expected && all.flops < 1.5 * expected, `${all.flops} vs ${expected}`);
  assert.equal(graphCosts(model.graph).size, model.graph.nodes.length);
  console.log(`MobileNetV2 0.35 @ 96x96, batch 2: Conv+Gemm ${(expected / 1e6).toFixed(1)} MFLOP (${(macs / 1e6).toFixed(2)} MMAC per image)`);
});
