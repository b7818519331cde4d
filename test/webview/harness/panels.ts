// The browser harness of the Run and Fit panels: serves the extension's own panel page (its CSP, the built
// bundle, media/panels.css) with the fake acquireVsCodeApi; the test sees every message the webview posts
// and delivers host messages as window 'message' events, as VS Code does.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { panelWebviewHtml } from '../../../src/views/webviewHtml';
import type { Envelope } from '../../../src/protocol';

import { repo, serveWebview, type Harness } from './server';

export { repo };
export const outDir = path.join(repo, '.test-output', 'webview');

export type PanelHarness = Harness;

/** `bundle`: 'run' or 'fit' (dist/webview/<bundle>.js). */
export async function startPanelHarness(bundle: string): Promise<PanelHarness> {
  return serveWebview(
    { [`/dist/webview/${bundle}.js`]: path.join(repo, `dist/webview/${bundle}.js`), '/media/panels.css': path.join(repo, 'media/panels.css') },
    (origin, nonce) => panelWebviewHtml({ cspSource: origin, scriptUri: `${origin}/dist/webview/${bundle}.js`, styleUri: `${origin}/media/panels.css`, nonce, title: bundle }),
  );
}

export interface PanelPage<Out extends { type: string }, In extends { type: string }> {
  page: Page;
  /** Every message body the webview posted, in order. */
  posted: Out[];
  errors: string[];
  /** Delivers a host message to the webview. */
  send(body: In): Promise<void>;
  /** Resolves when the webview has posted a message of this type (returns it). */
  waitFor(type: string, timeoutMs?: number): Promise<Out>;
  cspViolations(): Promise<string[]>;
}

export async function openPanel<Out extends { type: string }, In extends { type: string }>(h: PanelHarness, viewport = { width: 1100, height: 620 }): Promise<PanelPage<Out, In>> {
  const page = await h.browser.newPage({ viewport });
  const errors: string[] = [];
  const posted: Out[] = [];
  const waiters: { type: string; resolve: (m: Out) => void }[] = [];
  page.on('pageerror', (e) => errors.push(`${e}\n${e.stack}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  await page.exposeFunction('__hostPost', (json: string) => {
    const body = (JSON.parse(json) as Envelope<Out>).body;
    posted.push(body);
    for (const w of waiters.splice(0)) {
      if (w.type === body.type) w.resolve(body);
      else waiters.push(w);
    }
  });
  let nextId = 1;
  const send = async (body: In): Promise<void> => {
    await page.evaluate((data) => window.dispatchEvent(new MessageEvent('message', { data })), { messageId: nextId++, body });
  };
  const waitFor = (type: string, timeoutMs = 15_000): Promise<Out> => {
    const seen = posted.find((m) => m.type === type);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the webview posted no ${type} within ${timeoutMs} ms; errors: ${errors.join('\n')}`)), timeoutMs);
      waiters.push({ type, resolve: (m) => { clearTimeout(timer); resolve(m); } });
    });
  };
  await page.goto(h.origin + '/');
  return { page, posted, errors, send, waitFor, cspViolations: () => page.evaluate(() => (window as unknown as { __cspViolations: string[] }).__cspViolations) };
}

export async function shot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(outDir, { recursive: true });
  await page.screenshot({ path: path.join(outDir, name) });
}
