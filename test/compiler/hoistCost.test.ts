import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import type { Node } from '../../src/compiler/ir/graph';
import { loadModel } from '../../src/compiler/loadModel';
import { applyScheme } from '../../src/compiler/sparse/applyScheme';
import { presetScheme } from '../../src/compiler/sparse/presets';
import { runPasses, type StepProgram } from '../../src/compiler/passes';
import { HoistCost } from '../../src/compiler/passes/hoistCost';
import { valueSizer } from '../../src/compiler/plan/bytes';
import { seededRandom } from '../../src/compiler/util/random';

const fixtures = path.resolve(__dirname, '..', '..', '..', 'shared', 'fixtures');

/** The whole-order walk the incremental cost must agree with: lifetimes from first make to last touch. */
function wholeOrderCost(nodes: readonly Node[], order: readonly number[], bytesOf: (v: string) => number, keep: ReadonlySet<string>): { peak: number; area: number } {
  const made = new Set(nodes.flatMap((n) => n.outputs.filter(Boolean)));
  const first = new Map<string, number>(), last = new Map<string, number>();
  order.forEach((k, i) => {
    for (const o of nodes[k].outputs) if (o && !first.has(o)) { first.set(o, i); last.set(o, i); }
    for (const x of nodes[k].inputs) if (x && made.has(x) && first.has(x)) last.set(x, i);
  });
  const live = new Array<number>(order.length).fill(0);
  for (const [v, f] of first) {
    const l = keep.has(v) ? order.length - 1 : last.get(v)!;
    for (let i = f; i <= l; i++) live[i] += bytesOf(v);
  }
  return { peak: Math.max(0, ...live), area: live.reduce((a, b) => a + b, 0) };
}

function program(model: string, scheme: 'full' | 'last-2'): StepProgram {
  const loaded = loadModel(path.join(fixtures, model, 'model.onnx'));
  const sch = scheme === 'full' ? { default: 'full' as const, batchnorm: 'train' as const, rules: [] } : presetScheme('last-2', loaded.model.graph, loaded.layers)!;
  const { tg } = applyScheme(loaded, sch, { optimizer: { kind: 'sgd', lr: 0.01 } });
  return runPasses(tg, new Set(['dead-code']), valueSizer(tg.graph));
}

for (const [model, scheme] of [['cnn_small', 'full'], ['tiny_llama', 'last-2'], ['mobilenetv2_035', 'full']] as const) {
  test(`hoist cost of ${model} (${scheme}): every trial and accepted move agrees with a walk over the whole order`, () => {
    const p = program(model, scheme);
    const keep = new Set(p.tg.graph.outputs);
    const cost = new HoistCost(p.order, p.sizer.bytesOf, keep);
    const order = p.order.map((_, i) => i);
    assert.deepEqual(cost.cost, wholeOrderCost(p.order, order, p.sizer.bytesOf, keep));
    const rnd = seededRandom(7);
    let trials = 0, accepted = 0;
    const producer = new Map(p.order.flatMap((n, k) => n.outputs.map((o): [string, number] => [o, k])));
    for (let t = 0; t < 120; t++) {
      const at = 1 + Math.floor(rnd() * (order.length - 1));
      const w = order[at];
      // As the pass does: never above the producers of what w reads.
      const floor = 1 + Math.max(-1, ...p.order[w].inputs.map((i) => (producer.has(i) ? order.indexOf(producer.get(i)!) : -1)));
      if (floor >= at) { t--; continue; }
      const to = at - 1 - Math.floor(rnd() * Math.min(at - floor, 60));
      const moved = [...order.slice(0, to), w, ...order.slice(to, at), ...order.slice(at + 1)];
      const want = wholeOrderCost(p.order, moved, p.sizer.bytesOf, keep);
      const got = cost.trial(w, to);
      trials++;
      assert.equal(got.peak, want.peak, `trial ${t}: peak`);
      assert.ok(Math.abs(got.area - want.area) <= 1e-9 * want.area, `trial ${t}: area ${got.area} vs ${want.area}`);
      if (rnd() < 0.5) {
        cost.accept();
        order.splice(0, order.length, ...moved);
        accepted++;
        assert.deepEqual(Array.from(cost.order), order);
      }
    }
    assert.ok(trials === 120 && accepted > 20, `${accepted} accepted`);
    const end = wholeOrderCost(p.order, order, p.sizer.bytesOf, keep);
    assert.equal(cost.cost.peak, end.peak);
    assert.ok(Math.abs(cost.cost.area - end.area) <= 1e-9 * end.area);
  });
}
