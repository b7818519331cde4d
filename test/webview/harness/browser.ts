// The browser harness shared by the training-tab tests: serves the extension's own webview page (its CSP,
// the built bundle) with the fake acquireVsCodeApi, and wires a page to a host session in this process.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { graphWebviewHtml } from '../../../src/views/webviewHtml';
import type { GraphSession } from '../../../src/views/graphSession';
import type { Envelope, ToWebviewMessage } from '../../../src/protocol';

import { repo, serveWebview, type Harness } from './server';

export { repo, type Harness };
export const outDir = path.join(repo, '.test-output', 'webview');

export async function startHarness(): Promise<Harness> {
  return serveWebview(
    {
      '/dist/webview/graph.js': path.join(repo, 'dist/webview/graph.js'),
      // ELK, which the page loads on demand for groups its built-in layout would draw with crossings.
      '/dist/webview/elk.js': path.join(repo, 'dist/webview/elk.js'),
      '/media/graph.css': path.join(repo, 'media/graph.css'),
    },
    (origin, nonce) => graphWebviewHtml({ cspSource: origin, scriptUri: `${origin}/dist/webview/graph.js`, styleUri: `${origin}/media/graph.css`, nonce, title: 'graph' }),
  );
}

/** A page whose webview talks to the session `make` builds (given the function that posts to the page). */
export async function openPage(h: Harness, make: (post: (env: Envelope<ToWebviewMessage>) => void) => GraphSession): Promise<{ page: Page; session: GraphSession; errors: string[] }> {
  const page = await h.browser.newPage({ viewport: { width: 1400, height: 860 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`${e}\n${e.stack}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  const session = make((env) => void page.evaluate((data) => window.dispatchEvent(new MessageEvent('message', { data })), env).catch(() => undefined));
  await page.exposeFunction('__hostPost', (json: string) => session.receive(JSON.parse(json)));
  await page.goto(h.origin + '/');
  await page.waitForSelector('#graph[data-state="ready"], #graph[data-state="error"]', { timeout: 30_000, state: 'attached' });
  return { page, session, errors };
}

type CyEl = { id(): string; hasClass(c: string): boolean; renderedPosition(): { x: number; y: number } };
type Cy = { nodes(): { map<T>(f: (n: CyEl) => T): T[] }; getElementById(i: string): CyEl; zoom(): number; pan(): { x: number; y: number }; animated(): boolean };

/** Node ids of a tab's canvas with the classes asked about. */
export function cyNodes(page: Page, canvasId: string): Promise<{ id: string; pruned: boolean; linked: boolean }[]> {
  return page.evaluate((cid) => {
    const cy = (document.getElementById(cid) as HTMLElement & { _cyreg: { cy: Cy } })._cyreg.cy;
    return cy.nodes().map((n) => ({ id: n.id(), pruned: n.hasClass('pruned'), linked: n.hasClass('linked') }));
  }, canvasId);
}

export function viewport(page: Page, canvasId: string): Promise<{ zoom: number; pan: { x: number; y: number } }> {
  return page.evaluate((cid) => {
    const cy = (document.getElementById(cid) as HTMLElement & { _cyreg: { cy: Cy } })._cyreg.cy;
    return { zoom: cy.zoom(), pan: cy.pan() };
  }, canvasId);
}

export async function nodeScreenPos(page: Page, canvasId: string, id: string): Promise<{ x: number; y: number }> {
  const p = await page.evaluate(([cid, nid]) => {
    const cy = (document.getElementById(cid) as HTMLElement & { _cyreg: { cy: Cy } })._cyreg.cy;
    return cy.getElementById(nid).renderedPosition();
  }, [canvasId, id] as const);
  const box = (await page.locator(`#${canvasId}`).boundingBox())!;
  return { x: box.x + p.x, y: box.y + p.y };
}

export async function waitReady(page: Page, canvasId: string): Promise<void> {
  await page.waitForFunction((cid) => {
    const el = document.getElementById(cid) as HTMLElement & { _cyreg?: { cy: Cy } };
    return el?.dataset.state === 'ready' && !!el._cyreg && !el._cyreg.cy.animated();
  }, canvasId, { timeout: 30_000 });
}

export async function shot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(outDir, { recursive: true });
  await page.screenshot({ path: path.join(outDir, name) });
}
