import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeLifetimes, liveTimeline, peakOf, type PlanStep } from '../../src/compiler/plan/lifetimes';
import { checkArena, planArena } from '../../src/compiler/plan/arena';

// A chain a -> b -> c -> d of four ops with sizes chosen so the peak is known by hand.
const steps: PlanStep[] = [
  { id: 'op0', inputs: ['x', 'w'], outputs: ['a'] },
  { id: 'op1', inputs: ['a'], outputs: ['b'] },
  { id: 'op2', inputs: ['b', 'a'], outputs: ['c'] },
  { id: 'op3', inputs: ['c'], outputs: ['d'] },
];
const size: Record<string, number> = { x: 128, w: 640, a: 256, b: 1024, c: 64, d: 64 };

test('lifetimes, timeline and peak of a small chain, checked by hand', () => {
  const lives = computeLifetimes({
    steps,
    bytesOf: (n) => size[n],
    categoryOf: (n) => (n === 'w' ? 'trainable-param' : n === 'x' ? 'input' : 'temporary'),
    persistent: new Set(['x', 'w']),
  });
  const byName = Object.fromEntries(lives.map((l) => [l.name, l]));
  assert.deepEqual([byName.a.firstStep, byName.a.lastStep], [0, 2]);
  assert.deepEqual([byName.x.firstStep, byName.x.lastStep], [0, 3]);
  assert.deepEqual([byName.d.firstStep, byName.d.lastStep], [3, 3]);
  const tl = liveTimeline(lives, steps.length);
  // step 2: x + w + a + b + c = 128 + 640 + 256 + 1024 + 64
  assert.deepEqual(tl.map((p) => p.bytes), [1024, 2048, 2112, 896]);
  assert.deepEqual(peakOf(tl), { bytes: 2112, step: 2 });
  assert.equal(tl[2].byCategory['trainable-param'], 640);
  const plan = planArena(lives);
  assert.deepEqual(checkArena(lives, plan), []);
  // Every size here is a multiple of the 64-byte alignment, and greedy-by-size reaches the lower bound.
  assert.equal(plan.arenaBytes, 2112);
  // d reuses memory of a tensor that died (a or b), it does not grow the arena.
  assert.ok(plan.offsets.get('d')! + 64 <= 2112);
});

test('random interval sets: the arena is always valid and never below the live peak', () => {
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let trial = 0; trial < 50; trial++) {
    const n = 40;
    const st: PlanStep[] = [];
    for (let i = 0; i < n; i++) {
      const inputs = i === 0 ? [] : [`t${Math.floor(rnd() * i)}`, `t${i - 1}`];
      st.push({ id: `op${i}`, inputs, outputs: [`t${i}`], workspaceBytes: rnd() < 0.2 ? Math.floor(rnd() * 5000) : 0 });
    }
    const sizes = new Map(st.map((s) => [s.outputs[0], 1 + Math.floor(rnd() * 10000)]));
    const lives = computeLifetimes({ steps: st, bytesOf: (x) => sizes.get(x)!, categoryOf: () => 'temporary', persistent: new Set() });
    const plan = planArena(lives, 1);
    assert.deepEqual(checkArena(lives, plan), []);
    assert.ok(plan.arenaBytes >= peakOf(liveTimeline(lives, n)).bytes);
  }
});
