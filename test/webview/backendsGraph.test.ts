// The Backends tab's graph coloured by unit, in a real browser driven by the real host session (MobileNetV2,
// full scheme, Jetson Orin Nano: CPU + GPU). Expected values come from the compiler, compiled here on its own:
// every drawn operator carries the class of the unit its schedule entry names (so the GPU-coloured boxes are
// exactly the GPU-assigned operators in view), every closed layer its mix of units, the legend the compiler's
// per-unit totals; the tooltip names unit and estimated time; hovering the strip marks the operator's box;
// the device picker recolours without a new layout; the Whole-step tab's Units toggle does the same colouring.
// Screenshots: .test-output/webview/backends-graph*.png (docs/backends.png is backends-graph-ops.png).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { GraphSession, loadForView } from '../../src/views/graphSession';
import { TrainingState, VIEW_OPTIMIZER } from '../../src/views/trainingState';
import { planSettings } from '../../src/views/planSettings';
import { compile, type CompileResult } from '../../src/compiler/compile';
import type { GraphIndex } from '../../src/compiler/view/graphIndex';
import { formatMs } from '../../webview/plan/format';
import { nodeScreenPos, openPage, repo, shot, startHarness, waitReady, type Harness } from './harness/browser';

const mobilenet = path.resolve(repo, '..', 'shared', 'fixtures', 'mobilenetv2_035', 'model.onnx');
let h: Harness;

before(async () => {
  assert.ok(fs.existsSync(path.join(repo, 'dist/webview/graph.js')), 'dist/webview/graph.js is missing: run `npm run build` (npm test builds first)');
  h = await startHarness();
});
after(async () => h?.close());

interface DrawnNode { id: string; kind: string; open: boolean; unit: string | null; mix: string | null; none: boolean; classes: string; x: number; y: number }

function drawn(page: Page, canvasId: string): Promise<DrawnNode[]> {
  return page.evaluate((cid) => {
    type N = { id(): string; data(k: string): unknown; hasClass(c: string): boolean; classes(): string[]; position(): { x: number; y: number } };
    const cy = (document.getElementById(cid) as HTMLElement & { _cyreg: { cy: { nodes(): { map<T>(f: (n: N) => T): T[] } } } })._cyreg.cy;
    return cy.nodes().map((n) => ({
      id: n.id(), kind: String(n.data('kind')), open: n.hasClass('open'), unit: (n.data('unit') as string | undefined) ?? null,
      mix: (n.data('unitMix') as string | undefined) ?? null, none: n.hasClass('unit-none'), classes: n.classes().join(' '), x: n.position().x, y: n.position().y,
    }));
  }, canvasId);
}

/** Scheduled operators (item ids) under a group of the step graph, walking its members down. */
function opsUnder(index: GraphIndex, group: string, out: string[] = []): string[] {
  for (const m of index.groups.get(group)!.members) {
    if (index.groups.has(m)) opsUnder(index, m, out);
    else if (index.leaves.get(m)?.kind === 'op') out.push(m);
  }
  return out;
}

/** Checks every drawn box against the compiler's schedule; returns the GPU-coloured operator count. */
function checkColours(nodes: DrawnNode[], r: CompileResult, index: GraphIndex, where: string): number {
  const unitOf = new Map(r.schedule.map((s) => [`n:${s.node}`, s.unit]));
  let ops = 0;
  for (const n of nodes) {
    if (n.kind === 'op') {
      ops++;
      const u = unitOf.get(n.id);
      if (u === undefined) assert.ok(n.none && n.unit === null, `${where}: ${n.id} is not scheduled, drawn as not run`);
      else {
        assert.equal(n.unit, u, `${where}: ${n.id}`);
        assert.ok(n.classes.split(' ').includes(`unit-${u}`), `${where}: ${n.id} has class unit-${u} (${n.classes})`);
        for (const other of r.backends.units) if (other.unit !== u) assert.ok(!n.classes.includes(`unit-${other.unit}`));
      }
    } else if (n.kind === 'group' && !n.open) {
      const count = new Map<string, number>();
      for (const id of opsUnder(index, n.id)) {
        const u = unitOf.get(id);
        if (u) count.set(u, (count.get(u) ?? 0) + 1);
      }
      const got = new Map((n.mix ?? '').split(',').filter(Boolean).map((p) => [p.split(':')[0], Number(p.split(':')[1])] as [string, number]));
      assert.deepEqual(got, count, `${where}: mix of ${n.id}`);
      if (count.size) assert.equal(n.unit, [...count].sort((a, b) => b[1] - a[1])[0][0], `${where}: ${n.id} is bordered by its largest unit`);
    }
  }
  assert.ok(ops > 0, `${where}: operators are drawn`);
  const gpuColoured = nodes.filter((n) => n.kind === 'op' && n.classes.split(' ').includes('unit-gpu')).length;
  const gpuInView = nodes.filter((n) => n.kind === 'op' && unitOf.get(n.id) === 'gpu').length;
  assert.equal(gpuColoured, gpuInView, `${where}: GPU-coloured operators == GPU-assigned operators in view`);
  return gpuColoured;
}

async function chooseDevice(page: Page, device: string): Promise<void> {
  await page.locator('#device-backends').click();
  await page.locator(`#device-backends vscode-option[value="${device}"]`).click();
}

const painted = (page: Page, canvasId: string, device: string): Promise<unknown> =>
  page.waitForFunction(([cid, d]) => {
    const el = document.getElementById(cid);
    return el?.dataset.state === 'ready' && el.dataset.unitState === 'ready' && el.dataset.unitDevice === d && el.dataset.unitPaintedVersion === el.dataset.unitPlanVersion;
  }, [canvasId, device] as const, { timeout: 30_000 });

test('Backends tab: the graph is coloured by the compiler\'s unit per operator, per layer; the device picker recolours in place', { timeout: 120_000 }, async () => {
  const source = loadForView(mobilenet);
  assert.ok('loaded' in source);
  planSettings.setDevice('jetson-orin-nano');
  const training = new TrainingState(source.loaded, 'full (default)', null);
  const { page, session, errors } = await openPage(h, (post) => new GraphSession(mobilenet, source, post, {}, training));
  const expect = (target: string): CompileResult => compile(source.loaded, { scheme: training.scheme, optimizer: VIEW_OPTIMIZER, target, compare: 'none' });
  const index = training.views.models.step.index;
  const t0 = Date.now();
  try {
    const orin = expect('jetson-orin-nano');
    assert.ok(orin.backends.units.every((u) => u.ops > 0), 'both units run operators on the Orin Nano');
    await page.locator('#tab-backends').click();
    await waitReady(page, 'graph-backends');
    await painted(page, 'graph-backends', 'jetson-orin-nano');
    const firstPaintMs = Date.now() - t0;

    // Collapsed: every top-level layer shows its mix.
    const top = await drawn(page, 'graph-backends');
    checkColours(top, orin, index, 'collapsed');
    assert.ok(top.some((n) => n.kind === 'group' && (n.mix ?? '').includes(',')), 'some layer mixes CPU and GPU');

    // The legend: the compiler's per-unit totals for the whole step.
    const legend = await page.locator('#unit-legend-backends tr[data-unit]').evaluateAll((els) => els.map((e) => {
      const d = (e as HTMLElement).dataset;
      return { unit: d.unit!, ops: Number(d.ops), ms: Number(d.ms), share: Number(d.share), text: e.textContent ?? '' };
    }));
    assert.deepEqual(legend.map((l) => [l.unit, l.ops]), orin.backends.units.map((u) => [u.unit, u.ops]));
    const compute = orin.backends.units.reduce((a, u) => a + u.estMs, 0);
    for (const [i, u] of orin.backends.units.entries()) {
      assert.ok(Math.abs(legend[i].ms - u.estMs) <= 1e-9 * Math.max(1, u.estMs), `${u.unit} ms`);
      assert.ok(Math.abs(legend[i].share - u.estMs / compute) < 1e-9);
      assert.ok(legend[i].text.includes(formatMs(u.estMs)) && legend[i].text.includes(`${(100 * u.estMs / compute).toFixed(1)}%`), legend[i].text);
    }

    const strip = (await page.locator('#backends-strip').boundingBox())!;
    const n = orin.schedule.length;
    // A mixed layer's tooltip lists its operators and time per unit.
    await page.locator('#btn-fit-backends').click();
    await waitReady(page, 'graph-backends');
    const mixed = top.find((x) => x.kind === 'group' && (x.mix ?? '').includes(','))!;
    const unitOf = new Map(orin.schedule.map((s) => [`n:${s.node}`, s]));
    const inside = opsUnder(index, mixed.id).map((id) => unitOf.get(id)).filter((s) => s !== undefined);
    const mAt = await nodeScreenPos(page, 'graph-backends', mixed.id);
    await page.mouse.move(mAt.x, mAt.y);
    await page.waitForSelector('#unit-legend-backends-tip:not(.hidden)');
    const mixTip = (await page.locator('#unit-legend-backends-tip').textContent())!;
    for (const u of orin.backends.units) {
      const mine = inside.filter((s) => s.unit === u.unit);
      assert.ok(mixTip.includes(`${mine.length} ops on ${u.unit}: estimated ${formatMs(mine.reduce((a, s) => a + s.estMs, 0))}`), `${mixTip} (${u.unit})`);
    }
    await shot(page, 'backends-graph-collapsed.png');
    await page.mouse.move(5, 5);

    // Open layers: search reveals an operator of features.18 (opening features and features.18), a
    // double-click opens features.17; the two mix CPU and GPU operators, each box coloured one by one.
    await page.locator('#search-backends input').fill('features.18/');
    await page.locator('#search-backends input').press('Enter');
    await page.waitForFunction(() => {
      const cy = (document.getElementById('graph-backends') as HTMLElement & { _cyreg: { cy: { getElementById(i: string): { hasClass(c: string): boolean } } } })._cyreg.cy;
      return document.getElementById('graph-backends')?.dataset.state === 'ready' && cy.getElementById('g:features.18').hasClass('open');
    }, undefined, { timeout: 30_000 });
    await waitReady(page, 'graph-backends');
    await page.evaluate(() => {
      const cy = (document.getElementById('graph-backends') as HTMLElement & { _cyreg: { cy: { center(e: unknown): void; getElementById(i: string): unknown } } })._cyreg.cy;
      cy.center(cy.getElementById('g:features.17'));
    });
    const g17 = await nodeScreenPos(page, 'graph-backends', 'g:features.17');
    await page.mouse.dblclick(g17.x, g17.y);
    await page.waitForFunction(() => {
      const cy = (document.getElementById('graph-backends') as HTMLElement & { _cyreg: { cy: { getElementById(i: string): { hasClass(c: string): boolean } } } })._cyreg.cy;
      return document.getElementById('graph-backends')?.dataset.state === 'ready' && cy.getElementById('g:features.17').hasClass('open');
    }, undefined, { timeout: 30_000 });
    await waitReady(page, 'graph-backends');
    await painted(page, 'graph-backends', 'jetson-orin-nano');
    const open = await drawn(page, 'graph-backends');
    const gpuOrin = checkColours(open, orin, index, 'opened, Orin Nano');
    assert.ok(gpuOrin > 0, 'GPU operators in view');
    assert.ok(open.some((n) => n.kind === 'op' && n.unit === 'cpu'), 'CPU operators in view');

    // The two open layers, fitted: the picture of docs/backends.png.
    await page.evaluate(() => {
      const cy = (document.getElementById('graph-backends') as HTMLElement & { _cyreg: { cy: { fit(e: unknown, pad: number): void; $(s: string): unknown } } })._cyreg.cy;
      cy.fit(cy.$('#g\\:features\\.17, #g\\:features\\.18'), 20);
    });
    const gpuOps = open.filter((x) => x.kind === 'op' && x.unit === 'gpu');
    const shown = await nodeScreenPos(page, 'graph-backends', gpuOps[gpuOps.length - 1].id);
    await page.mouse.move(shown.x, shown.y);
    await page.waitForSelector('#unit-legend-backends-tip:not(.hidden)');
    await shot(page, 'backends-graph-ops.png');
    await page.mouse.move(5, 5);

    // Tooltip: unit and estimated time of a GPU operator.
    const gpuOp = open.find((n) => n.kind === 'op' && n.unit === 'gpu')!;
    const gpuStep = orin.schedule.find((s) => `n:${s.node}` === gpuOp.id)!;
    // Bring it to the middle of the canvas (where no legend covers it), as a user scrolls to it.
    await page.evaluate((id) => {
      const cy = (document.getElementById('graph-backends') as HTMLElement & { _cyreg: { cy: { center(e: unknown): void; getElementById(i: string): unknown } } })._cyreg.cy;
      cy.center(cy.getElementById(id));
    }, gpuOp.id);
    const at = await nodeScreenPos(page, 'graph-backends', gpuOp.id);
    await page.mouse.move(at.x, at.y);
    await page.waitForSelector('#unit-legend-backends-tip:not(.hidden)');
    const tip = (await page.locator('#unit-legend-backends-tip').textContent())!;
    assert.ok(tip.includes('on gpu') && tip.includes(`estimated ${formatMs(gpuStep.estMs)}`), tip);
    await page.mouse.move(5, 5);

    // Hovering the strip marks the step's box in the graph: the operator if drawn, else its closed layer.
    const visible = new Set(open.map((x) => x.id));
    for (const s of [gpuStep, orin.schedule[Math.floor(n * 0.8)]]) {
      await page.mouse.move(strip.x + ((s.step + 0.5) / n) * strip.width, strip.y + strip.height / 2);
      await page.waitForFunction((st) => document.getElementById('backends-strip')?.dataset.hoverStep === String(st), s.step);
      let box: string | null = `n:${s.node}`;
      if (!visible.has(box)) {
        // The outermost drawn closed group on the operator's path.
        const path: string[] = [];
        for (let g = index.leaves.get(box)!.parent; g !== null; g = index.groups.get(g)!.parent) path.unshift(g);
        box = path.find((g) => visible.has(g) && !open.find((x) => x.id === g)!.open) ?? null;
      }
      assert.ok(box, `step ${s.step} has a box`);
      assert.equal(await page.locator('#graph-backends').getAttribute('data-hovered'), box);
    }
    await shot(page, 'backends-graph.png');


    // Another device: the same layout recoloured (no new draw, same positions), counts the compiler's.
    const draws = await page.locator('#graph-backends').getAttribute('data-draws');
    const before = await drawn(page, 'graph-backends');
    const agx = expect('jetson-agx-orin');
    const t1 = Date.now();
    await chooseDevice(page, 'jetson-agx-orin');
    await painted(page, 'graph-backends', 'jetson-agx-orin');
    const recolourMs = Date.now() - t1;
    assert.equal(await page.locator('#graph-backends').getAttribute('data-draws'), draws, 'recoloured without a new layout');
    const after = await drawn(page, 'graph-backends');
    assert.deepEqual(after.map((x) => [x.id, x.x, x.y]), before.map((x) => [x.id, x.x, x.y]));
    const gpuAgx = checkColours(after, agx, index, 'AGX Orin');
    assert.notDeepEqual(after.map((x) => [x.id, x.unit, x.mix]), before.map((x) => [x.id, x.unit, x.mix]), 'the colours changed');
    const legendAgx = await page.locator('#unit-legend-backends tr[data-unit]').evaluateAll((els) => els.map((e) => [(e as HTMLElement).dataset.unit, Number((e as HTMLElement).dataset.ops)]));
    assert.deepEqual(legendAgx, agx.backends.units.map((u) => [u.unit, u.ops]));
    await shot(page, 'backends-graph-agx.png');

    // The light theme: the colours come from the theme's variables, re-read when VS Code changes them.
    await page.evaluate(() => {
      const light: Record<string, string> = {
        '--vscode-editor-background': '#ffffff', '--vscode-editor-foreground': '#3b3b3b', '--vscode-foreground': '#3b3b3b',
        '--vscode-descriptionForeground': '#717171', '--vscode-editorWidget-background': '#f8f8f8', '--vscode-sideBar-background': '#f8f8f8',
        '--vscode-panel-border': '#e5e5e5', '--vscode-charts-blue': '#1a85ff', '--vscode-charts-orange': '#d18616',
        '--vscode-editorLineNumber-foreground': '#6e7681', '--vscode-charts-foreground': '#616161',
      };
      for (const [k, v] of Object.entries(light)) document.documentElement.style.setProperty(k, v);
      document.body.className = 'vscode-light';
      document.body.dataset.vscodeThemeKind = 'vscode-light';
    });
    await page.waitForFunction(() => document.getElementById('graph-backends')?.dataset.state === 'ready');
    await waitReady(page, 'graph-backends');
    const swatch = await page.locator('#unit-legend-backends tr[data-unit="cpu"] .unit-swatch').evaluate((e) => getComputedStyle(e).backgroundColor);
    assert.equal(swatch, 'rgb(26, 133, 255)', 'the CPU swatch follows --vscode-charts-blue');
    checkColours(await drawn(page, 'graph-backends'), agx, index, 'light theme');
    await shot(page, 'backends-graph-light.png');

    console.log(`Backends graph: first paint ${firstPaintMs} ms (plan compile included); with features.17 and .18 open ${gpuOrin} of ${open.filter((x) => x.kind === 'op').length} drawn operators on the GPU on the Orin Nano, ${gpuAgx} on the AGX Orin; device switch recoloured in ${recolourMs} ms (host recompile included)`);
    assert.deepEqual(errors, []);
    assert.deepEqual(await page.evaluate(() => (window as unknown as { __cspViolations: string[] }).__cspViolations), []);
  } catch (e) {
    await shot(page, 'backends-graph-failure.png');
    throw e;
  } finally {
    planSettings.setDevice('host');
    session.dispose();
    await page.close();
  }
});

test('Whole-step tab: the Units toggle colours the same way, and off restores the operator families', { timeout: 60_000 }, async () => {
  const source = loadForView(mobilenet);
  assert.ok('loaded' in source);
  planSettings.setDevice('jetson-orin-nano');
  const training = new TrainingState(source.loaded, 'full (default)', null);
  const { page, session, errors } = await openPage(h, (post) => new GraphSession(mobilenet, source, post, {}, training));
  try {
    const r = compile(source.loaded, { scheme: training.scheme, optimizer: VIEW_OPTIMIZER, target: 'jetson-orin-nano', compare: 'none' });
    await page.locator('#tab-step').click();
    await waitReady(page, 'graph-step');
    assert.ok((await drawn(page, 'graph-step')).every((n) => n.unit === null && !n.none), 'off by default');
    await page.locator('#btn-units-step').click();
    await painted(page, 'graph-step', 'jetson-orin-nano');
    checkColours(await drawn(page, 'graph-step'), r, training.views.models.step.index, 'whole step');
    await page.locator('#btn-units-step').click();
    await page.waitForFunction(() => document.getElementById('graph-step')?.dataset.unitState === undefined);
    assert.ok((await drawn(page, 'graph-step')).every((n) => n.unit === null && !n.none), 'off again');
    assert.ok(await page.locator('#unit-legend-step').evaluate((e) => e.classList.contains('hidden')));
    assert.deepEqual(errors, []);
  } finally {
    planSettings.setDevice('host');
    session.dispose();
    await page.close();
  }
});
