import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { loadModel, type LoadedModel } from '../../src/compiler/loadModel';
import { applyScheme } from '../../src/compiler/sparse/applyScheme';
import { presetScheme } from '../../src/compiler/sparse/presets';
import type { Scheme } from '../../src/compiler/sparse/scheme';
import { readBatch } from '../../src/compiler/train/data';
import { TrainingSession } from '../../src/compiler/train/session';
import type { OptimizerSpec } from '../../src/compiler/train/optimizer';
import { runPasses, PASS_NAMES, scheduledGraph, type PassName, type StepProgram } from '../../src/compiler/passes';
import { deadCode } from '../../src/compiler/passes/deadCode';
import { weightSideNodes } from '../../src/compiler/passes/reorderWeightGradFirst';
import { valueSizer } from '../../src/compiler/plan/bytes';
import { scheduleNodes } from '../../src/compiler/runtime';
import type { Tensor } from '../../src/compiler/ir/tensor';

const fixtures = path.resolve(__dirname, '..', '..', '..', 'shared', 'fixtures');
const cache = new Map<string, LoadedModel>();
const load = (m: string) => cache.get(m) ?? cache.set(m, loadModel(path.join(fixtures, m, 'model.onnx'))).get(m)!;

const REORDER: PassName[] = ['dead-code', 'reorder-weight-grad-first', 'reorder-optimizer-updates'];

/** One optimizer step with the nodes run in the program's order; parameters, state and loss after it. */
function runStep(p: StepProgram, feeds: Map<string, Tensor>): { loss: number; out: Map<string, Tensor> } {
  const graph = scheduledGraph(p);
  // The runtime keeps a valid node order as written, so it executes exactly the schedule.
  const wanted = [...graph.outputs];
  const ran = scheduleNodes(graph, wanted, (v) => feeds.has(v) || graph.initializers.has(v) || p.tg.state.some((s) => s.name === v));
  const order = [...p.prologue, ...p.order].filter((n) => ran.includes(n));
  assert.deepEqual(ran.map((n) => n.id), order.map((n) => n.id));
  const session = new TrainingSession({ ...p.tg, graph });
  const loss = session.step(feeds);
  const out = new Map<string, Tensor>([...session.params, ...session.state, ...session.buffers]);
  return { loss, out };
}

function compareExact(a: Map<string, Tensor>, b: Map<string, Tensor>): void {
  assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
  for (const [k, t] of a) assert.deepEqual(b.get(k)!.data, t.data, `${k} differs`);
}

function compareClose(a: Map<string, Tensor>, b: Map<string, Tensor>, rel: number): void {
  for (const [k, t] of a) {
    const u = b.get(k)!.data as Float32Array, v = t.data as Float32Array;
    let scale = 0, err = 0;
    for (let i = 0; i < v.length; i++) { scale = Math.max(scale, Math.abs(Number(v[i]))); err = Math.max(err, Math.abs(Number(u[i]) - Number(v[i]))); }
    assert.ok(err <= rel * scale + 1e-7, `${k}: max error ${err} vs scale ${scale}`);
  }
}

const cases: { model: string; scheme: (l: LoadedModel) => Scheme; optimizer: OptimizerSpec }[] = [
  { model: 'mlp', scheme: () => ({ default: 'full', batchnorm: 'train', rules: [] }), optimizer: { kind: 'sgd', lr: 0.01, momentum: 0.9 } },
  { model: 'cnn_small', scheme: () => ({ default: 'full', batchnorm: 'train', rules: [] }), optimizer: { kind: 'sgd', lr: 0.01 } },
  { model: 'cnn_small', scheme: (l) => ({ ...presetScheme('last-2', l.model.graph, l.layers)!, batchnorm: 'frozen' }), optimizer: { kind: 'adam', lr: 0.001 } },
  { model: 'tiny_llama', scheme: (l) => presetScheme('last-1', l.model.graph, l.layers)!, optimizer: { kind: 'adamw', lr: 0.001 } },
  { model: 'mobilenetv2_035', scheme: (l) => ({ ...presetScheme('last-2', l.model.graph, l.layers)!, batchnorm: 'frozen' }), optimizer: { kind: 'sgd', lr: 0.01 } },
];

for (const c of cases) {
  test(`${c.model} (${c.optimizer.kind}): the same step with and without every pass`, () => {
    const l = load(c.model);
    const { tg } = applyScheme(l, c.scheme(l), { optimizer: c.optimizer });
    const sizer = valueSizer(tg.graph);
    const feeds = readBatch(path.join(fixtures, c.model, 'test_data'), tg);
    const base = runStep(runPasses(tg, new Set(), sizer), feeds);
    const reordered = runPasses(tg, new Set(REORDER), sizer);
    assert.ok(reordered.movedBy.size > 0, 'reordering moved nothing: the comparison would prove nothing');
    const r = runStep(reordered, feeds);
    // Reordering changes no arithmetic: bit-for-bit the same parameters, optimizer state and loss.
    assert.equal(r.loss, base.loss);
    compareExact(base.out, r.out);
    const all = runPasses(tg, new Set(PASS_NAMES), sizer);
    const a = runStep(all, feeds);
    const rewritesNorm = [...all.removed.values()].some((x) => x.includes('BatchNorm'));
    if (rewritesNorm) {
      // Folded frozen BatchNorm gradients compute in float32 what BatchNormGrad computes in float64.
      assert.ok(Math.abs(a.loss - base.loss) <= 1e-6 * Math.abs(base.loss));
      compareClose(base.out, a.out, 1e-5);
    } else {
      assert.equal(a.loss, base.loss);
      compareExact(base.out, a.out);
    }
  });
}

test('reorder-optimizer-updates: each update right after its gradient and the last reader of the old weight', () => {
  const l = load('mlp');
  const { tg } = applyScheme(l, { default: 'full', batchnorm: 'train', rules: [] }, { optimizer: { kind: 'sgd', lr: 0.01 } });
  const p = runPasses(tg, new Set<PassName>(['reorder-optimizer-updates']), valueSizer(tg.graph));
  const pos = new Map(p.order.map((n, i) => [n.id, i]));
  const producer = new Map(p.order.flatMap((n) => n.outputs.map((o) => [o, n] as const)));
  let checked = 0;
  for (const [param, next] of tg.updated) {
    const upd = producer.get(next)!;
    const deps = [producer.get(tg.grads.get(param)!)!, ...p.order.filter((n) => n !== upd && n.inputs.includes(param))];
    const after = Math.max(...deps.map((d) => pos.get(d.id)!));
    // Nothing but other updates between the last dependency and the update.
    for (let i = after + 1; i < pos.get(upd.id)!; i++) assert.equal(tg.ann.phase.get(p.order[i].id), 'optimizer');
    assert.ok(pos.get(upd.id)! > after);
    checked++;
  }
  assert.equal(checked, 6);
  // The default schedule had every update after the whole backward pass.
  assert.ok(p.movedBy.size >= 5);
});

test('weight-side nodes are exactly the backward nodes that feed only parameter gradients', () => {
  const l = load('mlp');
  const { tg } = applyScheme(l, { default: 'full', batchnorm: 'train', rules: [] }, { optimizer: { kind: 'sgd', lr: 0.01 } });
  const p = runPasses(tg, new Set(), valueSizer(tg.graph));
  const side = weightSideNodes(p);
  const grads = new Set(tg.grads.values());
  // MLP: 3 Gemm layers -> 3 weight gradients and 3 bias gradients; input gradients are not weight-side.
  assert.equal(side.size, 6);
  for (const n of side) assert.ok(n.outputs.some((o) => grads.has(o)), `${n.id} does not make a gradient`);
  assert.ok(p.order.some((n) => tg.ann.phase.get(n.id) === 'backward' && !side.has(n)));
});

test('dead-code removes what reaches no step output and says why', () => {
  const l = load('mlp');
  const { tg } = applyScheme(l, { default: 'full', batchnorm: 'train', rules: [] }, { optimizer: { kind: 'sgd', lr: 0.01 } });
  const p = runPasses(tg, new Set(), valueSizer(tg.graph));
  const orphan = { id: 'orphan', name: 'orphan', opType: 'Relu', domain: '', inputs: [p.order[0].outputs[0]], outputs: ['orphan_out'], attrs: {}, layer: '' };
  const out = deadCode.run({ ...p, order: [...p.order, orphan] });
  assert.equal(out.order.length, p.order.length);
  assert.match(out.removed.get('orphan')!, /dead code/);
});
