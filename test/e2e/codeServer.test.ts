// End-to-end in a real VS Code: the packaged .vsix is installed into code-server (the VS Code workbench
// served to a browser), every fixture model is opened, and Playwright looks inside the custom editor's
// webview (nested iframes) for the drawn graph. code-server is a cached tool install (scripts/tools/codeServer.mjs),
// set up here on first use; if it cannot be installed this test fails, saying why.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type Browser, type Frame, type Page } from 'playwright-core';
import { ensureCodeServer, freePort, installExtension, repoRoot, openInWindow, startCodeServer, workbenchUrl, type CodeServer } from '../../scripts/tools/codeServer.mjs';
import { packageExtension, restoreDevBuild } from './support/packageExtension';
import { zipEntries } from './support/zipEntries';
import { loadModel } from '../../src/compiler/loadModel';
import { QUIET_SETTINGS } from './support/workbench';

const fixturesDir = path.resolve(repoRoot, '..', 'shared', 'fixtures');
const outDir = path.join(repoRoot, '.test-output', 'e2e');
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

test('code-server: the packaged extension opens every fixture model and draws its graph', { timeout: 30 * 60_000 }, async (t) => {
  assert.ok(fs.existsSync(fixturesDir), `fixtures missing: ${fixturesDir} (the shared fixtures must sit beside the repository)`);
  assert.ok(fs.existsSync(chromiumPath), `no browser at ${chromiumPath}: apt-get install chromium (or set CHROMIUM_PATH)`);

  let entry: string;
  try {
    entry = await ensureCodeServer({ log: (m) => t.diagnostic(m) });
  } catch (e) {
    assert.fail(`code-server could not be installed, so VS Code cannot be tested: ${(e as Error).message}`);
  }
  t.diagnostic(`code-server: ${entry}`);

  const vsix = packageExtension();
  t.after(restoreDevBuild);
  await t.test('the .vsix holds only what the extension needs at run time', () => {
    const entries = zipEntries(vsix);
    const names = entries.map((e) => e.name);
    t.diagnostic(`${path.basename(vsix)}: ${entries.length} files, ${Math.round(fs.statSync(vsix).size / 1024)} KiB: ${names.join(', ')}`);
    for (const required of ['extension/package.json', 'extension/dist/extension.js', 'extension/dist/cli.js']) {
      assert.ok(names.includes(required), `${required} missing from the .vsix`);
    }
    assert.ok(names.some((n) => /^extension\/dist\/webview\/[^/]+\.js$/.test(n)), 'no webview bundle in the .vsix');
    const runTime = /^(extension\.vsixmanifest|\[Content_Types\]\.xml|extension\/(package\.json|readme\.md|changelog\.md|LICENSE\.txt|dist\/(extension|cli)\.js|dist\/webview\/[^/]+\.(js|css|ttf|woff2?)|media\/[^/]+\.(svg|png|css)))$/;
    assert.deepEqual(names.filter((n) => !runTime.test(n)), [], 'files in the .vsix that are not needed at run time');
  });

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pockengine-e2e-'));
  const userDataDir = path.join(tmp, 'user-data');
  const extensionsDir = path.join(tmp, 'extensions');
  const workspace = path.join(tmp, 'workspace');
  fs.mkdirSync(workspace, { recursive: true });
  // Every fixture, each under its own name so that the editor tabs and summaries tell them apart.
  const models = fixtureNames().map((name) => {
    const file = path.join(workspace, `${name}.onnx`);
    fs.copyFileSync(path.join(fixturesDir, name, 'model.onnx'), file);
    return { name, file };
  });
  assert.ok(models.some((m) => m.name === 'mobilenetv2_035'), `no mobilenetv2_035 under ${fixturesDir}`);

  const installed = installExtension(vsix, { extensionsDir, userDataDir });
  assert.match(installed, /successfully installed/i);
  const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));
  const extId = `${pkg.publisher}.${pkg.name}-${pkg.version}`;
  assert.ok(fs.existsSync(path.join(extensionsDir, extId, 'dist', 'extension.js')), `${extId} is not in ${extensionsDir}`);

  let server: CodeServer | undefined;
  let browser: Browser | undefined;
  t.after(async () => {
    await browser?.close().catch(() => undefined);
    await server?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const port = await freePort();
  server = await startCodeServer({ port, extensionsDir, userDataDir, folder: workspace, settings: QUIET_SETTINGS });
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  fs.mkdirSync(outDir, { recursive: true });
  const failWith = async (e: unknown, screenshot: string): Promise<never> => {
    await page.screenshot({ path: screenshot }).catch(() => undefined);
    throw new Error(`${(e as Error).message}\n--- diagnostics (screenshot ${screenshot}) ---\n${diagnostics(userDataDir, server, pageErrors)}`);
  };

  try {
    await page.goto(workbenchUrl(server.url, workspace), { timeout: 60_000 });
    await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
  } catch (e) {
    await failWith(e, path.join(outDir, 'code-server-workbench.png'));
  }

  for (const { name, file } of models) {
    await t.test(`${name}: opens in the PockEngine editor and its graph is drawn`, async (st) => {
      const screenshot = path.join(outDir, `code-server-${name}.png`);
      const fileName = path.basename(file);
      try {
        // Open the model the way `npm start` does: `code-server --reuse-window <file>` into this window
        // (retried until the window's extension host has connected).
        const deadline = Date.now() + 90_000;
        while (!(await openInWindow(file, { userDataDir }))) {
          if (Date.now() > deadline) throw new Error('code-server --reuse-window found no connected window within 90 s');
          await page.waitForTimeout(500);
        }
        await page.locator('.tab.active', { hasText: fileName }).waitFor({ timeout: 60_000 });

        const graph = await waitForGraph(page, fileName, 120_000);
        const { text, ...counts } = graph;
        st.diagnostic(`webview graph: ${JSON.stringify(counts)}`);
        assert.equal(graph.state, 'ready');
        assert.ok(graph.nodeCount > 0, `the graph drew no nodes: ${JSON.stringify(counts)}`);
        assert.ok(graph.edgeCount > 0, `the graph drew no edges: ${JSON.stringify(counts)}`);
        assert.ok(graph.canvases > 0, 'the graph has no drawn canvas');
        // It is this model: its summary reports the operator count our importer finds.
        const operators = loadModel(file).model.graph.nodes.length;
        assert.match(text.replace(/[,\u202f\u00a0]/g, ''), new RegExp(`Operators\\s+${operators}\\b`), `the webview does not report ${operators} operators`);
        await page.screenshot({ path: screenshot });
        st.diagnostic(`screenshot: ${path.relative(repoRoot, screenshot)}`);
      } catch (e) {
        await failWith(e, screenshot);
      }
    });
  }
});

function fixtureNames(): string[] {
  return fs
    .readdirSync(fixturesDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && fs.existsSync(path.join(fixturesDir, d.name, 'model.onnx')))
    .map((d) => d.name)
    .sort();
}


interface GraphState {
  state: string;
  nodeCount: number;
  edgeCount: number;
  canvases: number;
  /** The webview's visible text (details panel: file name, operator count, ...). */
  text: string;
}

/**
 * Search every frame (a webview is an iframe inside an iframe; editors opened earlier keep theirs) for the
 * #graph whose page names `fileName`, until it is ready.
 */
async function waitForGraph(page: Page, fileName: string, timeoutMs: number): Promise<GraphState> {
  const deadline = Date.now() + timeoutMs;
  let last: GraphState | null = null;
  while (Date.now() < deadline) {
    for (const frame of page.frames()) {
      const s = await graphIn(frame);
      if (!s || !s.text.includes(fileName)) continue;
      last = s;
      if (s.state === 'ready' && s.nodeCount > 0) return s;
      if (s.state === 'error') {
        const message = await frame.evaluate(() => document.body.innerText.slice(0, 2000)).catch(() => '');
        throw new Error(`the graph view reports an error:\n${message}`);
      }
    }
    await page.waitForTimeout(500);
  }
  throw new Error(`no drawn graph of ${fileName} within ${timeoutMs / 1000} s; last #graph seen: ${JSON.stringify(last)}; frames: ${page.frames().map((f) => f.url().slice(0, 120)).join(' | ')}`);
}

async function graphIn(frame: Frame): Promise<GraphState | null> {
  try {
    return await frame.evaluate(() => {
      const g = document.getElementById('graph');
      if (!g) return null;
      return {
        state: g.dataset.state ?? '',
        nodeCount: Number(g.dataset.nodeCount ?? 0),
        edgeCount: Number(g.dataset.edgeCount ?? 0),
        canvases: g.querySelectorAll('canvas').length,
        text: document.body.innerText,
      };
    });
  } catch {
    return null; // frame detached or navigating
  }
}

/** What helps when it fails: the extension host's log, code-server's output, errors in the page. */
function diagnostics(userDataDir: string, server: CodeServer | undefined, pageErrors: string[]): string {
  const logs: string[] = [];
  const walk = (d: string) => {
    if (!fs.existsSync(d)) return;
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/exthost|remoteagent|pockengine/i.test(p) && p.endsWith('.log')) logs.push(p);
    }
  };
  walk(path.join(userDataDir, 'logs'));
  const tail = (s: string, n: number) => s.trimEnd().split('\n').slice(-n).join('\n');
  return [
    ...logs.map((l) => `${path.relative(userDataDir, l)}:\n${tail(fs.readFileSync(l, 'utf8'), 30)}`),
    `code-server output:\n${tail(server?.output() ?? '', 30)}`,
    `page errors:\n${pageErrors.slice(-10).join('\n')}`,
  ].join('\n\n');
}
