// C compilers for the export targets: the host's cc, the aarch64 and armhf cross compilers (Raspberry Pi
// 64/32-bit OS, Jetson CPUs) and nvcc for Jetson GPUs. A missing compiler is an error that names the apt
// package to install; callers that still write sources catch it and report it.

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ModelError } from '../onnx/errors';

export type ToolchainTarget = 'host' | 'aarch64' | 'armhf' | 'cuda';

export interface Toolchain {
  target: ToolchainTarget;
  /** Absolute path of the compiler. */
  cc: string;
  /** Flags for compiling the kernels (optimisation, architecture, OpenMP when available). */
  cflags: string[];
  /** Flags for linking a program (static for cross targets, -lm, OpenMP). */
  ldflags: string[];
  /** Whether the compiler accepted -fopenmp (kernels then run on several threads). */
  openmp: boolean;
  /** How to run a binary it makes on this machine: [] natively, ['qemu-aarch64'] under user-mode qemu, or undefined when impossible. */
  runner?: string[];
}

interface Spec { commands: string[]; apt: string; cflags: string[]; ldflags: string[]; qemu?: { command: string; apt: string } }

const SPECS: Record<ToolchainTarget, Spec> = {
  host: { commands: ['cc', 'gcc', 'clang'], apt: 'gcc', cflags: ['-O3'], ldflags: ['-lm'] },
  aarch64: {
    commands: ['aarch64-linux-gnu-gcc'], apt: 'gcc-aarch64-linux-gnu',
    cflags: ['-O3', '-march=armv8-a'], ldflags: ['-static', '-lm'], qemu: { command: 'qemu-aarch64', apt: 'qemu-user' },
  },
  armhf: {
    commands: ['arm-linux-gnueabihf-gcc'], apt: 'gcc-arm-linux-gnueabihf',
    // Raspberry Pi 2 and later (32-bit OS): ARMv7-A with NEON-VFPv4.
    cflags: ['-O3', '-march=armv7-a', '-mfpu=neon-vfpv4', '-mfloat-abi=hard'], ldflags: ['-static', '-lm'], qemu: { command: 'qemu-arm', apt: 'qemu-user' },
  },
  cuda: { commands: ['nvcc'], apt: 'nvidia-cuda-toolkit', cflags: ['-O3'], ldflags: [] },
};

/** The absolute path of `command` on PATH (or /usr/local/cuda/bin for nvcc), or undefined. */
export function which(command: string): string | undefined {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  if (command === 'nvcc') dirs.push('/usr/local/cuda/bin');
  for (const d of dirs) {
    const p = path.join(d, command);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return p;
    } catch { /* not here */ }
  }
  return undefined;
}

const openmpCache = new Map<string, boolean>();

/** Whether `cc` compiles and links a program with -fopenmp (some toolchains ship without libgomp). */
function acceptsOpenMP(cc: string, ldflags: string[]): boolean {
  const hit = openmpCache.get(cc);
  if (hit !== undefined) return hit;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pe-omp-'));
  let ok = false;
  try {
    const src = path.join(dir, 't.c');
    fs.writeFileSync(src, '#include <omp.h>\nint main(void) { return omp_get_max_threads() > 0 ? 0 : 1; }\n');
    execFileSync(cc, ['-fopenmp', src, '-o', path.join(dir, 't'), ...ldflags], { stdio: 'ignore', timeout: 60_000 });
    ok = true;
  } catch {
    ok = false;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  openmpCache.set(cc, ok);
  return ok;
}

export interface ToolchainOptions {
  /** Host builds only: tune for this machine's CPU (-march=native), e.g. AVX2/AVX-512 on x86. Not for binaries meant for another machine. */
  native?: boolean;
  /** Use OpenMP when the compiler has it (default true). */
  openmp?: boolean;
}

/** The toolchain for `target`; a ModelError naming the apt package when its compiler is not installed. */
export function findToolchain(target: ToolchainTarget, opts: ToolchainOptions = {}): Toolchain {
  const spec = SPECS[target];
  const cc = spec.commands.map(which).find((p): p is string => !!p);
  if (!cc) {
    throw new ModelError(`no ${spec.commands[0]} found for the ${target} target: install it with \`apt-get install ${spec.apt}\` (the C sources are still written and build on the device with its own cc)`);
  }
  const cflags = [...spec.cflags];
  if (target === 'host' && opts.native) cflags.push('-march=native');
  const ldflags = [...spec.ldflags];
  let openmp = false;
  if (target !== 'cuda' && opts.openmp !== false && acceptsOpenMP(cc, ldflags)) {
    openmp = true;
    cflags.push('-fopenmp');
    ldflags.unshift('-fopenmp');
  }
  let runner: string[] | undefined;
  if (target === 'host') runner = [];
  else if (spec.qemu) {
    const q = which(spec.qemu.command);
    if (q) runner = [q];
  }
  return { target, cc, cflags, ldflags, openmp, runner };
}

/** The runner of a toolchain, or a ModelError naming the apt package that provides it. */
export function runnerOf(tc: Toolchain): string[] {
  if (tc.runner) return tc.runner;
  const q = SPECS[tc.target].qemu;
  if (!q) throw new ModelError(`binaries for ${tc.target} cannot run on this machine`);
  throw new ModelError(`running ${tc.target} binaries here needs ${q.command}: install it with \`apt-get install ${q.apt}\``);
}
