// Fit to a memory budget: every scheme the search returns fits its budget by the planner's own numbers
// (the written scheme compiled again), the peak never rises as the budget tightens, the analysis cache is
// reused only while the model and data are the same, and `pockengine fit` writes a scheme that fits.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadModel } from '../../src/compiler/loadModel';
import { compile } from '../../src/compiler/compile';
import { parseSchemeText, serializeScheme } from '../../src/compiler/sparse/scheme';
import { resolveScheme } from '../../src/compiler/sparse/resolve';
import { analyzeContributions, sliceSquaredNorm } from '../../src/compiler/fit/contribution';
import { contributionsFor, fitToBudget, parseBytes } from '../../src/compiler/fit/fit';
import { curveBudgets, searchBudget, searchContext, tradeOffCurve } from '../../src/compiler/fit/search';
import { schemeOf, updateUnits } from '../../src/compiler/fit/units';
import { channelCount } from '../../src/compiler/sparse/channels';
import { commands } from '../../src/cli/commands/index';
import { tensor } from '../../src/compiler/ir/tensor';

const fixtures = path.resolve(__dirname, '..', '..', '..', 'shared', 'fixtures');
const modelFile = (m: string): string => path.join(fixtures, m, 'model.onnx');
const dataDir = (m: string): string => path.join(fixtures, m, 'test_data');

for (const m of ['mobilenetv2_035', 'tiny_llama']) {
  test(`${m}: every scheme on the curve fits its budget when compiled again, and the peak never rises as the budget tightens`, async () => {
    const loaded = loadModel(modelFile(m));
    const contrib = await analyzeContributions(loaded, dataDir(m), { method: 'gradnorm' });
    const units = updateUnits(loaded);
    assert.equal(contrib.units.length, units.length);
    const ctx = searchContext(loaded, units, contrib);
    assert.ok(ctx.cost.frozenPeak < ctx.fullPeak, `frozen ${ctx.cost.frozenPeak} < full ${ctx.fullPeak}`);
    const budgets = curveBudgets(ctx, 6);
    const curve = tradeOffCurve(ctx, budgets);
    assert.equal(curve.length, budgets.length, 'every budget above the forward-only peak gets a point');
    for (const p of curve) {
      // The planner's own number for the scheme as written to disk.
      const again = compile(loaded, { scheme: parseSchemeText(serializeScheme(p.scheme)), compare: 'none' });
      assert.equal(again.memory.peakBytes, p.peakBytes, `${m} @ ${p.budgetBytes}: reported peak is the planner's`);
      assert.ok(p.peakBytes <= p.budgetBytes, `${m}: peak ${p.peakBytes} > budget ${p.budgetBytes}`);
      assert.ok(p.choices.length > 0 && p.contribution > 0);
      const trainable = [...resolveScheme(p.scheme, loaded.model.graph, loaded.layers).values()].filter((u) => u.trainable);
      assert.ok(trainable.length > 0, 'the scheme trains something');
    }
    for (let i = 1; i < curve.length; i++) {
      assert.ok(curve[i - 1].budgetBytes < curve[i].budgetBytes);
      assert.ok(curve[i - 1].peakBytes <= curve[i].peakBytes, `${m}: tighter budget ${curve[i - 1].budgetBytes} planned ${curve[i - 1].peakBytes} > ${curve[i].peakBytes}`);
    }
    // The loosest budget is the full update's peak: the search uses most of it.
    assert.ok(curve[curve.length - 1].peakBytes >= 0.9 * ctx.fullPeak);
    // A single search at a budget fits too, and a budget below the forward alone is a clear error.
    const mid = Math.round((ctx.cost.frozenPeak + ctx.fullPeak) / 2);
    assert.ok(searchBudget(ctx, mid).peakBytes <= mid);
    assert.throws(() => searchBudget(ctx, ctx.cost.frozenPeak - 1), /below the model's forward alone .*raise --budget/);
  });
}

test('the contribution cache beside the model is reused while model and data are the same, and redone when the data changes', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fit-cache-'));
  try {
    const file = path.join(tmp, 'model.onnx');
    fs.copyFileSync(modelFile('mlp'), file);
    const data = path.join(tmp, 'data');
    fs.mkdirSync(data);
    for (const f of ['input_0.pb', 'labels.pb']) fs.copyFileSync(path.join(dataDir('mlp'), f), path.join(data, f));
    const loaded = loadModel(file);
    let calls = 0;
    const a = await contributionsFor(file, loaded, data, { onProgress: () => calls++ });
    assert.equal(a.fromCache, false);
    assert.equal(a.cacheFile, `${file}.pockengine-contrib.json`);
    assert.ok(calls > 0);
    const doc = JSON.parse(fs.readFileSync(a.cacheFile!, 'utf8'));
    assert.equal(doc.format, 'pockengine-contrib/1');
    assert.match(doc.key, /^[0-9a-f]{64}$/);
    const b = await contributionsFor(file, loaded, data, {});
    assert.equal(b.fromCache, true);
    assert.deepEqual(b.contributions, a.contributions);
    // Other settings (gradnorm) are another key: analysed again.
    assert.equal((await contributionsFor(file, loaded, data, { method: 'gradnorm' })).fromCache, false);
    // Other labels: the cache is stale.
    fs.copyFileSync(path.join(dataDir('cnn_small'), 'labels.pb'), path.join(data, 'labels.pb'));
    const c = await contributionsFor(file, loaded, data, { method: 'gradnorm' });
    assert.equal(c.fromCache, false);
    assert.notEqual(c.contributions.baseLoss, a.contributions.baseLoss);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('the analysis reports progress and stops when cancelled', async () => {
  const loaded = loadModel(modelFile('mlp'));
  const ac = new AbortController();
  const seen: number[] = [];
  await assert.rejects(
    analyzeContributions(loaded, dataDir('mlp'), { method: 'measured', signal: ac.signal, onProgress: (p) => { seen.push(p.done); if (p.done === 2) ac.abort(); } }),
    (e: Error) => e.name === 'AbortError',
  );
  assert.deepEqual(seen, [0, 1, 2]);
});

test('gradnorm restricts the squared gradient to the option\'s first channels', () => {
  // [3, 2] weight, channels along axis 1 (Gemm B with transB=0): first channel = column 0.
  const g = tensor('float32', [3, 2], new Float32Array([1, 2, 3, 4, 5, 6]));
  assert.equal(sliceSquaredNorm(g, {}), 91);
  assert.equal(sliceSquaredNorm(g, { axis: 1, k: 1 }), 1 + 9 + 25);
  assert.equal(sliceSquaredNorm(g, { axis: 0, k: 2 }), 1 + 4 + 9 + 16);
});

test('update units: options grow in size and the scheme of a choice trains exactly that', () => {
  const loaded = loadModel(modelFile('mobilenetv2_035'));
  const units = updateUnits(loaded);
  for (const u of units) {
    assert.equal(u.options[u.options.length - 1].option, 'full');
    for (let i = 1; i < u.options.length; i++) assert.ok(u.options[i].elements > u.options[i - 1].elements, u.id);
  }
  // Each option's scheme, resolved as training resolves it, trains exactly the option's slices.
  for (const u of units) {
    for (const o of u.options) {
      const decisions = resolveScheme(schemeOf(units, new Map([[u.id, o.option]]), 'train'), loaded.model.graph, loaded.layers);
      const trained = [...decisions.values()].filter((d) => d.trainable);
      assert.deepEqual(trained.map((d) => d.param).sort(), o.slices.map((s) => s.param).sort(), `${u.id} ${o.option}`);
      for (const s of o.slices) {
        const d = decisions.get(s.param)!;
        if (s.k === undefined) assert.equal(d.channels, undefined, `${s.param} trains whole`);
        else assert.equal(channelCount(d.channels!, loaded.model.graph.initializers.get(s.param)!.dims[s.axis!]), s.k, `${s.param} channels`);
      }
    }
  }
  const total = units.reduce((a, u) => a + u.options[u.options.length - 1].elements, 0);
  assert.equal(total, 408_938, 'the units cover every parameter of MobileNetV2 (README: 408,938)');
});

test('parseBytes reads bytes and decimal/binary units', () => {
  assert.equal(parseBytes('1048576'), 1048576);
  assert.equal(parseBytes('512MB'), 512e6);
  assert.equal(parseBytes('1.5 GB'), 1.5e9);
  assert.equal(parseBytes('2MiB'), 2 * 1024 * 1024);
  assert.throws(() => parseBytes('lots'), /cannot read "lots" as a size/);
});

test('pockengine fit writes a scheme that fits the budget and a monotone curve', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fit-cli-'));
  try {
    const file = path.join(tmp, 'model.onnx');
    fs.copyFileSync(modelFile('cnn_small'), file);
    const cmd = commands.find((c) => c.name === 'fit')!;
    let out = '', err = '';
    const io = { stdout: (t: string) => void (out += t), stderr: (t: string) => void (err += t) };
    const scheme = path.join(tmp, 'scheme.json'), curveFile = path.join(tmp, 'curve.json');
    const budget = 1_000_000;
    const code = await cmd.run([file, '--data', dataDir('cnn_small'), '--budget', '1MB', '--out', scheme, '--curve', curveFile, '--points', '4', '--method', 'gradnorm'], io);
    assert.equal(code, 0, err);
    assert.match(out, /planned peak [\d.]+ MB of budget 1\.000 MB/);
    const loaded = loadModel(file);
    const peak = compile(loaded, { scheme, compare: 'none' }).memory.peakBytes;
    assert.ok(peak <= budget, `planned ${peak} > ${budget}`);
    assert.match(out, new RegExp(`planned peak ${(peak / 1e6).toFixed(3)} MB`));
    const curve = JSON.parse(fs.readFileSync(curveFile, 'utf8'));
    assert.ok(curve.points.length >= 2);
    assert.ok(curve.points.some((p: { budgetBytes: number }) => p.budgetBytes === budget));
    for (let i = 1; i < curve.points.length; i++) assert.ok(curve.points[i - 1].peakBytes <= curve.points[i].peakBytes);
    assert.ok(fs.existsSync(`${file}.pockengine-contrib.json`));
    // Bad input: a clear error.
    await assert.rejects(Promise.resolve().then(() => cmd.run([file, '--data', dataDir('cnn_small'), '--budget', 'much', '--out', scheme], io)), /--budget: cannot read "much"/);
    await assert.rejects(fitToBudget(file, loaded, dataDir('cnn_small'), { budgetBytes: 1000, method: 'gradnorm' }), /raise --budget/);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
