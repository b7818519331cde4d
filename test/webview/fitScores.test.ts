// The Layers tree's contribution scores (src/views/fitScores.ts) from a real cached analysis of the MLP
// fixture: a unit layer shows its best option's score, nothing is shown before an analysis exists, and a
// new analysis (the cache file rewritten) is read again.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { contributionsFor } from '../../src/compiler/fit/fit';
import { contribCachePath } from '../../src/compiler/fit/cache';
import { loadModel } from '../../src/compiler/loadModel';
import { layerScore, layerScoreSuffix } from '../../src/views/fitScores';

const fixture = path.resolve(__dirname, '..', '..', '..', 'shared', 'fixtures', 'mlp');
let tmp: string;
before(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pockengine-fitscores-'))));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('layer scores come from the cached analysis beside the model', async () => {
  const model = path.join(tmp, 'mlp.onnx');
  fs.copyFileSync(path.join(fixture, 'model.onnx'), model);
  assert.equal(layerScoreSuffix(model, 'classifier'), '');
  const { contributions, cacheFile } = await contributionsFor(model, loadModel(model), path.join(fixture, 'test_data'));
  assert.equal(cacheFile, contribCachePath(model));
  for (const u of contributions.units) {
    const best = u.options.reduce((a, o) => (o.score > a.score ? o : a));
    const s = layerScore(model, u.unit);
    assert.ok(s, u.unit);
    assert.equal(s.score, best.score > 0 ? best.score : 0);
    if (best.score > 0) assert.equal(layerScoreSuffix(model, u.unit), ` · contrib ${best.score.toPrecision(3)} (${best.option})`);
  }
  // The model root sums its units' best scores.
  const total = contributions.units.reduce((a, u) => a + Math.max(0, ...u.options.map((o) => o.score)), 0);
  assert.ok(Math.abs(layerScore(model, '')!.score - total) < 1e-12);

  // A rewritten cache (a new analysis) is read again.
  const doc = JSON.parse(fs.readFileSync(cacheFile!, 'utf8'));
  doc.contributions.units[0].options[0].score = 123;
  fs.writeFileSync(cacheFile!, JSON.stringify(doc));
  const t = new Date(Date.now() + 5000);
  fs.utimesSync(cacheFile!, t, t);
  assert.equal(layerScore(model, doc.contributions.units[0].unit)!.score, 123);
});
