// One esbuild config for every bundle: the extension (node, `vscode` external), the CLI (node) and each
// webview (browser). `--production` minifies; `--watch` rebuilds on change.
import * as esbuild from 'esbuild';
import * as fs from 'node:fs';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

const common = { bundle: true, sourcemap: !production, minify: production, logLevel: 'warning', legalComments: 'none' };

/** Webview entry points: one bundle per file in webview/ named *.main.ts. */
const webviews = fs.existsSync('webview')
  ? fs.readdirSync('webview').filter((f) => f.endsWith('.main.ts')).map((f) => `webview/${f}`)
  : [];

const builds = [
  { ...common, entryPoints: ['src/extension.ts'], outfile: 'dist/extension.js', platform: 'node', format: 'cjs', target: 'node20', external: ['vscode'] },
  { ...common, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js', platform: 'node', format: 'cjs', target: 'node20', banner: { js: '#!/usr/bin/env node' } },
  ...(webviews.length
    ? [{ ...common, entryPoints: Object.fromEntries(webviews.map((w) => [w.slice('webview/'.length, -'.main.ts'.length), w])), outdir: 'dist/webview', platform: 'browser', format: 'iife', target: 'es2022', loader: { '.css': 'text' } }]
    : []),
].filter((b) => (b.entryPoints instanceof Array ? b.entryPoints.every((e) => fs.existsSync(e)) : true));

if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
  if (fs.existsSync('dist/cli.js')) fs.chmodSync('dist/cli.js', 0o755);
}
