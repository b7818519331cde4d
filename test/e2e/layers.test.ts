// End-to-end in a real VS Code (code-server, the packaged .vsix): open MobileNetV2, untick the `features`
// layer's checkbox in the Layers tree, and check that the scheme file on disk (`<model>.pockengine.json`)
// gained a frozen rule for it, that the graph's Backward tab (inside the webview's iframes) now counts the
// compiler's pruned nodes for that scheme, that the Memory tab shows the compiler's peak for it, and that the status bar's
// device picker moves the Backends tab to the chosen profile.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../../scripts/tools/codeServer.mjs';
import { graphFrame, openFile, startWorkbench } from './support/workbench';
import { loadModel } from '../../src/compiler/loadModel';
import { applyScheme } from '../../src/compiler/sparse/applyScheme';
import { parseSchemeText } from '../../src/compiler/sparse/scheme';
import { compile } from '../../src/compiler/compile';
import { VIEW_OPTIMIZER } from '../../src/views/trainingState';

const fixture = path.resolve(repoRoot, '..', 'shared', 'fixtures', 'mobilenetv2_035', 'model.onnx');

test('code-server: unticking a layer in the Layers tree writes the scheme file and prunes the Backward tab', { timeout: 10 * 60_000 }, async (t) => {
  assert.ok(fs.existsSync(fixture), `fixture missing: ${fixture}`);
  let model = '', schemeFile = '';
  const w = await startWorkbench(t, 'layers', ({ workspace }) => {
    model = path.join(workspace, 'mobilenet.onnx');
    fs.copyFileSync(fixture, model);
    schemeFile = path.join(workspace, 'mobilenet.pockengine.json');
  });
  const { page, screenshot } = w;
  try {
    await openFile(w, model);
    const frame = await graphFrame(page, 120_000);

    // The Backward tab under the default (full) scheme: nothing pruned.
    await frame.locator('#tab-backward').click();
    await frame.waitForFunction(() => document.getElementById('graph-backward')?.dataset.state === 'ready', undefined, { timeout: 60_000 });
    const counts = frame.locator('#graph-counts-backward');
    await counts.waitFor({ timeout: 30_000 });
    const prunedBefore = Number(await counts.getAttribute('data-pruned'));
    assert.equal(prunedBefore, 0);
    assert.ok(!fs.existsSync(schemeFile), 'no scheme file before the first layer action');

    // The Layers tree (PockEngine's activity-bar container): untick `features`.
    await page.locator('.activitybar .action-label[aria-label^="PockEngine"]').first().click();
    const row = page.locator('.monaco-list-row', { hasText: 'features' }).first();
    await row.waitFor({ timeout: 30_000 });
    const checkbox = row.locator('.custom-view-tree-node-item-checkbox');
    await checkbox.waitFor({ timeout: 30_000 });
    await screenshot('layers-before.png');
    await checkbox.click();

    // The scheme file on disk gains a frozen rule for `features`.
    const until = Date.now() + 30_000;
    let scheme: { rules?: { match: string; update: unknown }[] } | null = null;
    while (Date.now() < until) {
      if (fs.existsSync(schemeFile)) {
        try {
          scheme = JSON.parse(fs.readFileSync(schemeFile, 'utf8'));
          if (scheme?.rules?.some((r) => r.match === 'features' && r.update === 'frozen')) break;
        } catch { /* being written */ }
      }
      await page.waitForTimeout(250);
    }
    assert.ok(scheme?.rules?.some((r) => r.match === 'features' && r.update === 'frozen'), `no frozen rule for features in ${schemeFile}: ${JSON.stringify(scheme)}`);

    // The Backward tab's pruned count is the compiler's for that scheme file.
    const loaded = loadModel(model);
    const parsed = parseSchemeText(fs.readFileSync(schemeFile, 'utf8'));
    const expected = applyScheme(loaded, parsed, { optimizer: VIEW_OPTIMIZER }).report.backward.prunedNodes;
    assert.ok(expected > 0);
    await frame.waitForFunction((n) => document.getElementById('graph-counts-backward')?.dataset.pruned === String(n), expected, { timeout: 30_000 });
    await screenshot('layers-after.png');

    // The Memory tab follows the same scheme: its peak is the compiler's.
    await frame.locator('#tab-memory').click();
    await frame.waitForFunction(() => document.getElementById('memory-view')?.dataset.state === 'ready', undefined, { timeout: 60_000 });
    const peak = compile(loaded, { scheme: parsed, optimizer: VIEW_OPTIMIZER, target: 'host' }).memory.peakBytes;
    assert.equal(Number(await frame.locator('#memory-peak').getAttribute('data-bytes')), peak);
    await screenshot('layers-memory.png');

    // The device picker in the status bar: choose the Raspberry Pi 4; the Backends tab follows.
    await frame.locator('#tab-backends').click();
    await frame.waitForFunction(() => document.getElementById('backends-view')?.dataset.state === 'ready', undefined, { timeout: 60_000 });
    assert.equal(await frame.locator('#backends-est-ms').getAttribute('data-device'), 'host');
    const deviceItem = page.locator('.statusbar-item:has(.codicon-circuit-board)').first();
    assert.match(await deviceItem.innerText(), /host/);
    await deviceItem.click();
    const quickPick = page.locator('.quick-input-widget');
    await quickPick.waitFor({ timeout: 15_000 });
    await page.keyboard.type('rpi4');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'rpi4' }).first().waitFor({ timeout: 15_000 });
    await page.keyboard.press('Enter');
    const rpi4 = compile(loaded, { scheme: parsed, optimizer: VIEW_OPTIMIZER, target: 'rpi4', compare: 'none' }).backends.estStepMs;
    await frame.waitForFunction((ms) => document.getElementById('backends-est-ms')?.dataset.ms === String(ms), rpi4, { timeout: 60_000 });
    assert.equal(await frame.locator('#backends-est-ms').getAttribute('data-device'), 'rpi4');
    await page.locator('.statusbar-item:has(.codicon-circuit-board)', { hasText: 'rpi4' }).first().waitFor({ timeout: 15_000 });
    await screenshot('layers-device.png');
  } catch (e) {
    await screenshot('layers-failure.png');
    throw e;
  }
});
