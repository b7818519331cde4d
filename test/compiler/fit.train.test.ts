// The analysis finds the layer that matters, and the fitted scheme trains better than random schemes of
// about the same memory: ten SGD steps in the reference runtime, fixed seeds.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadModel, type LoadedModel } from '../../src/compiler/loadModel';
import { importModelFile } from '../../src/compiler/onnx/import';
import { encodeModel, tensorToInitializer } from '../../src/compiler/onnx/encode';
import { loadInitializer } from '../../src/compiler/onnx/tensorData';
import { compile } from '../../src/compiler/compile';
import { applyScheme } from '../../src/compiler/sparse/applyScheme';
import type { Scheme } from '../../src/compiler/sparse/scheme';
import { TrainingSession } from '../../src/compiler/train/session';
import { readBatch } from '../../src/compiler/train/data';
import { analyzeContributions, rankUnits } from '../../src/compiler/fit/contribution';
import { searchBudget, searchContext } from '../../src/compiler/fit/search';
import { schemeOf, updateUnits, type FitOption } from '../../src/compiler/fit/units';

const fixtures = path.resolve(__dirname, '..', '..', '..', 'shared', 'fixtures');

function lcg(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
}

test('a re-initialised (zeroed) hidden layer of the MLP is ranked first by both methods; in the original model it is not', async () => {
  const data = path.join(fixtures, 'mlp', 'test_data');
  const original = loadModel(path.join(fixtures, 'mlp', 'model.onnx'));
  const before = rankUnits(await analyzeContributions(original, data, { method: 'measured' }));
  assert.notEqual(before[0].unit, 'fc2', 'fc2 is not already the top layer');

  // fc2's weights zeroed: its outputs collapse to relu(bias), so the loss is dominated by what fc2 can
  // learn, and fc1 (behind it) gets no gradient at all.
  const model = importModelFile(path.join(fixtures, 'mlp', 'model.onnx'));
  const w = loadInitializer(model.graph.initializers.get('fc2.weight')!);
  (w.data as Float32Array).fill(0);
  model.graph.initializers.set('fc2.weight', tensorToInitializer('fc2.weight', w));
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fit-matter-'));
  try {
    fs.writeFileSync(path.join(tmp, 'model.onnx'), encodeModel(model));
    const changed = loadModel(path.join(tmp, 'model.onnx'));
    for (const method of ['measured', 'gradnorm'] as const) {
      const c = await analyzeContributions(changed, data, { method });
      const ranked = rankUnits(c);
      assert.equal(ranked[0].unit, 'fc2', `${method}: ${JSON.stringify(ranked.map((r) => [r.unit, r.best.score]))}`);
      assert.ok(ranked[0].best.score > 1.5 * ranked[1].best.score, `${method}: fc2 clearly first`);
      assert.equal(c.units.find((u) => u.unit === 'fc1')!.options.find((o) => o.option === 'full')!.score, 0, `${method}: fc1 gets no gradient`);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

function lossDrop(loaded: LoadedModel, data: string, scheme: Scheme, steps = 10): number {
  const { tg } = applyScheme(loaded, scheme, { optimizer: { kind: 'sgd', lr: 0.01 }, loss: { kind: 'cross_entropy' } });
  const feeds = readBatch(data, tg);
  const s = new TrainingSession(tg);
  const first = s.step(feeds);
  for (let k = 1; k < steps; k++) s.step(feeds);
  return first - s.loss(feeds);
}

for (const [m, method] of [['cnn_small', 'measured'], ['tiny_llama', 'gradnorm']] as const) test(`${m} (${method}): ten steps with the fitted scheme lower the loss more than each of five random schemes of about the same memory`, async () => {
  const file = path.join(fixtures, m, 'model.onnx');
  const data = path.join(fixtures, m, 'test_data');
  const loaded = loadModel(file);
  const units = updateUnits(loaded);
  const ctx = searchContext(loaded, units, await analyzeContributions(loaded, data, { method }));
  const budget = Math.round((ctx.cost.frozenPeak + ctx.fullPeak) / 2);
  const fitted = searchBudget(ctx, budget);
  assert.ok(fitted.peakBytes <= budget);
  const fittedDrop = lossDrop(loaded, data, fitted.scheme);
  assert.ok(fittedDrop > 0);

  // Random schemes: each unit with probability 1/2, a random option; units dropped at random until the
  // planned peak fits the same budget; kept when the peak is at least 85% of the fitted scheme's.
  const rnd = lcg(7);
  const drops: number[] = [];
  for (let tries = 0; drops.length < 5 && tries < 200; tries++) {
    const choice = new Map<string, FitOption>();
    for (const u of units) if (rnd() < 0.5) choice.set(u.id, u.options[Math.floor(rnd() * u.options.length)].option);
    const peak = (): number => compile(loaded, { scheme: schemeOf(units, choice, 'train'), compare: 'none' }).memory.peakBytes;
    let p = peak();
    while (p > budget && choice.size) {
      choice.delete([...choice.keys()][Math.floor(rnd() * choice.size)]);
      p = peak();
    }
    if (choice.size === 0 || p < 0.85 * fitted.peakBytes) continue;
    drops.push(lossDrop(loaded, data, schemeOf(units, choice, 'train')));
  }
  assert.equal(drops.length, 5, 'five random draws of about the same memory');
  for (const d of drops) assert.ok(fittedDrop > d, `fitted ${fittedDrop} vs random ${d} (all: ${drops.join(', ')})`);
});
