// The Schedule, Memory and Backends tabs in a real browser, driven by the real host session (MobileNetV2,
// the last-2 scheme): each renders; the schedule lists every step of the compiler's schedule; the peak
// shown is the CompileResult's memory.peakBytes; hovering a step of the memory chart lists exactly the
// compiler's liveTensorsAt; selection links the schedule and the graph tabs both ways; changing the device
// (the views' picker, the same setting as the status bar's) updates the estimated step time; an operator
// override recompiles. Screenshots: .test-output/webview/plan-*.png.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { GraphSession, loadForView } from '../../src/views/graphSession';
import { TrainingState, VIEW_OPTIMIZER } from '../../src/views/trainingState';
import { planSettings } from '../../src/views/planSettings';
import { compile, liveTensorsAt, type CompileOptions } from '../../src/compiler/compile';
import { loadScheme } from '../../src/compiler/train/options';
import { encodeModel } from '../../src/compiler/onnx/encode';
import { buildLlama } from '../../src/compiler/samples/llama';
import * as os from 'node:os';
import { planViewData, liveRowsAt, unitOverlay } from '../../src/compiler/view/planView';
import { openPage, repo, shot, startHarness, waitReady, type Harness } from './harness/browser';

const mobilenet = path.resolve(repo, '..', 'shared', 'fixtures', 'mobilenetv2_035', 'model.onnx');
let h: Harness;

before(async () => {
  assert.ok(fs.existsSync(path.join(repo, 'dist/webview/graph.js')), 'dist/webview/graph.js is missing: run `npm run build` (npm test builds first)');
  h = await startHarness();
});
after(async () => h?.close());

const ready = (page: Page, view: string, version?: number): Promise<unknown> =>
  page.waitForFunction(([v, ver]) => {
    const el = document.getElementById(`${v}-view`);
    return el?.dataset.state === 'ready' && (ver === null || Number(el.dataset.planVersion) >= ver);
  }, [view, version ?? null] as const, { timeout: 30_000 });

async function chooseDevice(page: Page, view: string, device: string): Promise<void> {
  // The toolkit's dropdown: open it and click the option, as a user does.
  await page.locator(`#device-${view}`).click();
  await page.locator(`#device-${view} vscode-option[value="${device}"]`).click();
}

test('MobileNetV2 plan views: schedule, memory peak and live tensors, backends, device and overrides', async () => {
  const source = loadForView(mobilenet);
  assert.ok('loaded' in source);
  planSettings.setDevice('host');
  const training = new TrainingState(source.loaded, 'last-2', null);
  training.setScheme(loadScheme('last-2', source.loaded));
  const { page, session, errors } = await openPage(h, (post) => new GraphSession(mobilenet, source, post, {}, training));
  const expect = (o: Partial<CompileOptions> = {}) => compile(source.loaded, { scheme: training.scheme, optimizer: VIEW_OPTIMIZER, target: 'host', ...o });
  try {
    const r = expect();

    // Schedule: as many steps as the compiler's schedule, in its order, coloured by phase.
    await page.locator('#tab-schedule').click();
    await ready(page, 'schedule');
    assert.equal(await page.locator('#schedule-view').getAttribute('data-steps'), String(r.schedule.length));
    assert.equal(await page.locator('#schedule-count').getAttribute('data-steps'), String(r.schedule.length));
    assert.equal(await page.locator('#schedule-moved').getAttribute('data-moved'), String(r.schedule.filter((s) => s.movedBy).length));
    const firstRows = await page.locator('#schedule-list .schedule-row').evaluateAll((els) => els.slice(0, 10).map((e) => (e as HTMLElement).dataset.node));
    assert.deepEqual(firstRows, r.schedule.slice(0, 10).map((s) => s.node));
    // Scroll to the end (rows are virtualised): the last step is there.
    await page.locator('#schedule-list').evaluate((el) => { el.scrollTop = el.scrollHeight; });
    await page.waitForSelector(`#schedule-list .schedule-row[data-step="${r.schedule.length - 1}"]`);
    const lastNode = await page.locator(`#schedule-list .schedule-row[data-step="${r.schedule.length - 1}"]`).getAttribute('data-node');
    assert.equal(lastNode, r.schedule.at(-1)!.node);
    // A moved operator, shown with its pass; click it: it becomes the selection.
    const moved = r.schedule.find((s) => s.movedBy)!;
    assert.ok(moved, 'reordering moved operators under last-2');
    await page.locator('#schedule-list').evaluate((el, step) => { el.scrollTop = step * 22 - 100; }, moved.step);
    const movedRow = page.locator(`#schedule-list .schedule-row[data-step="${moved.step}"]`);
    assert.match((await movedRow.locator('.moved-badge').getAttribute('title'))!, new RegExp(moved.movedBy!));
    await movedRow.click();
    await page.waitForFunction((s) => document.getElementById('schedule-view')?.dataset.selectedStep === String(s), moved.step);
    await shot(page, 'plan-schedule.png');

    // Schedule -> graph: the Whole-step tab highlights that node (the host's Linked answer).
    await page.locator('#tab-step').click();
    await waitReady(page, 'graph-step');
    await page.waitForFunction(() => Number(document.getElementById('graph-step')?.dataset.linkedCount ?? 0) > 0, undefined, { timeout: 30_000 });

    // Graph -> schedule: select a Conv in the Whole-step tab by search; the schedule selects its step.
    await page.locator('#search-step input').fill('Conv');
    await page.locator('#search-step input').press('Enter');
    const conv = training.views.models.step.search('Conv').matches[0];
    const convStep = r.schedule.findIndex((s) => `n:${s.node}` === conv.id);
    assert.ok(convStep >= 0);
    await page.locator('#tab-schedule').click();
    await page.waitForFunction((s) => document.getElementById('schedule-view')?.dataset.selectedStep === String(s), convStep);

    // Memory: the peak shown is the compiler's, as text and as data.
    await page.locator('#tab-memory').click();
    await ready(page, 'memory');
    // The comparison plans follow the first paint in a second message.
    await page.waitForFunction(() => document.getElementById('memory-view')?.dataset.compared === 'true', undefined, { timeout: 30_000 });
    const peakText = (await page.locator('#memory-peak').textContent())!;
    assert.equal(Number(peakText.replace(/[^0-9]/g, '')), r.memory.peakBytes);
    assert.equal(Number(await page.locator('#memory-peak').getAttribute('data-bytes')), r.memory.peakBytes);
    assert.equal(Number(await page.locator('#memory-peak-full').getAttribute('data-bytes')), r.memory.peakBytesFullUpdate);
    assert.equal(Number(await page.locator('#memory-peak-noreorder').getAttribute('data-bytes')), r.memory.peakBytesNoReorder);
    // Hover a step: the live tensors listed are liveTensorsAt(step).
    const step = Math.floor(r.schedule.length * 0.62);
    const at = await page.locator('#memory-chart').evaluate((c, s) => {
      const ch = (c as HTMLCanvasElement & { __chart: { scales: { x: { getPixelForValue(v: number): number } }; chartArea: { top: number; bottom: number } } }).__chart;
      return { x: ch.scales.x.getPixelForValue(s), y: (ch.chartArea.top + ch.chartArea.bottom) / 2 };
    }, step);
    const box = (await page.locator('#memory-chart').boundingBox())!;
    await page.mouse.move(box.x + at.x, box.y + at.y);
    await page.waitForFunction((s) => document.getElementById('memory-live')?.dataset.step === String(s), step);
    const live = liveTensorsAt(r.memory.tensors, step);
    assert.equal(Number(await page.locator('#memory-live').getAttribute('data-count')), live.length);
    assert.equal(Number(await page.locator('#memory-live').getAttribute('data-bytes')), live.reduce((a, t) => a + t.bytes, 0));
    const shown = await page.locator('#memory-live tr').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.name!));
    const expected = [...live].sort((a, b) => b.bytes - a.bytes || a.name.localeCompare(b.name)).map((t) => t.name);
    assert.deepEqual(shown, expected.slice(0, shown.length));
    assert.ok(shown.length === Math.min(60, live.length));
    await shot(page, 'plan-memory.png');
    // Clicking the step selects its operator (the schedule follows).
    await page.mouse.click(box.x + at.x, box.y + at.y);
    await page.waitForFunction((s) => document.getElementById('memory-view')?.dataset.selectedStep === String(s), step);

    // Backends on the host profile, then another device chosen in the view: every tab follows.
    await page.locator('#tab-backends').click();
    await ready(page, 'backends');
    assert.equal(Number(await page.locator('#backends-est-ms').getAttribute('data-ms')), r.backends.estStepMs);
    const orin = expect({ target: 'jetson-orin-nano' });
    await chooseDevice(page, 'backends', 'jetson-orin-nano');
    await page.waitForFunction((ms) => document.getElementById('backends-est-ms')?.dataset.ms === String(ms), orin.backends.estStepMs, { timeout: 30_000 });
    assert.equal(await page.locator('#backends-est-ms').getAttribute('data-device'), 'jetson-orin-nano');
    assert.equal(Number(await page.locator('#backends-est-ms').getAttribute('data-ms')), orin.backends.estStepMs);
    assert.notEqual(orin.backends.estStepMs, r.backends.estStepMs);
    assert.equal(planSettings.device, 'jetson-orin-nano');
    const units = await page.locator('#backends-units tr[data-unit]').evaluateAll((els) => els.map((e) => [(e as HTMLElement).dataset.unit, Number((e as HTMLElement).dataset.ops)]));
    assert.deepEqual(units, orin.backends.units.map((u) => [u.unit, u.ops]));
    assert.equal(Number(await page.locator('#backends-transfers').getAttribute('data-count').catch(() => '0') ?? 0), orin.backends.transfers.length);
    await page.locator('#tab-schedule').click();
    await page.waitForFunction((ms) => document.getElementById('schedule-total-ms')?.dataset.ms === String(ms), orin.backends.estStepMs);

    // Override: the selected operator onto the CPU; the plan recompiles with it and the row says so.
    await page.locator('#tab-backends').click();
    const sel = r.schedule[step].node;
    assert.equal(await page.locator('#backends-selected').getAttribute('data-node'), sel);
    const unitNow = orin.schedule[step].unit;
    const other = orin.backends.units.map((u) => u.unit).concat(['cpu', 'gpu']).find((u) => u !== unitNow)!;
    await page.locator('#backends-unit').click();
    await page.locator(`#backends-unit vscode-option[value="${other}"]`).click();
    const forced = expect({ target: 'jetson-orin-nano', backendOverrides: { ops: { [sel]: other } } });
    assert.equal(forced.schedule[step].unit, other);
    await page.locator('#btn-override-op').click();
    await page.waitForSelector('#backends-overrides[data-count="1"]', { timeout: 30_000 });
    assert.equal(Number(await page.locator('#backends-est-ms').getAttribute('data-ms')), forced.backends.estStepMs);
    assert.deepEqual(planSettings.overrides(source.loaded.model.path), { ops: { [sel]: other } });
    await shot(page, 'plan-backends.png');

    // A scheme change recompiles the plan for the open views (PlanUpdate): the peak follows.
    training.setScheme(loadScheme('bias-only', source.loaded));
    const bias = expect({ target: 'jetson-orin-nano', backendOverrides: { ops: { [sel]: other } } });
    await page.locator('#tab-memory').click();
    await page.waitForFunction((b) => document.getElementById('memory-peak')?.dataset.bytes === String(b), bias.memory.peakBytes, { timeout: 30_000 });
    await page.waitForFunction(() => document.getElementById('memory-view')?.dataset.compared === 'true', undefined, { timeout: 30_000 });
    await shot(page, 'plan-memory-bias-only.png');

    assert.deepEqual(errors, []);
    assert.deepEqual(await page.evaluate(() => (window as unknown as { __cspViolations: string[] }).__cspViolations), []);
  } finally {
    planSettings.setOverrides(source.loaded.model.path, {});
    planSettings.setDevice('host');
    session.dispose();
    await page.close();
  }
});

test('LLaMA-2-7B-shaped plan: thousands of steps scroll in a virtualised list; the peak is the compiler\'s', { timeout: 180_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pe-plan-llama-'));
  const file = path.join(dir, 'llama7b.onnx');
  fs.writeFileSync(file, encodeModel(buildLlama()));
  const source = loadForView(file);
  assert.ok('loaded' in source);
  planSettings.setDevice('jetson-agx-orin');
  const training = new TrainingState(source.loaded, 'last-2', null);
  training.setScheme(loadScheme('last-2', source.loaded));
  const { page, session, errors } = await openPage(h, (post) => new GraphSession(file, source, post, {}, training));
  try {
    // Timed inside the page: this process also runs the host session, which goes on to compile the
    // comparison plans (seconds on this model) and would delay Playwright's polling, not the page.
    await page.evaluate(() => {
      const w = window as unknown as { __t0: number; __paint: number };
      w.__t0 = performance.now();
      new MutationObserver((_m, o) => {
        if (document.getElementById('schedule-view')?.dataset.state === 'ready') { w.__paint = performance.now() - w.__t0; o.disconnect(); }
      }).observe(document.body, { subtree: true, attributes: true, attributeFilter: ['data-state'] });
    });
    await page.locator('#tab-schedule').click();
    await ready(page, 'schedule');
    const firstPaintMs = Math.round(await page.evaluate(() => (window as unknown as { __paint: number }).__paint));
    const r = training.plan().result; // the plan the view shows (compiled once, cached)
    assert.ok(r.schedule.length > 1000, `${r.schedule.length} steps`);
    assert.equal(await page.locator('#schedule-view').getAttribute('data-steps'), String(r.schedule.length));
    const rows = await page.locator('#schedule-list .schedule-row').count();
    assert.ok(rows > 0 && rows < 120, `only the visible rows exist (${rows})`);
    const t1 = Date.now();
    await page.locator('#schedule-list').evaluate((el) => { el.scrollTop = el.scrollHeight; });
    await page.waitForSelector(`#schedule-list .schedule-row[data-step="${r.schedule.length - 1}"]`);
    const scrollMs = Date.now() - t1;
    await shot(page, 'plan-schedule-llama7b.png');
    await page.locator('#tab-memory').click();
    await ready(page, 'memory');
    assert.equal(Number(await page.locator('#memory-peak').getAttribute('data-bytes')), r.memory.peakBytes);
    await shot(page, 'plan-memory-llama7b.png');
    console.log(`LLaMA-2-7B shape: ${r.schedule.length} steps, ${r.memory.tensors.length} tensors; schedule tab to first paint ${firstPaintMs} ms (the host's plan compile included), scroll to the end ${scrollMs} ms`);
    assert.deepEqual(errors, []);
  } finally {
    planSettings.setDevice('host');
    session.dispose();
    await page.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('planViewData flattens the CompileResult without changing its numbers', () => {
  const source = loadForView(mobilenet);
  assert.ok('loaded' in source);
  const r = compile(source.loaded, { scheme: 'last-2', optimizer: VIEW_OPTIMIZER, target: 'jetson-orin-nano' });
  const d = planViewData(r, { version: 3, planVersion: 7, devices: [], profileUnits: [], overrides: {}, compileMs: 0 });
  assert.equal(d.schedule.length, r.schedule.length);
  assert.deepEqual(d.schedule.map((s) => [s.node, s.unit, s.estMs, s.movedBy]), r.schedule.map((s) => [s.node, s.unit, s.estMs, s.movedBy]));
  assert.equal(d.memory.peakBytes, r.memory.peakBytes);
  assert.equal(d.memory.compared, true);
  assert.deepEqual(d.memory.fullUpdate, r.memory.compare.fullUpdate!.timeline);
  for (const p of r.memory.timeline) {
    assert.equal(d.memory.totals[p.step], p.bytes);
    // The stacked columns add up to the step's live bytes.
    assert.equal(Object.values(d.memory.byCategory).reduce((a, col) => a + col[p.step], 0), p.bytes, `step ${p.step}`);
  }
  for (const step of [0, r.memory.peakStep, r.schedule.length - 1]) {
    assert.deepEqual(liveRowsAt(d.memory.tensors, step).map((t) => t.name), liveTensorsAt(r.memory.tensors, step).map((t) => t.name));
  }
  const overlay = unitOverlay(d.schedule);
  assert.equal(Object.keys(overlay).length, r.schedule.length);
  assert.deepEqual(new Set(Object.values(overlay)), new Set(r.backends.units.filter((u) => u.ops > 0).map((u) => u.unit)));
  assert.equal(d.backends.estStepMs, r.backends.estStepMs);
});
