// `npm test`: every test/**/*.test.ts under node's own test runner (TypeScript through tsx). Suites that
// need a browser or code-server build what they need themselves. Pass folders or files to narrow it:
// `npm test -- test/compiler`.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensurePrerequisites } from './tools/prereqs.mjs';

const args = process.argv.slice(2);
const roots = args.length ? args : ['test'];
const files = [];
const walk = (p) => {
  const st = fs.statSync(p);
  if (st.isDirectory()) for (const e of fs.readdirSync(p).sort()) walk(path.join(p, e));
  else if (p.endsWith('.test.ts')) files.push(p);
};
for (const r of roots) walk(r);
if (files.length === 0) {
  console.error('no test files found under', roots.join(', '));
  process.exit(1);
}
// A fresh machine: Debian packages the suites drive (chromium, cross compilers, qemu, sshd) and node_modules.
try {
  ensurePrerequisites('test');
} catch (e) {
  console.error(e.message);
  process.exit(1);
}
const build = spawnSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);
// Spec output for people; a TAP copy for the closing count line that CI reads.
const tap = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pockengine-test-')), 'results.tap');
const r = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', '--test-reporter-destination=stdout',
    '--test-reporter=tap', `--test-reporter-destination=${tap}`, ...files],
  { stdio: 'inherit', env: { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --max-old-space-size=8192` } },
);
const counts = fs.existsSync(tap) ? fs.readFileSync(tap, 'utf8') : '';
const count = (k) => Number(new RegExp(`^# ${k} (\\d+)$`, 'm').exec(counts)?.[1] ?? 0);
console.log(`${count('pass')} passed, ${count('fail')} failed, ${count('skipped')} skipped`);
process.exit(r.status ?? 1);
