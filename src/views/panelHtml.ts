// The page of the Run and Fit panels: one bundle, one stylesheet, the same Content-Security-Policy as the
// graph view (nonce'd script only, no eval, no network). Free of `vscode` so the browser tests serve it.

import { contentSecurityPolicy, escapeHtml, type WebviewPage } from './webviewHtml';

export function panelWebviewHtml(p: WebviewPage): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(contentSecurityPolicy(p))}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<meta property="csp-nonce" content="${escapeHtml(p.nonce)}">
<link rel="stylesheet" href="${escapeHtml(p.styleUri)}">
<title>${escapeHtml(p.title)}</title>
</head>
<body>
<div id="app"></div>
<script nonce="${escapeHtml(p.nonce)}" src="${escapeHtml(p.scriptUri)}"></script>
</body>
</html>`;
}
