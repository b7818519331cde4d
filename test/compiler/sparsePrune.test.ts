// Pruning is exact: for random schemes (fixed seed) on every fixture, the pruned step keeps exactly the
// backward and optimizer nodes that some trainable parameter's gradient or update is computed from,
// checked against a reachability computed here independently (forward over consumers, where the pruner
// walks backward from the roots). The pruned graph is well formed, has no dead node, and its values have
// the types the runtime computes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadModel, type LoadedModel } from '../../src/compiler/loadModel';
import { applyScheme } from '../../src/compiler/sparse/applyScheme';
import { savedForBackward } from '../../src/compiler/sparse/prune';
import { phaseTotals, stepFlops } from '../../src/compiler/sparse/cost';
import type { LayerUpdate, Scheme } from '../../src/compiler/sparse/scheme';
import { presetScheme } from '../../src/compiler/sparse/presets';
import type { OptimizerSpec } from '../../src/compiler/train/optimizer';
import { readBatch } from '../../src/compiler/train/data';
import { TrainingSession } from '../../src/compiler/train/session';
import { execute } from '../../src/compiler/runtime/execute';
import { isStatic } from '../../src/compiler/ir/shape';
import { seededRandom as rng } from '../../src/compiler/util/random';

type SparseTraining = ReturnType<typeof applyScheme>;

const fixtures = path.resolve(__dirname, '..', '..', '..', 'shared', 'fixtures');
const models = fs.readdirSync(fixtures).filter((d) => fs.existsSync(path.join(fixtures, d, 'model.onnx'))).sort();
const SCHEMES = 20;
/** How many of the random schemes per model also run in the reference runtime (type check). */
const RUN: Record<string, number> = { mlp: 20, tiny_llama: 20, cnn_small: 4, mobilenetv2_035: 2 };


function randomScheme(loaded: LoadedModel, rand: () => number): Scheme {
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)];
  const updates: LayerUpdate[] = ['frozen', 'bias', 'full', { channels: 0.5 }, { channels: 0.25 }, { channels: 0.9 }];
  const layers = [...loaded.layers.layers.entries()].filter(([id, l]) => id !== '' && l.params.length > 0).map(([id]) => id);
  const rules = layers.filter(() => rand() < 0.4).map((match) => ({ match, update: pick(updates) }));
  // Now and then a rule by parameter name, or a whole prefix.
  if (rand() < 0.3) rules.push({ match: '*.bias', update: pick(['frozen', 'full'] as LayerUpdate[]) });
  return { default: pick(['frozen', 'bias', 'full', 'frozen'] as LayerUpdate[]), batchnorm: rand() < 0.5 ? 'train' : 'frozen', rules };
}

function randomOptimizer(rand: () => number): OptimizerSpec | undefined {
  const k = Math.floor(rand() * 4);
  if (k === 0) return undefined;
  if (k === 1) return { kind: 'sgd', lr: 0.01 };
  if (k === 2) return { kind: 'sgd', lr: 0.01, momentum: 0.9 };
  return { kind: 'adam', lr: 0.001 };
}

const isStep = (st: SparseTraining, id: string): boolean => ['backward', 'optimizer'].includes(st.full.ann.phase.get(id) ?? '');

/** Step nodes of `full` from whose outputs a trainable parameter's gradient or update is reachable. */
function independentlyNeeded(st: SparseTraining): Set<string> {
  const { full } = st;
  const trainable = full.params.filter((p) => st.updates.get(p)?.trainable);
  const targets = new Set<string>();
  const optimizer = full.updated.size > 0;
  let any = false;
  for (const p of trainable) {
    if (!full.grads.has(p)) continue;
    any = true;
    if (optimizer) {
      targets.add(full.updated.get(p)!);
      for (const s of full.state) if (s.param === p) targets.add(s.next);
    } else targets.add(full.grads.get(p)!);
  }
  if (any) for (const s of full.state) if (s.param === '') targets.add(s.next);
  const consumers = new Map<string, string[]>();
  for (const n of full.graph.nodes) for (const i of n.inputs) if (i) consumers.set(i, [...(consumers.get(i) ?? []), n.id]);
  const byId = new Map(full.graph.nodes.map((n) => [n.id, n]));
  const memo = new Map<string, boolean>();
  const reaches = (id: string): boolean => {
    const hit = memo.get(id);
    if (hit !== undefined) return hit;
    memo.set(id, false);
    const n = byId.get(id)!;
    const r = n.outputs.some((o) => o && (targets.has(o) || (consumers.get(o) ?? []).some((c) => isStep(st, c) && reaches(c))));
    memo.set(id, r);
    return r;
  };
  return new Set(full.graph.nodes.filter((n) => isStep(st, n.id) && reaches(n.id)).map((n) => n.id));
}

function checkExact(st: SparseTraining, label: string): void {
  const needed = independentlyNeeded(st);
  const fullIds = new Set(st.full.graph.nodes.map((n) => n.id));
  const tgStep = st.tg.graph.nodes.filter((n) => fullIds.has(n.id) && isStep(st, n.id)).map((n) => n.id);
  const gone = [...needed].filter((id) => !tgStep.includes(id));
  const dead = tgStep.filter((id) => !needed.has(id));
  assert.deepEqual(gone, [], `${label}: needed nodes pruned`);
  assert.deepEqual(dead, [], `${label}: dead nodes kept`);
  // Forward and loss nodes all stay; the pruned map lists exactly the other step nodes, each with a reason.
  for (const n of st.full.graph.nodes) if (!isStep(st, n.id)) assert.ok(st.tg.graph.nodes.some((m) => m.id === n.id), `${label}: forward node ${n.id} kept`);
  const prunedIds = st.full.graph.nodes.filter((n) => isStep(st, n.id) && !needed.has(n.id)).map((n) => n.id).sort();
  assert.deepEqual([...st.pruned.keys()].sort(), prunedIds, `${label}: pruned map`);
  for (const [id, why] of st.pruned) assert.ok(why.length > 10 && !why.includes('undefined'), `${label}: reason for ${id}: ${why}`);
  // Nodes tg adds are the channel slices, and only when some weight trains by channels.
  const added = st.tg.graph.nodes.filter((n) => !fullIds.has(n.id));
  for (const n of added) assert.ok(n.opType === 'Slice' && /\/channels(_\d+)?$/.test(n.id) && st.channels.length > 0, `${label}: unexpected new node ${n.id}`);
  // Well formed: inputs defined before use, outputs produced, and no node of tg's backward is dead in tg.
  const defined = new Set([...st.tg.graph.inputs, ...st.tg.graph.initializers.keys()]);
  const read = new Set(st.tg.graph.outputs);
  for (const n of st.tg.graph.nodes) for (const i of n.inputs) if (i) read.add(i);
  for (const n of st.tg.graph.nodes) {
    for (const i of n.inputs) if (i) assert.ok(defined.has(i), `${label}: ${n.id} reads ${i} before it is defined`);
    for (const o of n.outputs) if (o) defined.add(o);
    if (st.tg.ann.phase.get(n.id) === 'backward' || st.tg.ann.phase.get(n.id) === 'optimizer') {
      assert.ok(n.outputs.some((o) => o && read.has(o)), `${label}: ${n.id} is dead in the pruned graph`);
    }
  }
  for (const o of st.tg.graph.outputs) assert.ok(defined.has(o), `${label}: output ${o} is computed`);
  // Frozen parameters get no gradient; activations only pruned nodes read are not saved for backward.
  for (const p of st.full.params) if (!st.updates.get(p)?.trainable) assert.ok(!st.tg.grads.has(p), `${label}: frozen ${p} has a gradient`);
  const readByNeeded = new Set<string>();
  for (const n of st.tg.graph.nodes) if (isStep(st, n.id) || !fullIds.has(n.id)) for (const i of n.inputs) readByNeeded.add(i);
  for (const v of savedForBackward(st.tg)) assert.ok(readByNeeded.has(v));
  // The report's figures (costs reused from the full step where nodes are shared) equal a fresh count.
  const fresh = phaseTotals(st.tg, stepFlops(st.tg));
  assert.deepEqual([st.report.forward, st.report.optimizer], [fresh.forward, fresh.optimizer], `${label}: report`);
  assert.deepEqual([st.report.backward.nodes, st.report.backward.flops], [fresh.backward.nodes, fresh.backward.flops], `${label}: report`);
  const full = phaseTotals(st.full, stepFlops(st.full));
  assert.deepEqual([st.report.backward.nodesBeforePruning, st.report.backward.flopsBeforePruning], [full.backward.nodes, full.backward.flops]);
  assert.equal(st.report.backward.prunedNodes, [...st.pruned.keys()].filter((id) => st.full.ann.phase.get(id) === 'backward').length);
}

function checkTypesAtRuntime(st: SparseTraining, m: string, label: string): void {
  const feeds = readBatch(path.join(fixtures, m, 'test_data'), st.tg);
  const state = st.tg.updated.size > 0 ? new TrainingSession(st.tg).state : new Map();
  const wrong: string[] = [];
  execute(st.tg.graph, new Map([...feeds, ...state]), {
    outputs: st.tg.graph.outputs, opsets: st.tg.opsets,
    onValue: (name, t) => {
      const ty = st.tg.graph.values.get(name)?.type;
      if (!ty || !isStatic(ty.shape) || ty.dtype !== t.dtype || ty.shape.join() !== t.dims.join()) wrong.push(`${name}: declared ${ty?.dtype}[${ty?.shape}] computed ${t.dtype}[${t.dims}]`);
    },
  });
  assert.deepEqual(wrong, [], `${label}: declared types`);
}

for (const m of models) {
  test(`pruning is exact on ${m} for ${SCHEMES} random schemes`, () => {
    const loaded = loadModel(path.join(fixtures, m, 'model.onnx'));
    const rand = rng(0x5eed + m.length);
    let prunedTotal = 0, channelWeights = 0;
    // The full step is shared between calls (views re-apply schemes to one model): no call may change it.
    const fingerprint = (st: SparseTraining): string => st.full.graph.nodes.map((n) => `${n.id}|${n.inputs}|${n.outputs}|${JSON.stringify(n.attrs)}`).join('\n')
      + [...st.full.graph.values].map(([k, v]) => `${k}:${v.type?.shape}`).join() + [...st.full.graph.initializers.keys()].join() + st.full.state.map((x) => x.dims).join();
    const seen = new Map<SparseTraining['full'], string>();
    for (let k = 0; k < SCHEMES; k++) {
      const scheme = randomScheme(loaded, rand);
      const optimizer = randomOptimizer(rand);
      const st = applyScheme(loaded, scheme, { optimizer });
      if (!seen.has(st.full)) seen.set(st.full, fingerprint(st));
      const label = `${m} scheme ${k} ${JSON.stringify(scheme)} ${optimizer?.kind ?? 'no optimizer'}`;
      checkExact(st, label);
      if (k < (RUN[m] ?? 1)) checkTypesAtRuntime(st, m, label);
      prunedTotal += st.pruned.size;
      channelWeights += st.channels.length;
    }
    assert.ok(prunedTotal > 0 && channelWeights > 0, 'the random schemes prune and slice something');
    for (const [full, fp] of seen) assert.equal(fingerprint({ full } as SparseTraining), fp, 'the shared full step is unchanged');
    console.log(`${m}: ${SCHEMES} random schemes exact; ${prunedTotal} nodes pruned in all, ${channelWeights} channel-sliced weights`);
  });
}

test('a frozen prefix has no backward and saves no activations for it', () => {
  const loaded = loadModel(path.join(fixtures, 'cnn_small', 'model.onnx'));
  const st = applyScheme(loaded, { ...presetScheme('classifier-only', loaded.model.graph, loaded.layers)!, batchnorm: 'frozen' });
  const cls = new Set(presetScheme('classifier-only', loaded.model.graph, loaded.layers)!.rules.map((r) => r.match));
  const saved = savedForBackward(st.tg);
  const fullSaved = savedForBackward(st.full);
  assert.ok(saved.size > 0 && saved.size < fullSaved.size);
  for (const n of st.tg.graph.nodes) {
    if (st.tg.ann.phase.get(n.id) !== 'backward') continue;
    const fwd = st.tg.ann.forwardOf.get(n.id);
    const layer = st.tg.graph.nodes.find((x) => x.id === fwd)?.layer ?? n.layer;
    assert.ok(fwd === undefined || [...cls].some((c) => layer === c || layer.startsWith(c + '.')) || st.tg.ann.phase.get(fwd) === 'loss', `backward node ${n.id} of ${layer} outside the classifier`);
  }
  console.log(`cnn_small classifier-only: ${saved.size} values saved for backward (full update: ${fullSaved.size})`);
});
