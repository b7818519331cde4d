// What a fresh Debian machine lacks for `npm start` and `npm test`, installed on demand: Debian packages
// (as root, with apt-get) and node_modules (npm ci). Only node built-ins here: this runs before `npm ci`.
// `node scripts/tools/prereqs.mjs test|start` does the same from the command line (.ci/run uses it).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Packages by purpose; `start` needs what code-server builds against, `test` everything the suites run. */
const START = ['ripgrep', 'libkrb5-dev', 'libx11-dev', 'libxkbfile-dev', 'libsecret-1-dev', 'pkg-config', 'build-essential', 'python3'];
const TEST = [
  ...START,
  'chromium', // webview tests and the code-server e2e drive it through playwright-core
  'gcc-aarch64-linux-gnu', 'gcc-arm-linux-gnueabihf', 'qemu-user', // device binaries, run under emulation
  'openssh-server', 'openssh-client', // deploy tests start a real sshd on 127.0.0.1
  'clang', // sm_53 (Jetson Nano) PTX: CUDA 12.9+'s nvcc dropped Maxwell (src/compiler/codegen/ptx.ts)
];

function missingDebianPackages(names) {
  if (!fs.existsSync('/usr/bin/dpkg-query')) return [];
  return names.filter((p) => {
    const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', p], { encoding: 'utf8' });
    return !(r.status === 0 && r.stdout.includes('install ok installed'));
  });
}

export function ensurePrerequisites(purpose, log = (m) => console.log(m)) {
  const missing = missingDebianPackages(purpose === 'start' ? START : TEST);
  if (missing.length) {
    const cmd = `apt-get install -y ${missing.join(' ')}`;
    const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
    if (!isRoot) throw new Error(`missing Debian packages: ${missing.join(', ')}. Install them with: sudo apt-get update && sudo ${cmd}`);
    log(`installing Debian packages: ${missing.join(' ')}`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    for (const args of [['update', '-qq'], ['install', '-y', '-qq', '--no-install-recommends', ...missing]]) {
      const r = spawnSync('apt-get', args, { stdio: ['ignore', 'ignore', 'inherit'], env });
      if (r.status !== 0) throw new Error(`apt-get ${args[0]} failed; run \`${cmd}\` by hand and retry`);
    }
  }
  if (!fs.existsSync(path.join(repoRoot, 'node_modules', '.package-lock.json'))) {
    log('installing dependencies (npm ci)');
    const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: repoRoot, stdio: 'inherit' });
    if (r.status !== 0) throw new Error('npm ci failed');
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    ensurePrerequisites(process.argv[2] === 'start' ? 'start' : 'test');
  } catch (e) {
    console.error(`prerequisites: ${e.message}`);
    process.exit(1);
  }
}
