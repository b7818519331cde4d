// A real VS Code for one end-to-end test: the cached code-server, the freshly packaged .vsix installed into
// a throwaway user-data/extensions folder, a workspace the test fills, and a headless Chromium page on the
// workbench. Everything is removed when the test ends.
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type Browser, type Frame, type Page } from 'playwright-core';
import { ensureCodeServer, freePort, installExtension, openInWindow, repoRoot, startCodeServer, workbenchUrl, type CodeServer } from '../../../scripts/tools/codeServer.mjs';
import { packageExtension, restoreDevBuild } from './packageExtension';

export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const outDir = path.join(repoRoot, '.test-output', 'e2e');

/** Settings that keep the workbench from covering the editor with welcome pages, tips and prompts. */
export const QUIET_SETTINGS = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'security.workspace.trust.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'update.mode': 'none',
  'chat.commandCenter.enabled': false,
  'git.openRepositoryInParentFolders': 'never',
};

export interface Workbench {
  page: Page;
  tmp: string;
  workspace: string;
  userDataDir: string;
  /** A screenshot under .test-output/e2e/ (never fails the test). */
  screenshot(name: string): Promise<unknown>;
}

/**
 * `prepare` fills the workspace before code-server starts and returns settings beyond the quiet ones.
 * Cleanup hooks it registers on `t` run before the workbench's own (browser, server, temp folder).
 */
export async function startWorkbench(
  t: TestContext,
  prefix: string,
  prepare: (dirs: { tmp: string; workspace: string }) => Promise<Record<string, unknown> | void> | Record<string, unknown> | void,
): Promise<Workbench> {
  assert.ok(fs.existsSync(chromiumPath), `no browser at ${chromiumPath}: apt-get install chromium (or set CHROMIUM_PATH)`);
  await ensureCodeServer({ log: (m: string) => t.diagnostic(m) });
  const vsix = packageExtension();
  t.after(restoreDevBuild);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `pockengine-${prefix}-`));
  const userDataDir = path.join(tmp, 'user-data'), extensionsDir = path.join(tmp, 'extensions'), workspace = path.join(tmp, 'workspace');
  fs.mkdirSync(workspace, { recursive: true });
  let server: CodeServer | undefined;
  let browser: Browser | undefined;
  t.after(async () => {
    await browser?.close().catch(() => undefined);
    await server?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });
  const settings = (await prepare({ tmp, workspace })) ?? {};
  assert.match(installExtension(vsix, { extensionsDir, userDataDir }), /successfully installed/i);
  server = await startCodeServer({ port: await freePort(), extensionsDir, userDataDir, folder: workspace, settings: { ...QUIET_SETTINGS, ...settings } });
  browser = await chromium.launch({ executablePath: chromiumPath, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'] });
  const page = await browser.newPage({ viewport: { width: 1500, height: 950 } });
  fs.mkdirSync(outDir, { recursive: true });
  await page.goto(workbenchUrl(server.url, workspace), { timeout: 60_000 });
  await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
  return { page, tmp, workspace, userDataDir, screenshot: (name) => page.screenshot({ path: path.join(outDir, name) }).catch(() => undefined) };
}

/** Opens a file in the window as `npm start` does (`code-server --reuse-window`), once the window has connected. */
export async function openFile(w: Workbench, file: string): Promise<void> {
  const deadline = Date.now() + 90_000;
  while (!(await openInWindow(file, { userDataDir: w.userDataDir }))) {
    if (Date.now() > deadline) throw new Error('code-server --reuse-window found no connected window within 90 s');
    await w.page.waitForTimeout(500);
  }
}

/** The webview frame whose graph is drawn (the custom editor nests it in iframes). */
export async function graphFrame(page: Page, timeoutMs: number): Promise<Frame> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const f of page.frames()) {
      if (await f.evaluate(() => document.getElementById('graph')?.dataset.state === 'ready').catch(() => false)) return f;
    }
    await page.waitForTimeout(500);
  }
  throw new Error(`no drawn graph within ${timeoutMs / 1000} s`);
}
