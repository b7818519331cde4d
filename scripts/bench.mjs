// `npm run bench`: runs every bench/*.bench.ts (TypeScript through tsx) one after another and prints
// their figures. Benchmarks are not tests: they measure and compare with goals, they do not fail the build.
// Pass names to run some of them: `npm run bench -- import`.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const filters = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const files = fs.existsSync('bench')
  ? fs.readdirSync('bench').filter((f) => f.endsWith('.bench.ts')).sort()
      .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  : [];
if (files.length === 0) {
  console.error(`no benchmarks found under bench/${filters.length ? ` matching ${filters.join(', ')}` : ''}`);
  process.exit(1);
}
// Benchmarks that drive the built bundles (the webview) need a fresh build; the rest run from source.
const build = spawnSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
if (build.status !== 0) console.error('warning: the build failed; benchmarks of built bundles may measure stale ones');
let failed = 0;
for (const f of files) {
  console.log(`\n=== ${f} ===`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--expose-gc', path.join('bench', f)], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
