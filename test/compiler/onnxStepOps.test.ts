// The ONNX training step's lowerings of the activation, normalization and data-movement gradients
// (onnxLowering/activation.ts, norm.ts, shape.ts): for each operator a small model built here is compiled,
// exported as one ONNX step with standard operators only, and run once in onnxruntime-node against the
// reference runtime: the loss and the updated parameters (TrainingSession.step) and every parameter's
// gradient (the reference runtime's run of the same step graph on the same batch) agree within 1e-5
// relative (to each tensor's largest magnitude). Piecewise derivatives are fed inputs on every piece.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadModel } from '../../src/compiler/loadModel';
import { compile } from '../../src/compiler/compile';
import { onnxStepModel, updatedName } from '../../src/compiler/export/onnxStep';
import { stepValues } from '../../src/compiler/export/exportTraining';
import { execute } from '../../src/compiler/runtime/execute';
import { TrainingSession } from '../../src/compiler/train/session';
import { encodeModel } from '../../src/compiler/onnx/encode';
import { GraphBuilder, seededRandom, vector, type Attrs } from '../../src/compiler/samples/builder';
import { tensor, type Tensor } from '../../src/compiler/ir/tensor';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const ort = require('onnxruntime-node') as typeof import('onnxruntime-node');
type OrtTensor = InstanceType<typeof ort.Tensor>;

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'pe-onnx-step-ops-'));
after(() => fs.rmSync(work, { recursive: true, force: true }));
const TOL = 1e-5;

/** Worst |got − want| over the tensor's largest magnitude. */
function relError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let scale = 0, diff = 0;
  for (let i = 0; i < want.length; i++) {
    scale = Math.max(scale, Math.abs(want[i]));
    diff = Math.max(diff, Math.abs(got[i] - want[i]));
  }
  return diff === 0 ? 0 : diff / Math.max(scale, 1e-30);
}

const toOrt = (t: Tensor): OrtTensor => (t.dtype === 'int64'
  ? new ort.Tensor('int64', (t.data as BigInt64Array).slice(), t.dims)
  : new ort.Tensor('float32', (t.data as Float32Array).slice(), t.dims));

type Randn = (dims: number[], scale: number) => Tensor;

interface Case {
  name: string;
  /** The 'pockengine' gradient operator whose lowering the case runs. */
  op: string;
  opset?: number;
  /** Input [4, 8] -> fc1 (Gemm, 8 -> 8) -> body -> fc2 (Gemm, width -> 5); body returns its output and width. */
  body?: (b: GraphBuilder, h: string, randn: Randn) => { h: string; width: number };
  /** A whole model instead: returns the logits [..., 5] and the labels' dims. */
  model?: (b: GraphBuilder, randn: Randn) => { logits: string; x: string; xDims: number[]; labelDims: number[] };
  /** Pieces of a piecewise derivative: every one must be hit by fc1's output. */
  pieces?: Record<string, (x: number) => boolean>;
}

const act = (op: string, attrs: Attrs = {}) => (b: GraphBuilder, h: string): { h: string; width: number } => ({ h: b.op('/act', op, [h], 'float32', [4, 8], attrs), width: 8 });

const CASES: Case[] = [
  { name: 'LeakyRelu (alpha 0.1)', op: 'LeakyReluGrad', body: act('LeakyRelu', { alpha: { float: 0.1 } }), pieces: { 'x < 0': (x) => x < 0, 'x > 0': (x) => x > 0 } },
  {
    name: 'HardSigmoid (alpha 0.3, beta 0.4)', op: 'HardSigmoidGrad', body: act('HardSigmoid', { alpha: { float: 0.3 }, beta: { float: 0.4 } }),
    pieces: { 'saturated at 0': (x) => 0.3 * x + 0.4 <= 0, linear: (x) => 0.3 * x + 0.4 > 0 && 0.3 * x + 0.4 < 1, 'saturated at 1': (x) => 0.3 * x + 0.4 >= 1 },
  },
  { name: 'HardSwish', op: 'HardSwishGrad', body: act('HardSwish'), pieces: { 'x < -3': (x) => x < -3, '-3..3': (x) => x >= -3 && x <= 3, 'x > 3': (x) => x > 3 } },
  { name: 'Gelu (exact, opset 20)', op: 'GeluGrad', opset: 20, body: act('Gelu') },
  { name: 'Gelu (tanh approximation, opset 20)', op: 'GeluGrad', opset: 20, body: act('Gelu', { approximate: 'tanh' }) },
  { name: 'Erf', op: 'ErfGrad', body: act('Erf') },
  { name: 'Softplus', op: 'SoftplusGrad', body: act('Softplus') },
  {
    name: 'Gather on axis 1 (2-D indices, repeated and negative)', op: 'GatherGrad',
    body: (b, h) => {
      const idx = b.constant('/gather', tensor('int64', [2, 3], BigInt64Array.of(0n, -1n, 3n, 3n, 5n, 0n)));
      const g = b.op('/gather', 'Gather', [h, idx], 'float32', [4, 2, 3], { axis: 1 });
      return { h: b.op('/flatten', 'Flatten', [g], 'float32', [4, 6], { axis: 1 }), width: 6 };
    },
  },
  {
    name: 'Pad (2 before, 1 cropped after, on axis 1)', op: 'PadGrad',
    body: (b, h) => ({ h: b.op('/pad', 'Pad', [h, b.constant('/pad', vector('int64', [0, 2, 0, -1]))], 'float32', [4, 9]), width: 9 }),
  },
  {
    name: 'Tile (repeats 1, 2, 3)', op: 'TileGrad',
    body: (b, h) => {
      const r = b.op('/reshape', 'Reshape', [h, b.constant('/reshape', vector('int64', [4, 2, 4]))], 'float32', [4, 2, 4]);
      const t = b.op('/tile', 'Tile', [r, b.constant('/tile', vector('int64', [1, 2, 3]))], 'float32', [4, 4, 12]);
      return { h: b.op('/flatten', 'Flatten', [t], 'float32', [4, 48], { axis: 1 }), width: 48 };
    },
  },
  {
    name: 'LayerNormalization (axis -1)', op: 'LayerNormGrad',
    model: (b, randn) => {
      const x = b.input('input', 'float32', [2, 3, 8]);
      let h = b.op('/proj', 'MatMul', [x, b.param('proj.weight', randn([8, 8], 0.5))], 'float32', [2, 3, 8]);
      h = b.op('/ln', 'LayerNormalization', [h, b.param('ln.weight', randn([8], 1)), b.param('ln.bias', randn([8], 0.2))], 'float32', [2, 3, 8], { axis: -1, epsilon: { float: 1e-5 } });
      return { logits: b.op('/head', 'MatMul', [h, b.param('head.weight', randn([8, 5], 0.5))], 'float32', [2, 3, 5]), x, xDims: [2, 3, 8], labelDims: [2, 3] };
    },
  },
  {
    name: 'LayerNormalization (axis 1, scale [3, 8], no bias)', op: 'LayerNormGrad',
    model: (b, randn) => {
      const x = b.input('input', 'float32', [2, 3, 8]);
      let h = b.op('/proj', 'MatMul', [x, b.param('proj.weight', randn([8, 8], 0.5))], 'float32', [2, 3, 8]);
      h = b.op('/ln', 'LayerNormalization', [h, b.param('ln.weight', randn([3, 8], 1))], 'float32', [2, 3, 8], { axis: 1, epsilon: { float: 1e-3 } });
      return { logits: b.op('/head', 'MatMul', [h, b.param('head.weight', randn([8, 5], 0.5))], 'float32', [2, 3, 5]), x, xDims: [2, 3, 8], labelDims: [2, 3] };
    },
  },
  {
    name: 'InstanceNormalization', op: 'InstanceNormGrad',
    model: (b, randn) => {
      const x = b.input('input', 'float32', [2, 4, 3, 5]);
      let h = b.op('/conv', 'Conv', [x, b.param('conv.weight', randn([4, 4, 1, 1], 0.5))], 'float32', [2, 4, 3, 5], { kernel_shape: [1, 1] });
      h = b.op('/in', 'InstanceNormalization', [h, b.param('in.weight', randn([4], 1)), b.param('in.bias', randn([4], 0.2))], 'float32', [2, 4, 3, 5], { epsilon: { float: 1e-5 } });
      h = b.op('/flatten', 'Flatten', [h], 'float32', [2, 60], { axis: 1 });
      return { logits: b.op('/fc', 'Gemm', [h, b.param('fc.weight', randn([5, 60], 0.2)), b.param('fc.bias', randn([5], 0.1))], 'float32', [2, 5], { transB: 1 }), x, xDims: [2, 4, 3, 5], labelDims: [2] };
    },
  },
];

/** The case's model file, a batch and the name of fc1's output (the activation's input). */
function build(c: Case, file: string): { x: Tensor; labels: Tensor; pre?: string } {
  const rnd = seededRandom(7);
  const randn: Randn = (dims, scale) => tensor('float32', dims, Float32Array.from({ length: dims.reduce((p, d) => p * d, 1) }, () => (rnd() * 2 - 1) * scale));
  const b = new GraphBuilder();
  let logits: string, xDims: number[], labelDims: number[], pre: string | undefined;
  if (c.model) ({ logits, xDims, labelDims } = c.model(b, randn));
  else {
    xDims = [4, 8];
    labelDims = [4];
    const x = b.input('input', 'float32', xDims);
    pre = b.op('/fc1', 'Gemm', [x, b.param('fc1.weight', randn([8, 8], 1)), b.param('fc1.bias', randn([8], 0.5))], 'float32', [4, 8], { transB: 1 });
    const { h, width } = c.body!(b, pre, randn);
    logits = b.op('/fc2', 'Gemm', [h, b.param('fc2.weight', randn([5, width], 0.5)), b.param('fc2.bias', randn([5], 0.1))], 'float32', [4, 5], { transB: 1 });
  }
  b.output(logits);
  fs.writeFileSync(file, encodeModel(b.model({ producerName: 'onnxStepOps.test', opset: c.opset ?? 17 })));
  const n = labelDims.reduce((p, d) => p * d, 1);
  return { x: randn(xDims, 3), labels: tensor('int64', labelDims, BigInt64Array.from({ length: n }, (_, i) => BigInt((i * 3 + 1) % 5))), pre };
}

for (const c of CASES) {
  test(`ONNX step with ${c.name}: ${c.op} lowered to standard operators matches the reference runtime's step`, async () => {
    const key = c.name.replace(/[^A-Za-z0-9]+/g, '_');
    const file = path.join(work, `${key}.onnx`);
    const { x, labels, pre } = build(c, file);
    const r = compile(loadModel(file), { scheme: { default: 'full', batchnorm: 'train', rules: [] }, optimizer: { kind: 'sgd', lr: 0.1, momentum: 0.9 }, compare: 'none' });
    assert.ok(r.program.order.some((n) => n.domain === 'pockengine' && n.opType === c.op), `the step has ${c.op}`);
    const values = stepValues(r);
    const tg = r.program.tg;

    // The step with every parameter's gradient as an extra output.
    const step = onnxStepModel(r, values);
    assert.deepEqual([...new Set(step.graph.nodes.map((n) => n.domain))], [''], 'only default-domain operators');
    assert.equal(step.opsets[''], Math.max(17, c.opset ?? 17), 'written at max(17, the model\'s opset)');
    const grads = [...tg.grads];
    for (const [, g] of grads) {
      step.graph.outputs.push(g);
      step.graph.values.set(g, { name: g, type: { dtype: 'float32', shape: values.get(g)!.dims.slice() } });
    }
    const stepFile = path.join(work, `${key}.step.onnx`);
    fs.writeFileSync(stepFile, encodeModel(step));

    const input = tg.dataInputs.find((v) => v !== tg.loss.target)!;
    const feeds = new Map<string, Tensor>([[input, x], [tg.loss.target, labels]]);
    const session = new TrainingSession(tg);
    const ortFeeds: Record<string, OrtTensor> = Object.fromEntries([...feeds, ...session.params, ...session.state].map(([k, t]) => [k, toOrt(t)]));
    const wanted = execute(tg.graph, new Map([...feeds, ...session.state]), { outputs: [...grads.map(([, g]) => g), ...(pre ? [pre] : [])], overrides: session.params, opsets: tg.opsets });
    for (const [piece, inside] of Object.entries(c.pieces ?? {})) {
      assert.ok(Array.from(wanted.get(pre!)!.data as Float32Array).some(inside), `the activation's input has values where ${piece}`);
    }

    const ortSession = await ort.InferenceSession.create(stepFile, { graphOptimizationLevel: 'disabled' });
    const got = await ortSession.run(ortFeeds);
    await ortSession.release();
    const loss = session.step(feeds);
    const lossErr = Math.abs(Number(got[tg.loss.loss].data[0]) - loss) / Math.abs(loss);
    let gradErr = 0, paramErr = 0, gradAt = '-', paramAt = '-';
    for (const [p, g] of grads) {
      const e = relError(got[g].data as Float32Array, wanted.get(g)!.data as Float32Array);
      if (e >= gradErr) { gradErr = e; gradAt = p; }
    }
    for (const [p, t] of session.params) {
      assert.deepEqual(got[updatedName(p)].dims, t.dims, `${p} keeps its shape`);
      const e = relError(got[updatedName(p)].data as Float32Array, t.data as Float32Array);
      if (e >= paramErr) { paramErr = e; paramAt = p; }
    }
    console.log(`  ${c.name}: ${step.graph.nodes.length} ONNX nodes; loss ${loss.toFixed(6)} (rel. error ${lossErr.toExponential(2)}); gradients ${gradErr.toExponential(2)} (${gradAt}); updated parameters ${paramErr.toExponential(2)} (${paramAt})`);
    assert.equal(grads.length, session.params.size, 'every trained parameter has a gradient');
    assert.ok(lossErr <= TOL, `the loss differs from the reference runtime's by ${lossErr.toExponential(2)}`);
    assert.ok(gradErr <= TOL, `${gradAt}'s gradient differs from the reference runtime's by ${gradErr.toExponential(2)}`);
    assert.ok(paramErr <= TOL, `updated ${paramAt} differs from the reference runtime's by ${paramErr.toExponential(2)}`);
  });
}
