// The Run panel in a real browser (the built run.js under the panel page's CSP): the step lines of a real
// exported `train` binary (built here by the export API for the MLP fixture and run locally, the same
// lines a target streams over ssh), parsed by the deploy module's parser and posted one by one, each add a
// drawn point to the chart; Stop posts the stop message; after a finished run Pull parameters is offered
// and posts the pull message. Screenshot: .test-output/webview/run-panel.png.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseStepLine } from '../../src/compiler/deploy';
import { RunMessageType, type RunFromWebviewMessage, type RunToWebviewMessage } from '../../src/protocol';
import { runExportFlow } from '../../src/views/exportFlow';
import { MAX_POINTS, PointThinner } from '../../src/views/runPoints';
import { openPanel, repo, shot, startPanelHarness, type PanelHarness } from './harness/panels';

const fixture = path.resolve(repo, '..', 'shared', 'fixtures', 'mlp');
let h: PanelHarness;
let tmp: string;

before(async () => {
  h = await startPanelHarness('run');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pockengine-runpanel-'));
});
after(async () => {
  await h?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('run panel: real train lines draw points live; Stop and Pull post their messages', async () => {
  // A real export and a real run of its binary: the lines the panel gets in VS Code.
  const model = path.join(tmp, 'mlp.onnx');
  fs.copyFileSync(path.join(fixture, 'model.onnx'), model);
  const out = path.join(tmp, 'mlp-host-export');
  const exported = await runExportFlow({ model, target: 'host', format: 'binary', out }, { confirmOverwrite: async () => false, progress: () => {}, log: () => {} });
  assert.equal(exported.kind, 'done', exported.summary);
  const stdout = execFileSync(path.join(out, 'train'), ['--data', path.join(fixture, 'test_data'), '--steps', '12'], { encoding: 'utf8' });
  const records = stdout.split('\n').map(parseStepLine).filter((r) => r !== null);
  assert.equal(records.length, 12, stdout);

  const p = await openPanel<RunFromWebviewMessage, RunToWebviewMessage>(h);
  try {
    await p.waitFor(RunMessageType.Ready);
    await p.send({ type: RunMessageType.Init, target: 'local', exportDir: out, steps: 12, state: 'running', points: [] });
    await p.send({ type: RunMessageType.Status, state: 'running', message: 'Running ./train --steps 12', canPull: false });
    const chart = p.page.locator('#run-chart');
    assert.equal(await chart.getAttribute('data-points'), '0');
    let prevX = -Infinity;
    // The first half one message per step, then the rest in one batch (the host batches a fast run).
    const half = records.length / 2;
    for (const [k, r] of records.slice(0, half).entries()) {
      await p.send({ type: RunMessageType.Step, points: [{ step: r.step, loss: r.loss, ms: r.ms }] });
      await p.page.waitForFunction((n) => document.getElementById('run-chart')?.dataset.points === String(n), k + 1);
      // Every point received has a place on the canvas, the newest at the right end (the axis rescales).
      assert.equal(await chart.getAttribute('data-drawn'), String(k + 1));
      const x = Number(await chart.getAttribute('data-last-x'));
      assert.ok(Number.isFinite(x) && x >= prevX, `point ${k + 1} drawn at x=${x}, after ${prevX}`);
      prevX = x;
    }
    await p.send({ type: RunMessageType.Step, points: records.slice(half).map((r) => ({ step: r.step, loss: r.loss, ms: r.ms })) });
    await p.page.waitForFunction((n) => document.getElementById('run-chart')?.dataset.drawn === String(n), records.length);
    const last = records[records.length - 1];
    assert.match((await p.page.locator('#run-last').textContent()) ?? '', new RegExp(`step ${last.step} · loss ${last.loss.toPrecision(5).replace('.', '\\.')}`));
    // The loss falls over the run, so the last point sits lower (larger y) than the first.
    assert.ok(last.loss < records[0].loss);

    // Stop: the button posts the stop message (the host then kills the remote process).
    assert.equal(await p.page.locator('#btn-stop').getAttribute('disabled'), null);
    await p.page.locator('#btn-stop').click();
    await p.waitFor(RunMessageType.Stop);
    assert.equal(p.posted.filter((m) => m.type === RunMessageType.Stop).length, 1);

    // A finished run that saved its parameters offers Pull parameters.
    assert.notEqual(await p.page.locator('#btn-pull').getAttribute('disabled'), null);
    await p.send({ type: RunMessageType.Status, state: 'finished', message: 'Finished 12 steps on local.', canPull: true });
    assert.equal(await p.page.locator('#run-status').getAttribute('data-state'), 'finished');
    await p.page.locator('#btn-pull').click();
    await p.waitFor(RunMessageType.Pull);
    await shot(p.page, 'run-panel.png');
    assert.deepEqual(await p.cspViolations(), []);
    assert.deepEqual(p.errors, []);
  } finally {
    await p.page.close();
  }
});

test('a long run keeps a bounded curve: evenly spaced over the whole run, ending with the newest step', () => {
  const t = new PointThinner<number>();
  const n = 3 * MAX_POINTS + 7;
  for (let i = 1; i <= n; i++) t.add(i);
  const pts = t.points();
  assert.equal(t.received, n);
  assert.ok(pts.length <= MAX_POINTS + 1 && pts.length > MAX_POINTS / 2, `${pts.length} points`);
  assert.equal(pts[0], 1);
  assert.equal(pts[pts.length - 1], n);
  const gap = pts[1] - pts[0];
  for (let i = 1; i < pts.length - 1; i++) assert.equal(pts[i] - pts[i - 1], gap, 'even spacing');
  assert.ok(n - pts[pts.length - 2] <= gap, 'no hole before the newest step');
});
