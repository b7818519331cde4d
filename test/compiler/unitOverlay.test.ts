// The unit overlay the graph tabs colour by (planView.graphUnitOverlay), checked against the CompileResult
// of real fixtures on the Jetson Orin Nano (CPU + GPU): each drawn operator carries the unit and estimated
// time the compiler's schedule gives it, each group box the mix of the scheduled operators inside it (found
// here by walking the group members down, the other direction from the overlay's walk up), and the legend
// of the whole step is the compiler's per-unit totals.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { loadModel } from '../../src/compiler/loadModel';
import { compile } from '../../src/compiler/compile';
import { applyScheme } from '../../src/compiler/sparse/applyScheme';
import { loadScheme } from '../../src/compiler/train/options';
import { buildTrainingViews, TRAINING_GRAPHS } from '../../src/compiler/view/trainingView';
import type { GraphIndex } from '../../src/compiler/view/graphIndex';
import { graphUnitOverlay, planViewData, unitOverlay } from '../../src/compiler/view/planView';
import { getProfile } from '../../src/compiler/backends/profiles';

const repoRoot = path.resolve(__dirname, '..', '..');
const fixture = (name: string): string => path.resolve(repoRoot, '..', 'shared', 'fixtures', name, 'model.onnx');
const OPT = { kind: 'sgd' as const, lr: 0.01 };

/** Scheduled operators under a group, by walking its members down. */
function opsUnder(index: GraphIndex, group: string, out: string[] = []): string[] {
  for (const m of index.groups.get(group)!.members) {
    if (index.groups.has(m)) opsUnder(index, m, out);
    else if (index.leaves.get(m)?.kind === 'op') out.push(m);
  }
  return out;
}

for (const [name, schemeName] of [['mobilenetv2_035', 'full'], ['cnn_small', 'last-2']] as const) {
  test(`${name} (${schemeName}) on jetson-orin-nano: the overlay is the compiler's schedule, per operator, per group and in total`, () => {
    const loaded = loadModel(fixture(name));
    const scheme = loadScheme(schemeName, loaded);
    const target = 'jetson-orin-nano';
    const r = compile(loaded, { scheme, optimizer: OPT, target, compare: 'none' });
    const profile = getProfile(target);
    const plan = planViewData(r, {
      version: 1, planVersion: 4, devices: [], profileUnits: profile.units.map((u) => ({ id: u.id, displayName: u.displayName })), overrides: {}, compileMs: 0,
    });
    const views = buildTrainingViews(loaded, applyScheme(loaded, scheme, { optimizer: OPT }));
    const byItem = new Map(r.schedule.map((s) => [`n:${s.node}`, s]));
    assert.ok(r.backends.units.every((u) => u.ops > 0), `both units run something: ${JSON.stringify(r.backends.units)}`);

    for (const g of TRAINING_GRAPHS) {
      const index = views.models[g].index;
      const o = graphUnitOverlay(plan, index, g);
      assert.equal(o.device, target);
      assert.equal(o.planVersion, 4);
      assert.deepEqual(o.legend.map((l) => l.unit), profile.units.map((u) => u.id));
      const drawnOps = [...index.leaves.values()].filter((l) => l.kind === 'op');
      const scheduled = drawnOps.filter((l) => byItem.has(l.id));
      assert.equal(Object.keys(o.ops).length, scheduled.length, g);
      assert.equal(o.notRun, drawnOps.length - scheduled.length, g);
      for (const l of scheduled) {
        const s = byItem.get(l.id)!;
        assert.deepEqual(o.ops[l.id], { unit: s.unit, estMs: s.estMs, parent: l.parent });
      }
      for (const u of o.legend) {
        const mine = scheduled.filter((l) => byItem.get(l.id)!.unit === u.unit);
        assert.equal(u.ops, mine.length, `${g} ${u.unit}`);
        assert.ok(Math.abs(u.estMs - mine.reduce((a, l) => a + byItem.get(l.id)!.estMs, 0)) < 1e-9);
      }
      assert.ok(Math.abs(o.legend.reduce((a, l) => a + l.share, 0) - 1) < 1e-9);
      for (const gid of index.groups.keys()) {
        const inside = opsUnder(index, gid).filter((id) => byItem.has(id));
        const expected = new Map<string, number>();
        for (const id of inside) expected.set(byItem.get(id)!.unit, (expected.get(byItem.get(id)!.unit) ?? 0) + 1);
        assert.deepEqual(new Map(o.groups[gid].mix.map((m) => [m.unit, m.ops])), expected, `${g} ${gid}`);
        assert.equal(o.groups[gid].parent, index.groups.get(gid)!.parent);
      }
    }

    // The whole step draws every scheduled operator: its legend is the compiler's per-unit totals.
    const step = graphUnitOverlay(plan, views.models.step.index, 'step');
    assert.equal(Object.keys(step.ops).length, r.schedule.length);
    for (const u of r.backends.units) {
      const l = step.legend.find((x) => x.unit === u.unit)!;
      assert.equal(l.ops, u.ops);
      assert.ok(Math.abs(l.estMs - u.estMs) <= 1e-9 * Math.max(1, u.estMs), `${u.unit}: ${l.estMs} vs ${u.estMs}`);
    }
    assert.deepEqual(Object.fromEntries(Object.entries(step.ops).map(([id, x]) => [id, x.unit])), unitOverlay(plan.schedule));
  });
}
