// The shape of the compiled training graph: phases, readable backward nodes tied to the forward nodes they
// differentiate, gradient accumulation for shared weights, only the backward a trainable set needs, frozen
// BatchNorm, and a clear report when an operator has no gradient rule.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { loadModel } from '../../src/compiler/loadModel';
import { buildTrainingGraph, phaseNodes } from '../../src/compiler/train/trainingGraph';
import { computeGradients } from '../../src/compiler/train/session';
import { readBatch } from '../../src/compiler/train/data';
import type { Graph, Model } from '../../src/compiler/ir/graph';
import { tensor } from '../../src/compiler/ir/tensor';
import { tensorToInitializer } from '../../src/compiler/onnx/encode';
import { attrs } from '../../src/compiler/train/builder';

const fixtures = path.resolve(__dirname, '..', '..', '..', 'shared', 'fixtures');
const load = (m: string, f = 'model.onnx') => loadModel(path.join(fixtures, m, f));

test('training graph: every node has a phase; backward nodes are named, layered and linked to their forward node', () => {
  const { model, layers } = load('mobilenetv2_035');
  const tg = buildTrainingGraph(model, { optimizer: { kind: 'sgd', lr: 0.01 }, paramLayer: (p) => layers.paramLayer.get(p) ?? '' });
  const byId = new Map(tg.graph.nodes.map((n) => [n.id, n]));
  for (const n of tg.graph.nodes) assert.ok(tg.ann.phase.has(n.id), `${n.id} has a phase`);
  assert.equal(tg.nodeCount.forward, model.graph.nodes.length);
  assert.equal(tg.nodeCount.optimizer, tg.trainable.length);
  for (const n of phaseNodes(tg, 'backward')) {
    assert.ok(n.id.startsWith('grad/'), `${n.id} is readable`);
    const f = tg.ann.forwardOf.get(n.id);
    if (f === undefined) continue; // gradient accumulation of a parameter
    assert.ok(tg.ann.backwardOf.get(f)!.includes(n.id));
    assert.equal(n.layer, byId.get(f)!.layer, `${n.id} sits in its forward node's layer`);
  }
  // Every Conv with a trainable weight has its weight gradient; the first Conv reads the data, which needs none.
  const convs = tg.graph.nodes.filter((n) => n.opType === 'Conv' && tg.ann.phase.get(n.id) === 'forward');
  for (const c of convs) assert.ok(tg.ann.backwardOf.get(c.id)!.some((b) => byId.get(b)!.opType === 'ConvGradWeight'), `${c.id} has ConvGradWeight`);
  const first = convs[0];
  assert.ok(!tg.ann.backwardOf.get(first.id)!.some((b) => byId.get(b)!.opType === 'ConvGradInput'), 'no input gradient for the first layer');
  assert.ok(tg.ann.backwardOf.get(first.id)!.some((b) => b.startsWith('grad/features.0.0/')), `ids carry the layer: ${tg.ann.backwardOf.get(first.id)}`);
});

test('training graph: the tied embedding of tiny_llama accumulates its two gradient paths with a Sum node', () => {
  const { model } = load('tiny_llama');
  const tg = buildTrainingGraph(model);
  const g = tg.grads.get('tok_embeddings.weight')!;
  const sum = tg.graph.nodes.find((n) => n.outputs.includes(g))!;
  assert.equal(sum.opType, 'Sum');
  assert.equal(sum.inputs.length, 2);
  const producers = sum.inputs.map((v) => tg.graph.nodes.find((n) => n.outputs.includes(v))!.opType).sort();
  assert.deepEqual(producers, ['GatherGrad', 'Transpose']);
});

test('training graph: a frozen prefix gets no backward nodes at all', () => {
  const { model } = load('mobilenetv2_035');
  const tg = buildTrainingGraph(model, { trainable: (p) => p.startsWith('classifier.') });
  assert.deepEqual(tg.trainable.sort(), ['classifier.1.bias', 'classifier.1.weight']);
  const ops = phaseNodes(tg, 'backward').map((n) => n.opType);
  assert.ok(!ops.includes('ConvGradInput') && !ops.includes('ConvGradWeight') && !ops.includes('BatchNormGrad'), `backward ops: ${ops}`);
  assert.ok(ops.length <= 3, `only the classifier's Gemm and the loss are differentiated: ${ops}`);
});

test('training graph: frozen BatchNorm uses running statistics forward and backward', () => {
  const { model } = load('cnn_small');
  const tg = buildTrainingGraph(model, { batchNorm: 'frozen' });
  const bns = tg.graph.nodes.filter((n) => n.opType === 'BatchNormalization');
  assert.ok(bns.length === 3 && bns.every((n) => n.outputs.length === 1));
  const grads = tg.graph.nodes.filter((n) => n.opType === 'BatchNormGrad');
  assert.ok(grads.length === 3 && grads.every((n) => n.attrs.training_mode?.value === 0 && n.inputs.length === 5));
  const { loss, grads: g } = computeGradients(tg, readBatch(path.join(fixtures, 'cnn_small', 'test_data'), tg));
  assert.ok(Number.isFinite(loss) && g.size === 11);
  assert.ok([...g.values()].every((t) => [...(t.data as Float32Array)].every(Number.isFinite)));
});

function tinyModel(withElu: boolean): Model {
  const g: Graph = { name: 't', nodes: [], values: new Map(), inputs: ['x'], outputs: ['logits'], initializers: new Map() };
  const init = (name: string, dims: number[], dtype: 'float32' | 'int64' = 'float32'): void => {
    const n = dims.reduce((p, d) => p * d, 1);
    const t = dtype === 'int64' ? tensor('int64', dims, BigInt64Array.from({ length: n }, () => 1n)) : tensor('float32', dims, Float32Array.from({ length: n }, (_, i) => Math.sin(i + name.length)));
    g.initializers.set(name, tensorToInitializer(name, t));
    g.values.set(name, { name, type: { dtype, shape: dims } });
  };
  init('fc1.weight', [5, 4]);
  init('fc1.bias', [5]);
  init('fc2.weight', [3, 5]);
  init('fc2.bias', [3]);
  g.values.set('x', { name: 'x', type: { dtype: 'float32', shape: [2, 4] } });
  const node = (id: string, op: string, inputs: string[], out: string, a = {}): void => {
    g.nodes.push({ id, name: id, opType: op, domain: '', inputs, outputs: [out], attrs: a, layer: id.split('/')[1] });
    g.values.set(out, { name: out, type: null });
  };
  node('/fc1/Gemm', 'Gemm', ['x', 'fc1.weight', 'fc1.bias'], 'h', { transB: attrs.int(1) });
  if (withElu) node('/mid/Elu', 'Elu', ['h'], 'h2');
  node('/fc2/Gemm', 'Gemm', [withElu ? 'h2' : 'h', 'fc2.weight', 'fc2.bias'], 'logits', { transB: attrs.int(1) });
  return { path: '', irVersion: 8, opsets: { '': 17 }, producerName: 't', producerVersion: '', modelVersion: 0, docString: '', metadata: {}, graph: g, warnings: [] };
}

test('training graph: an operator without a gradient rule is reported by type and node, and the rest still trains', () => {
  const tg = buildTrainingGraph(tinyModel(true));
  assert.equal(tg.issues.length, 1);
  const issue = tg.issues[0];
  assert.equal(issue.opType, 'Elu');
  assert.equal(issue.node, '/mid/Elu');
  assert.deepEqual(issue.params, ['fc1.bias', 'fc1.weight']);
  assert.match(issue.message, /Elu.*\/mid\/Elu.*fc1\.bias, fc1\.weight/);
  assert.deepEqual([...tg.grads.keys()].sort(), ['fc2.bias', 'fc2.weight']);
  const feeds = new Map([['x', tensor('float32', [2, 4], Float32Array.of(1, 2, 3, 4, -1, 0, 1, 0.5))], [tg.loss.target, tensor('int64', [2], BigInt64Array.of(0n, 2n))]]);
  const partial = computeGradients(tg, feeds);
  // With fc1 frozen nothing needs Elu's gradient: no issue, and the same fc2 gradients.
  const frozen = buildTrainingGraph(tinyModel(true), { trainable: (p) => p.startsWith('fc2.') });
  assert.deepEqual(frozen.issues, []);
  const full = computeGradients(frozen, feeds);
  assert.equal(partial.loss, full.loss);
  for (const p of ['fc2.weight', 'fc2.bias']) assert.deepEqual(partial.grads.get(p)!.data, full.grads.get(p)!.data);
});

test('training graph: mean-squared error is the alternative loss', () => {
  const { model } = load('mlp');
  const tg = buildTrainingGraph(model, { loss: { kind: 'mse' } });
  assert.deepEqual(phaseNodes(tg, 'loss').map((n) => n.opType), ['Sub', 'Mul', 'ReduceMean']);
  const target = tensor('float32', [4, 10], Float32Array.from({ length: 40 }, (_, i) => (i % 10) / 10));
  const feeds = readBatch(path.join(fixtures, 'mlp', 'test_data'), buildTrainingGraph(model));
  feeds.set(tg.loss.target, target);
  feeds.delete('labels');
  const { loss, grads } = computeGradients(tg, feeds);
  assert.ok(loss > 0 && grads.size === 6);
});

test('training graph: a form of an operator a rule does not handle is reported like a missing rule', () => {
  const m = tinyModel(false);
  const g = m.graph;
  // logits = MatMul(v, fc1.weight) with a 1-D v = fc2.bias (a parameter): numpy vector promotion.
  g.nodes = [{ id: '/vec/MatMul', name: '/vec/MatMul', opType: 'MatMul', domain: '', inputs: ['fc2.bias', 'fc2.weight'], outputs: ['logits'], attrs: {}, layer: 'vec' }];
  const tg = buildTrainingGraph(m);
  assert.equal(tg.issues.length, 1);
  assert.match(tg.issues[0].message, /MatMul with a 1-D operand.*\/vec\/MatMul.*fc2\.bias, fc2\.weight/);
  assert.equal(tg.grads.size, 0);
  assert.ok(!tg.graph.nodes.some((n) => n.id.startsWith('grad/vec/')), 'half-built backward nodes are removed');
});

test('training graph: the LLaMA-2-7B-shaped model compiles (every operator differentiable) in about a second', async () => {
  const { buildLlama } = await import('../../src/compiler/samples/llama');
  const { inferShapes } = await import('../../src/compiler/ir/inferShapes');
  const { buildLayerTree } = await import('../../src/compiler/ir/layers');
  const model = buildLlama();
  inferShapes(model);
  const layers = buildLayerTree(model.graph);
  const times: number[] = [];
  let tg = buildTrainingGraph(model, { optimizer: { kind: 'adamw', lr: 1e-4 }, paramLayer: (p) => layers.paramLayer.get(p) ?? '' });
  for (let k = 0; k < 3; k++) {
    const t0 = performance.now();
    tg = buildTrainingGraph(model, { optimizer: { kind: 'adamw', lr: 1e-4 }, paramLayer: (p) => layers.paramLayer.get(p) ?? '' });
    times.push(performance.now() - t0);
  }
  const best = Math.min(...times);
  console.log(`LLaMA-2-7B-shaped: training graph (loss + autodiff + AdamW) ${best.toFixed(0)} ms; nodes ${JSON.stringify(tg.nodeCount)}; ${tg.trainable.length} parameters`);
  assert.deepEqual(tg.issues, []);
  assert.equal(tg.grads.size, tg.params.length);
  assert.ok(best < 2000, `building took ${best} ms`);
});
