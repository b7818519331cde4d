// The optimizer graph against torch.optim's update rules, written out by hand here in float64: SGD
// (momentum, dampening, nesterov, weight decay) and Adam/AdamW over several steps of a linear model with
// a mean-squared-error loss, whose gradient is also computed by hand.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Graph, Model } from '../../src/compiler/ir/graph';
import { tensor, type Tensor } from '../../src/compiler/ir/tensor';
import { tensorToInitializer } from '../../src/compiler/onnx/encode';
import { buildTrainingGraph, phaseNodes } from '../../src/compiler/train/trainingGraph';
import { TrainingSession } from '../../src/compiler/train/session';
import type { OptimizerSpec } from '../../src/compiler/train/optimizer';

const N = 4, IN = 3, OUT = 2;
const X = Float64Array.from({ length: N * IN }, (_, i) => Math.sin(i * 1.3) * 0.8);
const T = Float64Array.from({ length: N * OUT }, (_, i) => Math.cos(i * 0.7));
const W0 = Float64Array.from({ length: IN * OUT }, (_, i) => 0.3 * Math.sin(i + 0.5));
const B0 = Float64Array.from({ length: OUT }, (_, i) => 0.1 * (i + 1));

function linearModel(): Model {
  const g: Graph = { name: 'linear', nodes: [], values: new Map(), inputs: ['x'], outputs: ['y'], initializers: new Map() };
  const f32 = (dims: number[], d: Float64Array): Tensor => tensor('float32', dims, Float32Array.from(d));
  g.initializers.set('fc.weight', tensorToInitializer('fc.weight', f32([IN, OUT], W0)));
  g.initializers.set('fc.bias', tensorToInitializer('fc.bias', f32([OUT], B0)));
  for (const [v, dims] of [['x', [N, IN]], ['fc.weight', [IN, OUT]], ['fc.bias', [OUT]], ['h', null], ['y', null]] as const) {
    g.values.set(v, { name: v, type: dims ? { dtype: 'float32', shape: [...dims] } : null });
  }
  g.nodes.push({ id: 'mm', name: '/fc/MatMul', opType: 'MatMul', domain: '', inputs: ['x', 'fc.weight'], outputs: ['h'], attrs: {}, layer: 'fc' });
  g.nodes.push({ id: 'add', name: '/fc/Add', opType: 'Add', domain: '', inputs: ['h', 'fc.bias'], outputs: ['y'], attrs: {}, layer: 'fc' });
  return { path: '', irVersion: 8, opsets: { '': 17 }, producerName: 'test', producerVersion: '', modelVersion: 0, docString: '', metadata: {}, graph: g, warnings: [] };
}

/** Loss and gradients of mean((xW + b − t)²), by hand in float64. */
function lossAndGrads(w: Float64Array, b: Float64Array): { loss: number; gw: Float64Array; gb: Float64Array } {
  const gw = new Float64Array(IN * OUT), gb = new Float64Array(OUT);
  let loss = 0;
  for (let n = 0; n < N; n++) for (let o = 0; o < OUT; o++) {
    let y = b[o];
    for (let i = 0; i < IN; i++) y += X[n * IN + i] * w[i * OUT + o];
    const r = y - T[n * OUT + o];
    loss += r * r;
    const d = (2 * r) / (N * OUT);
    gb[o] += d;
    for (let i = 0; i < IN; i++) gw[i * OUT + o] += X[n * IN + i] * d;
  }
  return { loss: loss / (N * OUT), gw, gb };
}

/** torch.optim.SGD / Adam / AdamW for one parameter, as in torch/optim/{sgd,adam,adamw}.py (single tensor). */
function referenceStepper(spec: OptimizerSpec) {
  const state = new Map<string, { buf?: Float64Array; m?: Float64Array; v?: Float64Array }>();
  let t = 0;
  return {
    beginStep: () => void t++,
    update(name: string, p: Float64Array, g: Float64Array): void {
      const s = state.get(name) ?? {};
      state.set(name, s);
      if (spec.kind === 'sgd') {
        const { lr, momentum = 0, dampening = 0, nesterov = false, weightDecay = 0 } = spec;
        const d = g.map((gi, i) => gi + weightDecay * p[i]);
        if (momentum !== 0) {
          if (!s.buf) s.buf = Float64Array.from(d);
          else for (let i = 0; i < d.length; i++) s.buf[i] = momentum * s.buf[i] + (1 - dampening) * d[i];
          for (let i = 0; i < d.length; i++) d[i] = nesterov ? d[i] + momentum * s.buf[i] : s.buf[i];
        }
        for (let i = 0; i < p.length; i++) p[i] -= lr * d[i];
        return;
      }
      const { lr, beta1 = 0.9, beta2 = 0.999, eps = 1e-8 } = spec;
      const wd = spec.weightDecay ?? (spec.kind === 'adamw' ? 0.01 : 0);
      s.m ??= new Float64Array(p.length);
      s.v ??= new Float64Array(p.length);
      const grad = Float64Array.from(g);
      if (spec.kind === 'adamw') for (let i = 0; i < p.length; i++) p[i] *= 1 - lr * wd;
      else for (let i = 0; i < p.length; i++) grad[i] += wd * p[i];
      const bc1 = 1 - beta1 ** t, bc2 = 1 - beta2 ** t;
      for (let i = 0; i < p.length; i++) {
        s.m[i] = beta1 * s.m[i] + (1 - beta1) * grad[i];
        s.v[i] = beta2 * s.v[i] + (1 - beta2) * grad[i] * grad[i];
        const denom = Math.sqrt(s.v[i]) / Math.sqrt(bc2) + eps;
        p[i] -= (lr / bc1) * (s.m[i] / denom);
      }
    },
  };
}

const specs: [string, OptimizerSpec][] = [
  ['SGD', { kind: 'sgd', lr: 0.1 }],
  ['SGD weight decay', { kind: 'sgd', lr: 0.1, weightDecay: 0.05 }],
  ['SGD momentum', { kind: 'sgd', lr: 0.1, momentum: 0.9 }],
  ['SGD momentum + dampening', { kind: 'sgd', lr: 0.1, momentum: 0.8, dampening: 0.3 }],
  ['SGD nesterov + weight decay', { kind: 'sgd', lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 0.01 }],
  ['Adam', { kind: 'adam', lr: 0.01 }],
  ['Adam L2 weight decay, custom betas', { kind: 'adam', lr: 0.02, beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: 0.1 }],
  ['AdamW (default decoupled weight decay 0.01)', { kind: 'adamw', lr: 0.01 }],
  ['AdamW weight decay 0.1', { kind: 'adamw', lr: 0.05, weightDecay: 0.1 }],
];

for (const [name, spec] of specs) {
  test(`optimizer: ${name} equals torch.optim over 6 steps`, () => {
    const tg = buildTrainingGraph(linearModel(), { loss: { kind: 'mse' }, optimizer: spec });
    assert.equal(phaseNodes(tg, 'optimizer').filter((n) => n.domain === 'pockengine').length, 2, 'one update node per parameter');
    const session = new TrainingSession(tg);
    const feeds = new Map<string, Tensor>([['x', tensor('float32', [N, IN], Float32Array.from(X))], [tg.loss.target, tensor('float32', [N, OUT], Float32Array.from(T))]]);
    const w = Float64Array.from(W0), b = Float64Array.from(B0);
    const ref = referenceStepper(spec);
    for (let step = 1; step <= 6; step++) {
      const { loss, gw, gb } = lossAndGrads(w, b);
      const got = session.step(feeds);
      assert.ok(Math.abs(got - loss) <= 1e-6 * Math.abs(loss) + 1e-7, `step ${step}: loss ${got} vs ${loss}`);
      ref.beginStep();
      ref.update('fc.weight', w, gw);
      ref.update('fc.bias', b, gb);
      for (const [p, want] of [['fc.weight', w], ['fc.bias', b]] as const) {
        const have = session.params.get(p)!.data as Float32Array;
        for (let i = 0; i < want.length; i++) {
          assert.ok(Math.abs(have[i] - want[i]) <= 1e-5 * Math.abs(want[i]) + 1e-6, `${name}, step ${step}: ${p}[${i}] = ${have[i]}, torch.optim gives ${want[i]}`);
        }
      }
    }
    // State tensors are graph values: the step count and one buffer per parameter where the rule keeps one.
    const kinds = tg.state.map((s) => s.kind).sort();
    const expect = spec.kind === 'sgd' ? ((spec.momentum ?? 0) ? ['momentum_buffer', 'momentum_buffer', 'step'] : []) : ['exp_avg', 'exp_avg', 'exp_avg_sq', 'exp_avg_sq', 'step'];
    assert.deepEqual(kinds, expect);
    for (const s of tg.state) assert.ok(tg.graph.inputs.includes(s.name) && tg.graph.outputs.includes(s.next));
  });
}
