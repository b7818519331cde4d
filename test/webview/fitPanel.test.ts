// The Fit panel in a real browser (the built fit.js under the panel page's CSP), fed by a real fit of the
// MLP fixture (contribution analysis on its batch, the planner-verified search, the trade-off curve): the
// curve has one drawn point per budget, the point at the requested budget is preselected, clicking another
// point selects it (and highlights its layers in the per-layer contribution chart), and Apply posts that point's index and scheme. The posted scheme, written into the
// scheme file's text the way the scheme controller writes it, reads back as the same scheme, and the
// planner gives it the peak the curve shows. Screenshot: .test-output/webview/fit-panel.png.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { fitToBudget } from '../../src/compiler/fit/fit';
import { loadModel } from '../../src/compiler/loadModel';
import { compile } from '../../src/compiler/compile';
import { parseSchemeText, type Scheme } from '../../src/compiler/sparse/scheme';
import { FitMessageType, type FitApplyMessage, type FitFromWebviewMessage, type FitToWebviewMessage } from '../../src/protocol';
import { fitInitMessage } from '../../src/views/fitModel';
import { replaceSchemeKeepingExtras } from '../../src/views/schemeDocument';
import { openPanel, repo, shot, startPanelHarness, type PanelHarness } from './harness/panels';

const fixture = path.resolve(repo, '..', 'shared', 'fixtures', 'mlp');
let h: PanelHarness;

before(async () => {
  h = await startPanelHarness('fit');
});
after(async () => h?.close());

test('fit panel: draws the curve, a click chooses a point, Apply sends its scheme', async () => {
  const model = path.join(fixture, 'model.onnx');
  const loaded = loadModel(model);
  // A budget between the forward-only and the full update's peaks, so the curve has points on both sides.
  const probe = await fitToBudget(model, loaded, path.join(fixture, 'test_data'), { cache: false });
  const budget = Math.round((probe.frozenPeakBytes + probe.fullPeakBytes * 3) / 4);
  const r = await fitToBudget(model, loaded, path.join(fixture, 'test_data'), { cache: false, budgetBytes: budget, curvePoints: 6 });
  const init = fitInitMessage('model.onnx', 'host', r);
  assert.ok(init.points.length >= 4, `curve of ${init.points.length} points`);
  assert.equal(init.points[init.chosen].budgetBytes, budget);

  const p = await openPanel<FitFromWebviewMessage, FitToWebviewMessage>(h);
  try {
    await p.waitFor(FitMessageType.Ready);
    const { pointsFull: _keep, ...body } = init;
    await p.send(body);
    const chart = p.page.locator('#fit-chart');
    await p.page.waitForFunction((n) => document.getElementById('fit-chart')?.dataset.points === String(n), init.points.length);
    assert.equal(await chart.getAttribute('data-selected'), String(init.chosen));
    const positions = JSON.parse((await chart.getAttribute('data-positions'))!) as [number, number][];
    assert.equal(positions.length, init.points.length);
    // Tighter budgets are further left; contribution never falls as the budget grows.
    for (let k = 1; k < positions.length; k++) {
      assert.ok(positions[k][0] > positions[k - 1][0], 'points left to right by budget');
      assert.ok(init.points[k].contribution >= init.points[k - 1].contribution - 1e-12);
    }

    // Click the second tightest point (not the preselected one).
    const k = init.chosen === 1 ? 2 : 1;
    const box = (await chart.boundingBox())!;
    await p.page.mouse.click(box.x + positions[k][0], box.y + positions[k][1]);
    await p.page.waitForFunction((i) => document.getElementById('fit-chart')?.dataset.selected === String(i), k);
    const details = (await p.page.locator('#fit-details').textContent()) ?? '';
    assert.match(details, new RegExp(`Layers updated${init.points[k].choices.length}`));
    for (const c of init.points[k].choices) assert.ok(details.includes(c.unit), `details list ${c.unit}`);

    // The per-layer chart: one bar per analysed layer (highest first), the chosen point's layers highlighted.
    assert.equal(init.layers.length, r.contributions.units.length);
    for (let i = 1; i < init.layers.length; i++) assert.ok(init.layers[i - 1].score >= init.layers[i].score);
    const bars = p.page.locator('#fit-layers-chart');
    assert.equal(await bars.getAttribute('data-bars'), String(Math.min(24, init.layers.length)));
    assert.equal(await bars.getAttribute('data-highlighted'), String(init.points[k].choices.length));

    await p.page.locator('#btn-apply').click();
    const apply = (await p.waitFor(FitMessageType.Apply)) as FitApplyMessage;
    assert.equal(apply.index, k);
    assert.deepEqual(apply.scheme, JSON.parse(JSON.stringify(r.curve[k].scheme)));

    // What Apply writes (through the scheme controller's text edit) is that scheme, with that planned peak.
    const text = replaceSchemeKeepingExtras(null, r.curve[k].scheme);
    const written = parseSchemeText(text) as Scheme;
    assert.deepEqual(JSON.parse(JSON.stringify(written)), JSON.parse(JSON.stringify(r.curve[k].scheme)));
    const peak = compile(loaded, { scheme: written, target: 'host', compare: 'none' }).memory.peakBytes;
    assert.equal(peak, r.curve[k].peakBytes);
    assert.ok(peak <= r.curve[k].budgetBytes);

    await p.send({ type: FitMessageType.Applied, ok: true, message: 'Applied to model.onnx.pockengine.json' });
    assert.equal(await p.page.locator('#fit-applied').getAttribute('data-ok'), 'true');
    await shot(p.page, 'fit-panel.png');
    assert.deepEqual(await p.cspViolations(), []);
    assert.deepEqual(p.errors, []);
  } finally {
    await p.page.close();
  }
});
