// What is on the other end: architecture, board, cores, memory and free disk, read in one ssh round trip
// by a fixed script (the only variable part, the working folder, is quoted), then matched to a device
// profile so the plan and the export can be made for it.

import { type ProfileName } from '../backends/profiles';
import { SshError } from './errors';
import { shellQuote } from './quote';
import { runSsh, type SshCallOptions } from './ssh';
import type { Target } from './target';

export interface ProbeInfo {
  /** `uname -m`: x86_64, aarch64, armv7l, ... */
  arch: string;
  /** `/proc/device-tree/model`, NULs removed; '' when the file is absent (PCs). */
  model: string;
  /** First line of `/etc/nv_tegra_release`; '' when absent (not a Jetson). */
  tegraRelease: string;
  cores: number;
  memTotalBytes: number;
  /** Free bytes on the file system of the working folder (or of its nearest existing parent). */
  diskFreeBytes: number;
}

export type Abi = 'x86_64' | 'aarch64' | 'armhf' | 'unknown';

export interface ProfileMatch {
  /** The device profile; undefined when the board is not one we have a profile for. */
  profile?: ProfileName;
  /** Which binary runs there (the export's toolchain target). */
  abi: Abi;
  why: string;
  /** The export issue's `--target` that builds a binary for it (`rpi4-armhf` for a Pi on a 32-bit OS). */
  exportTarget?: string;
}

export interface ProbeResult {
  target: string;
  online: boolean;
  info?: ProbeInfo;
  match?: ProfileMatch;
  /** Why it is offline or could not be probed. */
  error?: string;
  errorKind?: SshError['kind'];
  ms: number;
}

const MARK = '@@pockengine:';

/** The probe script: every section is introduced by a marker line so a missing file leaves it empty. */
export function probeScript(workdir: string): string {
  const s = (name: string) => `echo ${MARK}${name}`;
  return [
    s('arch'), 'uname -m',
    s('model'), "cat /proc/device-tree/model 2>/dev/null | tr -d '\\000'; echo",
    s('tegra'), 'head -n 1 /etc/nv_tegra_release 2>/dev/null',
    s('nproc'), 'nproc 2>/dev/null || getconf _NPROCESSORS_ONLN',
    s('meminfo'), 'grep MemTotal /proc/meminfo',
    s('df'), `d=${shellQuote(workdir)}; while [ ! -d "$d" ]; do d=$(dirname "$d"); done; df -Pk "$d" | tail -n 1`,
    s('end'),
  ].join('; ');
}

export function parseProbeOutput(text: string): ProbeInfo {
  const sections = new Map<string, string>();
  let name = '';
  for (const line of text.split('\n')) {
    if (line.startsWith(MARK)) {
      name = line.slice(MARK.length).trim();
      sections.set(name, '');
    } else if (name) sections.set(name, (sections.get(name) ?? '') + line + '\n');
  }
  if (!sections.has('end')) throw new Error(`probe output is incomplete:\n${text.slice(0, 500)}`);
  const get = (k: string) => (sections.get(k) ?? '').trim();
  const memKb = /MemTotal:\s*(\d+)\s*kB/i.exec(get('meminfo'));
  // df -P: Filesystem 1024-blocks Used Available Capacity Mounted-on
  const df = get('df').split(/\s+/);
  return {
    arch: get('arch'),
    model: get('model'),
    tegraRelease: get('tegra').split('\n')[0] ?? '',
    cores: Number(get('nproc')) || 0,
    memTotalBytes: memKb ? Number(memKb[1]) * 1024 : 0,
    diskFreeBytes: df.length >= 4 && /^\d+$/.test(df[3]) ? Number(df[3]) * 1024 : 0,
  };
}

/** The device profile for what the probe found, and the export target whose binary runs there. */
export function matchProfile(info: Pick<ProbeInfo, 'arch' | 'model' | 'tegraRelease'>): ProfileMatch {
  const m = matchBoard(info);
  if (m.profile && m.abi === 'armhf') return { ...m, exportTarget: 'rpi4-armhf' };
  return m.profile ? { ...m, exportTarget: m.profile } : m;
}

function matchBoard(info: Pick<ProbeInfo, 'arch' | 'model' | 'tegraRelease'>): ProfileMatch {
  const arch = info.arch.toLowerCase();
  const model = info.model;
  const abi: Abi = arch === 'x86_64' || arch === 'amd64' ? 'x86_64'
    : arch === 'aarch64' || arch === 'arm64' ? 'aarch64'
      : /^armv[78]/.test(arch) ? 'armhf' : 'unknown';
  const pi = /Raspberry Pi 5/i.test(model) ? 'rpi5' : /Raspberry Pi 4/i.test(model) ? 'rpi4' : undefined;
  const tegra = info.tegraRelease !== '' || /jetson|tegra/i.test(model);
  if (abi === 'x86_64') return { profile: 'host', abi, why: 'x86_64 machine: the host profile' };
  if (abi === 'armhf') {
    return pi
      ? { profile: pi, abi, why: `${model} with a 32-bit OS (${info.arch}): the ${pi} profile with an armhf binary` }
      : { abi, why: `32-bit ARM (${info.arch}${model ? `, ${model}` : ''}): an armhf binary; no matching device profile` };
  }
  if (abi === 'aarch64') {
    if (pi) return { profile: pi, abi, why: `${model}, 64-bit OS` };
    if (tegra) {
      if (/orin/i.test(model)) {
        const p: ProfileName = /agx/i.test(model) ? 'jetson-agx-orin' : 'jetson-orin-nano';
        return { profile: p, abi, why: `Jetson (${model || info.tegraRelease}): the ${p} profile` };
      }
      if (/nano/i.test(model)) return { profile: 'jetson-nano', abi, why: `Jetson (${model})` };
      return { abi, why: `a Jetson board we have no profile for (${model || info.tegraRelease}); pick a jetson-* profile by hand` };
    }
    return { abi, why: `aarch64 board${model ? ` (${model})` : ''} without a matching profile; the aarch64 binary runs there` };
  }
  return { abi, why: `architecture "${info.arch}" has no export target` };
}

/** Probes one target; never throws for a target that is offline or refuses us (that is the answer). */
export async function probeTarget(t: Target, o: SshCallOptions & { timeoutMs?: number } = {}): Promise<ProbeResult> {
  const t0 = Date.now();
  const connectTimeoutS = o.connectTimeoutS ?? 5;
  try {
    const r = await runSsh(t, probeScript(t.workdir), { connectTimeoutS, timeoutMs: o.timeoutMs ?? (connectTimeoutS + 15) * 1000 });
    if (r.code !== 0 && !r.stdout.includes(`${MARK}end`)) {
      return { target: t.name, online: true, error: `probe script failed (exit ${r.code}): ${r.stderr.trim()}`, errorKind: 'remote', ms: Date.now() - t0 };
    }
    const info = parseProbeOutput(r.stdout);
    return { target: t.name, online: true, info, match: matchProfile(info), ms: Date.now() - t0 };
  } catch (e) {
    if (!(e instanceof SshError)) throw e;
    // A host-key or login problem means the host answered: it is online but unusable until fixed.
    const online = e.kind !== 'unreachable' && e.kind !== 'timeout' && e.kind !== 'local';
    return { target: t.name, online, error: e.message, errorKind: e.kind, ms: Date.now() - t0 };
  }
}
