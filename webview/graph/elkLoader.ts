// Loads ELK on demand. In the webview: dist/webview/elk.js (webview/elk.main.ts), a script beside the
// graph bundle, added with the page's nonce (the CSP allows only nonce-tagged scripts). In node (tests,
// tools): the elkjs package. Kept out of graph.js because its compile alone cost ~250 ms of first paint.

import type { ELK } from 'elkjs/lib/elk-api';

export type ElkInstance = ELK;
type ElkConstructor = new () => ELK;

// document.currentScript is only set while graph.js runs its top level, i.e. now.
const bundleScript = typeof document !== 'undefined' ? (document.currentScript as HTMLScriptElement | null) : null;
let loading: Promise<ElkConstructor> | null = null;

/** Resolves to ELK's constructor; a failed load is retried on the next call. */
export function loadElk(): Promise<ElkConstructor> {
  loading ??= (typeof document !== 'undefined' ? fromScript() : fromPackage()).catch((e: unknown) => {
    loading = null;
    throw e;
  });
  return loading;
}

function fromScript(): Promise<ElkConstructor> {
  const global = globalThis as { PockEngineELK?: ElkConstructor };
  if (global.PockEngineELK) return Promise.resolve(global.PockEngineELK);
  if (!bundleScript?.src) return Promise.reject(new Error('cannot locate elk.js: the graph bundle was not loaded by a <script src>'));
  const src = new URL('elk.js', bundleScript.src).href;
  return new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = src;
    s.async = true;
    if (bundleScript.nonce) s.nonce = bundleScript.nonce;
    s.onload = () => (global.PockEngineELK ? resolve(global.PockEngineELK) : reject(new Error(`${src} did not define ELK`)));
    s.onerror = () => reject(new Error(`cannot load ${src}`));
    document.head.append(s);
  });
}

async function fromPackage(): Promise<ElkConstructor> {
  // A computed specifier, so esbuild leaves it out of the browser bundle.
  const spec = ['elkjs', 'lib', 'elk.bundled.js'].join('/');
  const m = (await import(spec)) as { default?: ElkConstructor } & ElkConstructor;
  return m.default ?? m;
}
