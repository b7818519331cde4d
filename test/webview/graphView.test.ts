// The graph webview in a real browser (Debian chromium through playwright-core): the built bundle
// (dist/webview/graph.js) under the page and CSP that src/views/webviewHtml.ts makes, talking to the real
// host session (src/views/graphSession.ts) and compiler view model through a fake acquireVsCodeApi.
// Screenshots go to .test-output/webview/.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';
import { GraphSession, loadForView } from '../../src/views/graphSession';
import { graphWebviewHtml, makeNonce } from '../../src/views/webviewHtml';
import { createGraphViewModel } from '../../src/compiler/view';
import { loadModel } from '../../src/compiler/loadModel';
import { encodeModel } from '../../src/compiler/onnx/encode';
import type { Model } from '../../src/compiler/ir/graph';
import { buildLlama } from '../../src/compiler/samples/llama';

const repo = path.resolve(__dirname, '..', '..');
const shared = path.resolve(repo, '..', 'shared');
const mobilenet = path.join(shared, 'fixtures', 'mobilenetv2_035', 'model.onnx');
const outDir = path.join(repo, '.test-output', 'webview');
const XSS_NAME = '<img src=x onerror=alert(1)>';

let server: http.Server;
let origin = '';
let browser: Browser;

/** Serves the bundle, the stylesheet and the harness files; the page is the extension's own HTML. */
function startServer(): Promise<void> {
  // Read once: other builds in the same tree may rewrite dist/ while the test runs.
  const read = (f: string): Buffer => fs.readFileSync(f);
  const files: Record<string, [Buffer, string]> = {
    '/dist/webview/graph.js': [read(path.join(repo, 'dist/webview/graph.js')), 'text/javascript'],
    '/media/graph.css': [read(path.join(repo, 'media/graph.css')), 'text/css'],
    '/harness/theme.css': [read(path.join(__dirname, 'harness/theme.css')), 'text/css'],
    '/harness/fake-vscode.js': [read(path.join(__dirname, 'harness/fake-vscode.js')), 'text/javascript'],
  };
  server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/') {
      const nonce = makeNonce();
      let html = graphWebviewHtml({ cspSource: origin, scriptUri: `${origin}/dist/webview/graph.js`, styleUri: `${origin}/media/graph.css`, nonce, title: 'graph' });
      // What VS Code adds around a webview: the theme variables and acquireVsCodeApi (here: the fake).
      html = html
        .replace('<link rel="stylesheet"', `<link rel="stylesheet" href="${origin}/harness/theme.css">\n<script nonce="${nonce}" src="${origin}/harness/fake-vscode.js"></script>\n<link rel="stylesheet"`)
        .replace('<body>', '<body class="vscode-dark" data-vscode-theme-kind="vscode-dark">');
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
      return;
    }
    if (url.pathname === '/favicon.ico') return void res.writeHead(204).end();
    const f = files[url.pathname];
    if (!f) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': f[1] }).end(f[0]);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    resolve();
  }));
}

interface Opened {
  page: Page;
  dialogs: string[];
  errors: string[];
  readyMs: number;
}

async function openGraph(file: string): Promise<Opened> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
  const dialogs: string[] = [];
  const errors: string[] = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  page.on('pageerror', (e) => errors.push(`${e}\n${e.stack}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  const session = new GraphSession(file, loadForView(file), (env) => {
    void page.evaluate((data) => window.dispatchEvent(new MessageEvent('message', { data })), env).catch(() => undefined);
  }, { onWebviewError: (m) => errors.push(`webview: ${m}`) });
  await page.exposeFunction('__hostPost', (json: string) => session.receive(JSON.parse(json)));
  const t0 = Date.now();
  await page.goto(origin + '/');
  await page.waitForSelector('#graph[data-state="ready"], #graph[data-state="error"]', { timeout: 30_000, state: 'attached' });
  return { page, dialogs, errors, readyMs: Date.now() - t0 };
}

/** Node ids that cytoscape holds (cytoscape registers its instance on its container as _cyreg). */
function cyNodeIds(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const el = document.getElementById('graph') as HTMLElement & { _cyreg: { cy: { nodes(): { map<T>(f: (n: { id(): string }) => T): T[] } } } };
    return el._cyreg.cy.nodes().map((n) => n.id());
  });
}

/** Where a node is drawn, in page coordinates. */
async function nodeScreenPos(page: Page, id: string): Promise<{ x: number; y: number }> {
  const p = await page.evaluate((nid) => {
    const el = document.getElementById('graph') as HTMLElement & { _cyreg: { cy: { getElementById(i: string): { renderedPosition(): { x: number; y: number } } } } };
    return el._cyreg.cy.getElementById(nid).renderedPosition();
  }, id);
  const box = (await page.locator('#graph').boundingBox())!;
  return { x: box.x + p.x, y: box.y + p.y };
}

/** Laid out, drawn, and the viewport animation (reveal/fit) over, so rendered positions hold still. */
async function waitReady(page: Page): Promise<void> {
  await page.waitForFunction(() => {
    const el = document.getElementById('graph') as HTMLElement & { _cyreg: { cy: { animated(): boolean } } };
    return el?.dataset.state === 'ready' && !el._cyreg.cy.animated();
  });
}

/** The page's own timing of its last update (see GraphView.setExpanded). */
async function timings(page: Page): Promise<string> {
  const d = await page.evaluate(() => ({ ...document.getElementById('graph')!.dataset }));
  return `in page: request ${d.requestMs} ms, layout ${d.layoutMs} ms (${d.laidOutGroups} groups), draw ${d.drawMs} ms, total ${d.updateMs} ms`;
}

async function shot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(outDir, { recursive: true });
  await page.screenshot({ path: path.join(outDir, name) });
}

async function noCspViolations(page: Page): Promise<void> {
  assert.deepEqual(await page.evaluate(() => (window as unknown as { __cspViolations: string[] }).__cspViolations), []);
}

before(async () => {
  assert.ok(fs.existsSync(path.join(repo, 'dist/webview/graph.js')), 'dist/webview/graph.js is missing: run `npm run build` (npm test builds first)');
  await startServer();
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
  });
});

after(async () => {
  await browser?.close();
  server?.close();
});

test('MobileNetV2 opens collapsed, a layer expands, details and search work', async () => {
  const vm = createGraphViewModel(loadModel(mobilenet));
  const collapsed = vm.visible([]);
  const { page, dialogs, errors, readyMs } = await openGraph(mobilenet);
  try {
    // Collapsed: exactly the items of the compiler's collapsed view.
    const ids = await cyNodeIds(page);
    assert.ok(ids.length > 0);
    assert.deepEqual(ids.sort(), collapsed.items.map((i) => i.id).sort());
    assert.equal(await page.locator('#graph').getAttribute('data-node-count'), String(collapsed.items.length));
    await shot(page, 'mobilenet-collapsed.png');

    await waitReady(page);
    // Double-click the "features" layer: its members are added.
    const expanded = vm.visible(['g:features']);
    const pos = await nodeScreenPos(page, 'g:features');
    const t0 = Date.now();
    await page.mouse.dblclick(pos.x, pos.y);
    await page.waitForFunction((n) => document.getElementById('graph')?.dataset.nodeCount === String(n), expanded.items.length);
    await waitReady(page);
    const expandMs = Date.now() - t0;
    const expandTimings = await timings(page);
    const after = await cyNodeIds(page);
    assert.ok(after.length > ids.length);
    assert.deepEqual(after.sort(), expanded.items.map((i) => i.id).sort());
    for (const m of vm.index.groups.get('g:features')!.members) assert.ok(after.includes(m), `member ${m} drawn`);
    await shot(page, 'mobilenet-features-open.png');

    // Open a block whose operators show directly, then select its Conv: the details panel shows it.
    const block = vm.index.groups.get('g:features')!.members.find((m) => vm.visible(['g:features', m]).items.some((i) => i.opType === 'Conv' && i.parent === m))!;
    const bpos = await nodeScreenPos(page, block);
    await page.mouse.dblclick(bpos.x, bpos.y);
    const deeper = vm.visible(['g:features', block]);
    await page.waitForFunction((n) => document.getElementById('graph')?.dataset.nodeCount === String(n), deeper.items.length);
    await waitReady(page);
    const conv = deeper.items.find((i) => i.opType === 'Conv' && i.parent === block)!;
    assert.ok((await cyNodeIds(page)).includes(conv.id));
    const cpos = await nodeScreenPos(page, conv.id);
    await page.mouse.click(cpos.x, cpos.y);
    const d = vm.details(conv.id) as { node: { name: string; inputs: { name: string }[] } };
    await page.waitForFunction((name) => document.getElementById('details')?.textContent?.includes(name) ?? false, d.node.name);
    const detailsText = (await page.locator('#details').textContent())!;
    assert.ok(detailsText.includes('Conv'));
    for (const inp of d.node.inputs) assert.ok(detailsText.includes(inp.name), `input ${inp.name} listed`);
    assert.ok(detailsText.includes('parameter'));
    await shot(page, 'mobilenet-block-details.png');

    // Search by op type: the one Gemm is found, its layer opened and the node selected.
    const want = vm.search('Gemm');
    assert.equal(want.total, 1);
    await page.locator('#search input').fill('Gemm');
    await page.locator('#search input').press('Enter');
    await page.waitForFunction(() => document.getElementById('search-status')?.dataset.count !== undefined);
    assert.equal(await page.locator('#search-status').getAttribute('data-count'), String(want.total));
    await page.waitForFunction((id) => {
      const el = document.getElementById('graph') as HTMLElement & { _cyreg: { cy: { getElementById(i: string): { nonempty(): boolean; selected(): boolean } } } };
      const n = el._cyreg.cy.getElementById(id);
      return n.nonempty() && n.selected() && el.dataset.state === 'ready';
    }, want.matches[0].id);
    await page.waitForFunction(() => document.getElementById('details')?.textContent?.includes('Gemm') ?? false);
    await waitReady(page);
    // The found node is brought into view.
    const gpos = await nodeScreenPos(page, want.matches[0].id);
    const gbox = (await page.locator('#graph').boundingBox())!;
    assert.ok(gpos.x > gbox.x && gpos.x < gbox.x + gbox.width && gpos.y > gbox.y && gpos.y < gbox.y + gbox.height, 'the match is on screen');
    await shot(page, 'mobilenet-search-gemm.png');

    assert.deepEqual(dialogs, []);
    assert.deepEqual(errors, []);
    await noCspViolations(page);
    console.log(`# MobileNetV2: ready ${readyMs} ms after navigation; open "features" ${expandMs} ms, ${expandTimings} (${collapsed.items.length} -> ${expanded.items.length} boxes)`);
  } finally {
    await page.close();
  }
});

test('LLaMA-2-7B-shaped graph opens collapsed and opens one decoder layer', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pockengine-7b-'));
  const file = path.join(dir, 'llama7b.onnx');
  fs.writeFileSync(file, encodeModel(buildLlama()));
  const vm = createGraphViewModel(loadModel(file));
  const { page, errors, readyMs } = await openGraph(file);
  try {
    assert.equal(await page.locator('#graph').getAttribute('data-node-count'), String(vm.visible([]).items.length));
    await waitReady(page);
    const open = async (id: string, expanded: string[]): Promise<number> => {
      const pos = await nodeScreenPos(page, id);
      const t0 = Date.now();
      await page.mouse.dblclick(pos.x, pos.y);
      await page.waitForFunction((n) => document.getElementById('graph')?.dataset.nodeCount === String(n), vm.visible(expanded).items.length);
      await waitReady(page);
      return Date.now() - t0;
    };
    const layersMs = await open('g:layers', ['g:layers']);
    const layerMs = await open('g:layers.0', ['g:layers', 'g:layers.0']);
    await shot(page, 'llama7b-layer0-open.png');
    assert.deepEqual(errors, []);
    console.log(`# 7B-shaped: ready ${readyMs} ms after navigation; open "layers" (32 blocks) ${layersMs} ms; open layers.0 ${layerMs} ms (${await timings(page)})`);
  } finally {
    await page.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a node named like markup renders as text and runs nothing; unknown ops are marked', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pockengine-xss-'));
  const file = path.join(dir, 'xss.onnx');
  const f32 = (shape: number[]) => ({ dtype: 'float32' as const, shape });
  const model: Model = {
    path: '', irVersion: 8, opsets: { '': 17, 'com.example': 1 }, producerName: '<script>alert(2)</script>', producerVersion: '', modelVersion: 1,
    docString: '', metadata: {}, warnings: [],
    graph: {
      name: 'g', docString: '', inputs: ['x'], outputs: ['z'], initializers: new Map(),
      values: new Map([
        ['x', { name: 'x', type: f32([1, 4]) }],
        ['y', { name: 'y', type: f32([1, 4]) }],
        ['z', { name: 'z', type: f32([1, 4]) }],
      ]),
      nodes: [
        { id: XSS_NAME, name: XSS_NAME, opType: 'Relu', domain: '', inputs: ['x'], outputs: ['y'], attrs: { note: { type: 'string', value: '<b onmouseover=alert(3)>x</b>' } }, layer: '' },
        { id: 'fancy', name: 'fancy', opType: 'FancyOp', domain: 'com.example', inputs: ['y'], outputs: ['z'], attrs: {}, layer: '' },
      ],
    },
  };
  fs.writeFileSync(file, encodeModel(model));
  const vm = createGraphViewModel(loadModel(file));
  const { page, dialogs, errors } = await openGraph(file);
  try {
    const ids = await cyNodeIds(page);
    assert.deepEqual(ids.sort(), vm.visible([]).items.map((i) => i.id).sort());
    const id = `n:${XSS_NAME}`;
    const label = await page.evaluate((nid) => {
      const el = document.getElementById('graph') as HTMLElement & { _cyreg: { cy: { getElementById(i: string): { data(k: string): string } } } };
      return el._cyreg.cy.getElementById(nid).data('label');
    }, id);
    assert.ok(label.includes(XSS_NAME), 'the canvas label holds the name as text');

    const pos = await nodeScreenPos(page, id);
    await page.mouse.click(pos.x, pos.y);
    await page.waitForFunction((name) => document.getElementById('details')?.textContent?.includes(name) ?? false, XSS_NAME);
    assert.equal(await page.locator('#details img').count(), 0);
    assert.equal(await page.locator('img, b, script:not([src])').count(), 0, 'no element made from model strings');
    assert.ok((await page.locator('#details').textContent())!.includes('<b onmouseover=alert(3)>x</b>'));
    await page.locator('#details').hover();
    await shot(page, 'xss-name-as-text.png');

    // The unknown operator is drawn and marked.
    const fancy = vm.visible([]).items.find((i) => i.opType === 'FancyOp')!;
    assert.equal(fancy.unknown, true);
    assert.ok(await page.evaluate((nid) => {
      const el = document.getElementById('graph') as HTMLElement & { _cyreg: { cy: { getElementById(i: string): { hasClass(c: string): boolean } } } };
      return el._cyreg.cy.getElementById(nid).hasClass('unknown');
    }, fancy.id));

    assert.deepEqual(dialogs, [], 'no script from the model ran');
    assert.deepEqual(errors, []);
    await noCspViolations(page);
  } finally {
    await page.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a file that is not a model shows the load error instead of a graph', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pockengine-bad-'));
  const file = path.join(dir, 'broken.onnx');
  fs.writeFileSync(file, fs.readFileSync(mobilenet).subarray(0, 1000));
  const expected = loadForView(file);
  assert.ok('error' in expected);
  const { page, dialogs } = await openGraph(file);
  try {
    assert.equal(await page.locator('#graph').getAttribute('data-state'), 'error');
    assert.equal(await page.locator('#load-error-message').textContent(), expected.error);
    await shot(page, 'load-error.png');
    assert.deepEqual(dialogs, []);
    await noCspViolations(page);
  } finally {
    await page.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
