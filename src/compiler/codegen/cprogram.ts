// Builds and runs a C program from emitted source: used by the kernel tests, the kernel benchmark and
// (later) the export of training binaries. Compiler output goes into the error, so a failed build says why.

import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { runnerOf, type Toolchain } from './toolchains';

const run = promisify(execFile);

export interface BuildOptions {
  /** Extra flags after the toolchain's (e.g. -I, -D); libraries go in `libs`. */
  flags?: string[];
  libs?: string[];
  timeoutMs?: number;
}

/** Writes `source` to `<dir>/<name>.c` and compiles it to `<dir>/<name>`; returns the executable's path. */
export async function buildC(tc: Toolchain, dir: string, name: string, source: string, opts: BuildOptions = {}): Promise<string> {
  fs.mkdirSync(dir, { recursive: true });
  const src = path.join(dir, `${name}.c`), exe = path.join(dir, name);
  fs.writeFileSync(src, source);
  const args = ['-std=gnu99', ...tc.cflags, ...(opts.flags ?? []), src, '-o', exe, ...(opts.libs ?? []), ...tc.ldflags];
  try {
    await run(tc.cc, args, { timeout: opts.timeoutMs ?? 120_000, maxBuffer: 16 << 20 });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`${path.basename(tc.cc)} failed on ${src}:\n${(err.stderr || err.message).slice(0, 4000)}`);
  }
  return exe;
}

/** Runs a program built by `tc` (natively or under qemu); returns its stdout. */
export async function runC(tc: Toolchain, exe: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string } = {}): Promise<string> {
  const runner = runnerOf(tc);
  const [cmd, ...pre] = runner.length ? runner : [exe];
  const argv = runner.length ? [...pre, exe, ...args] : args;
  try {
    const { stdout } = await run(cmd, argv, { env: { ...process.env, ...opts.env }, timeout: opts.timeoutMs ?? 120_000, maxBuffer: 64 << 20, cwd: opts.cwd });
    return stdout;
  } catch (e) {
    const err = e as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${exe} failed: ${err.message}\n${(err.stderr ?? '').slice(0, 4000)}`);
  }
}
