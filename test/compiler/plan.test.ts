import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Graph, Node } from '../../src/compiler/ir/graph';
import type { TrainingGraph } from '../../src/compiler/train/trainingGraph';
import type { Phase } from '../../src/compiler/train/builder';
import { valueSizer } from '../../src/compiler/plan/bytes';
import { checkPlan, planMemory } from '../../src/compiler/plan/memoryPlan';
import type { StepProgram } from '../../src/compiler/passes/program';

// A hand-made step small enough to plan on paper (float32, 1000 elements = 4000 B):
//   0 forward   a = Mul(x, w)          x: data input, w: trainable parameter
//   1 forward   r = Relu(a)            in place over a (a dies here); ReLU mask saved for backward
//   2 loss      loss = ReduceSum(r)    4 B, a step output (lives to the end)
//   3 backward  dr = Seed(loss)
//   4 backward  da = ReluGrad(dr, r)   reads r only as a mask; in place over dr
//   5 backward  dw = Mul(da, x)        the gradient of w; in place over da
//   6 optimizer w.next = SGD(w, dw)    in place over w
function step(): StepProgram {
  const f = (shape: number[]) => ({ dtype: 'float32' as const, shape });
  const values = new Map<string, { name: string; type: ReturnType<typeof f> }>();
  for (const v of ['x', 'w', 'a', 'r', 'dr', 'da', 'dw', 'w.next']) values.set(v, { name: v, type: f([1000]) });
  values.set('loss', { name: 'loss', type: f([]) });
  const nodes: Node[] = [];
  const phase = new Map<string, Phase>();
  const add = (id: string, op: string, inputs: string[], outputs: string[], ph: Phase, domain = '') => {
    nodes.push({ id, name: id, opType: op, domain, inputs, outputs, attrs: {}, layer: '' });
    phase.set(id, ph);
  };
  add('mul', 'Mul', ['x', 'w'], ['a'], 'forward');
  add('relu', 'Relu', ['a'], ['r'], 'forward');
  add('sum', 'ReduceSum', ['r'], ['loss'], 'loss');
  add('seed', 'Seed', ['loss'], ['dr'], 'backward', 'pockengine');
  add('relugrad', 'ReluGrad', ['dr', 'r'], ['da'], 'backward', 'pockengine');
  add('mulgrad', 'Mul', ['da', 'x'], ['dw'], 'backward');
  add('sgd', 'SGD', ['w', 'dw'], ['w.next'], 'optimizer', 'pockengine');
  const graph = {
    name: 'hand', nodes, values, inputs: ['x'], outputs: ['loss', 'w.next'],
    initializers: new Map([['w', { name: 'w', dtype: 'float32', dims: [1000], source: { kind: 'inline', proto: {} } }]]),
  } as unknown as Graph;
  const tg = {
    graph, opsets: { '': 17 }, ann: { phase, forwardOf: new Map(), backwardOf: new Map() }, params: ['w'], trainable: ['w'],
    grads: new Map([['w', 'dw']]), updated: new Map([['w', 'w.next']]), state: [], bufferUpdates: new Map(), dataInputs: ['x'],
  } as unknown as TrainingGraph;
  return { tg, order: nodes, prologue: [], movedBy: new Map(), removed: new Map(), sizer: valueSizer(graph) };
}

test('hand-checked plan: in-place results, a bit-packed mask, categories, timeline and arena', () => {
  const plan = planMemory(step());
  assert.deepEqual(checkPlan(plan), []);
  const t = Object.fromEntries(plan.tensors.map((x) => [x.name, x]));
  // Planned tensors: x, w (whole step), a (holding r), r#mask, loss, dr (holding da and dw).
  assert.deepEqual(Object.keys(t).sort(), ['a', 'dr', 'loss', 'r#mask', 'w', 'x']);
  assert.deepEqual(t.w.aliases, ['w.next']);
  assert.deepEqual(t.a.aliases, ['r']);
  assert.deepEqual(t.dr.aliases?.slice().sort(), ['da', 'dw']);
  assert.deepEqual([t.a.firstStep, t.a.lastStep], [0, 2]);
  assert.deepEqual([t['r#mask'].firstStep, t['r#mask'].lastStep, t['r#mask'].bytes], [1, 4, 125]);
  assert.deepEqual([t.loss.firstStep, t.loss.lastStep], [2, 6]);
  assert.deepEqual([t.dr.firstStep, t.dr.lastStep], [3, 6]);
  assert.equal(t.w.category, 'trainable-param');
  assert.equal(t.x.category, 'input');
  assert.equal(t.a.category, 'temporary');
  assert.equal(t['r#mask'].category, 'activation');
  assert.equal(t.dr.category, 'gradient');
  // Live bytes per step: 8000 persistent + a (steps 0-2) + mask 125 (1-4) + loss 4 (2-6) + dr (3-6).
  assert.deepEqual(plan.timeline.map((p) => p.bytes), [12000, 12125, 12129, 12129, 12129, 12004, 12004]);
  assert.equal(plan.liveBytesPeak, 12129);
  assert.equal(plan.liveBytesPeakStep, 2);
  // The loss is read by backward (the seed), so it counts as saved for backward like the mask.
  assert.deepEqual(plan.timeline[2].byCategory, { input: 4000, 'trainable-param': 4000, temporary: 4000, activation: 129 });
  // Arena, 64-byte aligned: x, w stacked (2 x 4032); a and dr share 8064..12096 (disjoint in time);
  // the mask at 12096 (128 B), loss above it (64 B): 12288.
  assert.equal(t.a.offset, 8064);
  assert.equal(t.dr.offset, 8064);
  assert.equal(t['r#mask'].offset, 12096);
  assert.equal(t.loss.offset, 12224);
  assert.equal(plan.arenaBytes, 12288);
  assert.equal(plan.peakBytes, plan.arenaBytes);
});

test('hand-checked plan without mask packing or in-place elementwise operators', () => {
  const plan = planMemory(step(), { bitPackMasks: false, inPlaceElementwise: false });
  assert.deepEqual(checkPlan(plan), []);
  const t = Object.fromEntries(plan.tensors.map((x) => [x.name, x]));
  // r is now saved whole until ReluGrad (step 4); every value is its own tensor.
  assert.equal(t.r.category, 'activation');
  assert.deepEqual([t.r.firstStep, t.r.lastStep], [1, 4]);
  // step 1: x, w, a, r = 16000; step 4: x, w, r, loss, dr, da = 20004; step 5: x, w, loss, da, dw.
  assert.deepEqual(plan.timeline.map((p) => p.bytes), [12000, 16000, 12004, 16004, 20004, 16004, 12004]);
  assert.equal(plan.liveBytesPeak, 20004);
  assert.ok(plan.arenaBytes >= plan.liveBytesPeak);
});

test('an update runs in place only after every other reader of the old parameter', () => {
  const p = step();
  // Let the input gradient read w after the update: the update can no longer overwrite w.
  const late: Node = { id: 'late', name: 'late', opType: 'Mul', domain: '', inputs: ['dr', 'w'], outputs: ['dx'], attrs: {}, layer: '' };
  p.tg.graph.values.set('dx', { name: 'dx', type: { dtype: 'float32', shape: [1000] } });
  p.tg.ann.phase.set('late', 'backward');
  p.order = [...p.order, late];
  const plan = planMemory(p);
  assert.equal(plan.aliasOf.get('w.next'), undefined);
  const wNext = plan.tensors.find((x) => x.name === 'w.next')!;
  assert.deepEqual([wNext.firstStep, wNext.lastStep], [6, 7]);
  assert.deepEqual(checkPlan(plan), []);
});
