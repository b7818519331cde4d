// The training tabs in a real browser, driven by the real host session: Forward/Backward counts equal the
// compiler's, selecting a forward Conv highlights its backward nodes across tabs, a layer toggle (the
// same SetLayerUpdate message the graph view's layer actions send, applied to the scheme text the way the
// extension applies it to the document) regreys the Backward tab in place and keeps its zoom, and
// "Hide pruned" leaves the pruned nodes out. Screenshots: .test-output/webview/training-*.png.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GraphSession, loadForView } from '../../src/views/graphSession';
import { TrainingState, VIEW_OPTIMIZER } from '../../src/views/trainingState';
import { setLayerUpdate, DEFAULT_SCHEME } from '../../src/views/schemeDocument';
import { applyScheme } from '../../src/compiler/sparse/applyScheme';
import { MessageType } from '../../src/protocol';
import { cyNodes, nodeScreenPos, openPage, repo, shot, startHarness, viewport, waitReady, type Harness } from './harness/browser';

const mobilenet = path.resolve(repo, '..', 'shared', 'fixtures', 'mobilenetv2_035', 'model.onnx');
let h: Harness;

before(async () => {
  assert.ok(fs.existsSync(path.join(repo, 'dist/webview/graph.js')), 'dist/webview/graph.js is missing: run `npm run build` (npm test builds first)');
  h = await startHarness();
});
after(async () => h?.close());

test('MobileNetV2 training tabs: counts, forward<->backward links, live toggle, hide pruned', async () => {
  const source = loadForView(mobilenet);
  assert.ok('loaded' in source);
  const training = new TrainingState(source.loaded, 'full (default)', null);
  // The scheme document as text: the layer action edits it, and the edited text recompiles (as in VS Code).
  let schemeText: string | null = null;
  const { page, session, errors } = await openPage(h, (post) => new GraphSession(mobilenet, source, post, {
    onSetLayerUpdate: (layer, update) => {
      schemeText = setLayerUpdate(schemeText, layer, update);
      training.setSchemeText(schemeText, 'model.pockengine.json');
    },
  }, training));
  try {
    // Counts equal the compiler's report for the default (full) scheme.
    const report = applyScheme(source.loaded, DEFAULT_SCHEME, { optimizer: VIEW_OPTIMIZER }).report;
    await page.locator('#tab-forward').click();
    await waitReady(page, 'graph-forward');
    assert.equal(await page.locator('#graph-counts-forward').getAttribute('data-nodes'), String(report.forward.nodes));
    const fwdView = training.views.models.forward.visible([]);
    assert.deepEqual((await cyNodes(page, 'graph-forward')).map((n) => n.id).sort(), fwdView.items.map((i) => i.id).sort());
    await shot(page, 'training-forward.png');

    // Optimizer and Whole step render too, with the compiler's counts.
    await page.locator('#tab-optimizer').click();
    await waitReady(page, 'graph-optimizer');
    assert.equal(await page.locator('#graph-counts-optimizer').getAttribute('data-nodes'), String(report.optimizer.nodes));
    assert.ok(Number(await page.locator('#graph-optimizer').getAttribute('data-node-count')) > 0);
    await page.locator('#tab-step').click();
    await waitReady(page, 'graph-step');
    assert.equal(await page.locator('#graph-counts-step').getAttribute('data-nodes'), String(training.st.tg.graph.nodes.length));
    await shot(page, 'training-step.png');
    await page.locator('#tab-forward').click();

    // Select the first forward Conv (search reveals and selects it).
    await page.locator('#search-forward input').fill('Conv');
    await page.locator('#search-forward input').press('Enter');
    await waitReady(page, 'graph-forward');
    const conv = training.views.models.forward.search('Conv').matches[0];
    await page.waitForFunction((id) => {
      const el = document.getElementById('graph-forward') as HTMLElement & { _cyreg: { cy: { $(s: string): { map<T>(f: (n: { id(): string }) => T): T[] } } } };
      return el._cyreg.cy.$(':selected').map((n) => n.id()).includes(id);
    }, conv.id);
    const backOf = training.st.full.ann.backwardOf.get(conv.id.slice(2)) ?? [];
    assert.ok(backOf.length > 0, 'the Conv has backward nodes');

    // Switch to Backward: its boxes holding those backward nodes are highlighted.
    await page.locator('#tab-backward').click();
    await waitReady(page, 'graph-backward');
    assert.equal(await page.locator('#graph-counts-backward').getAttribute('data-nodes'), String(report.backward.nodes));
    const bwd = training.views.models.backward;
    const expectLinked = (expanded: string[]): string[] => {
      const visible = new Set(bwd.visible(expanded).items.map((i) => i.id));
      const reps = new Set<string>();
      for (const b of backOf) {
        const id = `n:${b}`;
        if (visible.has(id)) { reps.add(id); continue; }
        let p = bwd.index.leaves.get(id)?.parent ?? null;
        let shown: string | null = null;
        while (p !== null) { if (visible.has(p) && !expanded.includes(p)) shown = p; p = bwd.index.groups.get(p)?.parent ?? null; }
        if (shown) reps.add(shown);
      }
      return [...reps].sort();
    };
    const linked0 = (await cyNodes(page, 'graph-backward')).filter((n) => n.linked).map((n) => n.id).sort();
    assert.deepEqual(linked0, expectLinked([]));
    assert.ok(linked0.length > 0);

    // Reveal the Conv's first backward node (the host's Reveal, as the Layers tree sends): its layers open,
    // it is selected, and its sibling backward nodes (same forward Conv) are highlighted.
    const path0 = bwd.index.leaves.get(`n:${backOf[0]}`)!;
    const opened: string[] = [];
    for (let g = path0.parent; g !== null; g = bwd.index.groups.get(g)!.parent) opened.unshift(g);
    session.send({ type: MessageType.Reveal, graph: 'backward', id: path0.id, path: opened });
    await page.waitForFunction(([cid, n]) => document.getElementById(cid)?.dataset.nodeCount === String(n), ['graph-backward', bwd.visible(opened).items.length] as const);
    await waitReady(page, 'graph-backward');
    await page.waitForFunction(([cid, n]) => document.getElementById(cid)?.dataset.linkedCount === String(n), ['graph-backward', expectLinked(opened).filter((i) => i !== path0.id).length] as const);
    const linked1 = (await cyNodes(page, 'graph-backward')).filter((n) => n.linked).map((n) => n.id).sort();
    assert.deepEqual(linked1, expectLinked(opened).filter((i) => i !== path0.id));
    assert.ok(backOf.length < 2 || linked1.includes(`n:${backOf[1]}`));
    await shot(page, 'training-backward-linked.png');

    // Zoom in, then freeze "features" with the layer action message: the greyed nodes follow, zoom stays.
    await page.locator('#btn-zoom-in-backward').click();
    const vpBefore = await viewport(page, 'graph-backward');
    assert.equal((await cyNodes(page, 'graph-backward')).filter((n) => n.pruned).length, 0);
    const t0 = Date.now();
    session.receive({ messageId: 9001, body: { type: MessageType.SetLayerUpdate, layer: 'features', update: 'frozen' } });
    await page.waitForFunction(() => document.getElementById('graph-backward')?.dataset.trainingVersion === '1');
    const toggleMs = Date.now() - t0;
    await waitReady(page, 'graph-backward');
    assert.ok(schemeText && JSON.parse(schemeText).rules.some((r: { match: string; update: string }) => r.match === 'features' && r.update === 'frozen'));
    const overlay = training.views.pruned.backward;
    const prunedSet = new Set(overlay.items);
    const drawn = await cyNodes(page, 'graph-backward');
    const expectPruned = drawn.filter((n) => prunedSet.has(n.id) || overlay.groups[n.id] === 1).map((n) => n.id).sort();
    assert.ok(expectPruned.length > 0, 'freezing features prunes visible backward nodes');
    assert.deepEqual(drawn.filter((n) => n.pruned).map((n) => n.id).sort(), expectPruned);
    assert.deepEqual(await viewport(page, 'graph-backward'), vpBefore, 'zoom and pan kept');
    const newReport = applyScheme(source.loaded, training.scheme, { optimizer: VIEW_OPTIMIZER }).report;
    assert.equal(await page.locator('#graph-counts-backward').getAttribute('data-nodes'), String(newReport.backward.nodes));
    assert.equal(await page.locator('#graph-counts-backward').getAttribute('data-pruned'), String(newReport.backward.prunedNodes));
    const hostMs = training.compileMs;
    console.log(`toggle features -> greyed Backward tab: ${toggleMs} ms end to end (host recompile ${hostMs.toFixed(0)} ms, page restyle ${await page.locator('#graph-backward').getAttribute('data-training-update-ms')} ms)`);

    // A pruned node's details say why.
    const prunedLeaf = drawn.find((n) => prunedSet.has(n.id))!;
    const ppos = await nodeScreenPos(page, 'graph-backward', prunedLeaf.id);
    await page.mouse.click(ppos.x, ppos.y);
    await page.waitForSelector('#details-backward #pruned-reason');
    assert.match((await page.locator('#details-backward #pruned-reason').textContent())!, /features/);
    await shot(page, 'training-backward-pruned.png');

    // Hide pruned: exactly the unpruned items remain.
    await page.locator('#btn-hide-pruned-backward').click();
    await page.waitForFunction(() => document.getElementById('graph-backward')?.dataset.hidePruned === 'true');
    await waitReady(page, 'graph-backward');
    const shownIds = (await cyNodes(page, 'graph-backward')).map((n) => n.id);
    assert.ok(shownIds.length > 0 && shownIds.length < drawn.length);
    for (const id of shownIds) assert.ok(!prunedSet.has(id) && overlay.groups[id] !== 1, `${id} is not pruned`);
    await shot(page, 'training-backward-hidden.png');

    // Hand-editing the scheme into invalid JSON: the tab says so and the last valid scheme stays in effect.
    const prunedBefore = await page.locator('#graph-counts-backward').getAttribute('data-pruned');
    training.setSchemeText('{ "default": "full", "rules": [', 'model.pockengine.json');
    await page.waitForFunction(() => document.getElementById('graph-counts-backward')?.classList.contains('error-text'));
    assert.equal(await page.locator('#graph-counts-backward').getAttribute('data-pruned'), prunedBefore);
    await page.mouse.click(60, 500); // empty canvas: the details show the step summary with the error
    await page.waitForSelector('#details-backward .scheme-error');
    assert.match((await page.locator('#details-backward .scheme-error').textContent())!, /not valid JSON/);
    await shot(page, 'training-scheme-error.png');

    assert.deepEqual(errors, []);
  } finally {
    session.dispose();
    await page.close();
  }
});
