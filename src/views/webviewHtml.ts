// The webview's HTML: one script (the bundle), one stylesheet, and a Content-Security-Policy that allows
// nothing else — no inline script, no eval, no network. Free of `vscode` so the browser test serves the
// same page under the same policy.

export interface WebviewPage {
  /** `webview.cspSource`: the origin the webview's own resources come from. */
  cspSource: string;
  scriptUri: string;
  styleUri: string;
  /** Fresh per page: only <script nonce=...> runs. */
  nonce: string;
  title: string;
}

export function makeNonce(): string {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let s = '';
  const rnd = globalThis.crypto.getRandomValues(new Uint8Array(32));
  for (const b of rnd) s += chars[b % chars.length];
  return s;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export function contentSecurityPolicy(p: Pick<WebviewPage, 'cspSource' | 'nonce'>): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${p.nonce}'`,
    // The toolkit's web components and cytoscape set element styles through the CSSOM, which style-src
    // does not govern; stylesheets come only from our own files.
    // Stylesheets only from our own files, plus <style> elements carrying the page's nonce (the toolkit
    // probes :focus-visible support with one, reading the nonce from the csp-nonce meta tag).
    `style-src ${p.cspSource} 'nonce-${p.nonce}'`,
    `font-src ${p.cspSource}`,
    `img-src ${p.cspSource} data:`,
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
}

/** One page shape for every webview: a nonce'd bundle, one stylesheet, an #app root, the policy above. */
function webviewPageHtml(p: WebviewPage, stylesheetId?: string): string {
  const id = stylesheetId ? ` id="${escapeHtml(stylesheetId)}"` : '';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(contentSecurityPolicy(p))}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<meta property="csp-nonce" content="${escapeHtml(p.nonce)}">
<link rel="stylesheet"${id} href="${escapeHtml(p.styleUri)}">
<title>${escapeHtml(p.title)}</title>
</head>
<body>
<div id="app"></div>
<script nonce="${escapeHtml(p.nonce)}" src="${escapeHtml(p.scriptUri)}"></script>
</body>
</html>`;
}

// The graph page's stylesheet link carries the id cytoscape gives the <style> element it would otherwise
// inject (which the policy blocks); cytoscape sees it exists and skips the injection. graph.css holds its rule.
export function graphWebviewHtml(p: WebviewPage): string {
  return webviewPageHtml(p, '__________cytoscape_stylesheet');
}

/** The Run and Fit panels' page: the same policy, their bundle and media/panels.css. */
export function panelWebviewHtml(p: WebviewPage): string {
  return webviewPageHtml(p);
}
