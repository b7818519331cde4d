// Packages the extension the way a user does (`npm run package`: production build + vsce) and, after
// the suite, puts the development build back so later suites and F5 see source maps.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../../../scripts/tools/codeServer.mjs';

export const vsixPath = path.join(repoRoot, 'dist', 'pockengine-studio.vsix');

export function packageExtension(): string {
  fs.rmSync(vsixPath, { force: true });
  const r = spawnSync('npm', ['run', '--silent', 'package'], { cwd: repoRoot, encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0 || !fs.existsSync(vsixPath)) {
    throw new Error(`\`npm run package\` failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
  }
  return vsixPath;
}

export function restoreDevBuild(): void {
  const r = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: repoRoot, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`restoring the development build failed:\n${r.stdout}${r.stderr}`);
}
