// The one local server behind every browser harness: serves a webview page built by the extension's own
// HTML function (its CSP, its nonce), the built bundles, and the fake acquireVsCodeApi with a VS Code dark
// theme injected ahead of the page's own stylesheet. Chromium is Debian's, headless.

import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';
import { makeNonce } from '../../../src/views/webviewHtml';

export const repo = path.resolve(__dirname, '..', '..', '..');

export interface Harness {
  browser: Browser;
  origin: string;
  close(): Promise<void>;
}

/** `files`: URL path -> file on disk, read once now; `page` builds the HTML for a request of '/'. */
export async function serveWebview(files: Record<string, string>, page: (origin: string, nonce: string) => string): Promise<Harness> {
  const types: Record<string, string> = { '.js': 'text/javascript', '.css': 'text/css' };
  const served = new Map<string, [Buffer, string]>();
  for (const [url, file] of Object.entries({ ...files, '/harness/theme.css': path.join(__dirname, 'theme.css'), '/harness/fake-vscode.js': path.join(__dirname, 'fake-vscode.js') })) {
    if (!fs.existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` (npm test builds first)`);
    served.set(url, [fs.readFileSync(file), types[path.extname(file)] ?? 'application/octet-stream']);
  }
  let origin = '';
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/') {
      const nonce = makeNonce();
      const html = page(origin, nonce)
        .replace('<link rel="stylesheet"', `<link rel="stylesheet" href="${origin}/harness/theme.css">\n<script nonce="${nonce}" src="${origin}/harness/fake-vscode.js"></script>\n<link rel="stylesheet"`)
        .replace('<body>', '<body class="vscode-dark" data-vscode-theme-kind="vscode-dark">');
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
      return;
    }
    const f = served.get(url.pathname);
    if (!f) return void res.writeHead(url.pathname === '/favicon.ico' ? 204 : 404).end();
    res.writeHead(200, { 'content-type': f[1] }).end(f[0]);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
  });
  return { browser, origin, close: async () => { await browser.close(); server.close(); } };
}
