// A deploy target: where ssh connects, where the export goes, and how `train` is started there. Targets come
// from an OpenSSH config file (`Host` aliases), from records (the VS Code setting `pockengine.targets`) and
// from `user@host[:port]` typed on the command line.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ModelError } from '../onnx/errors';
import { parseSshConfig } from './sshConfig';

/** The shape of one entry of the setting `pockengine.targets` (and of a `--targets` JSON file). */
export interface TargetRecord {
  name?: string;
  host: string;
  user?: string;
  port?: number;
  identityFile?: string;
  /** Remote working folder; relative paths are under the remote home. Default `pockengine`. */
  workdir?: string;
  /** Command prefix for the binary, e.g. `qemu-aarch64` for an emulated Pi. */
  runner?: string | string[];
  /** A known_hosts file to use instead of ssh's default ones. */
  knownHostsFile?: string;
}

export interface Target {
  name: string;
  /** What ssh is given as destination: a config alias, or the host name/address itself. */
  destination: string;
  user?: string;
  port?: number;
  identityFile?: string;
  workdir: string;
  runner: string[];
  knownHostsFile?: string;
  /** The OpenSSH config file ssh reads (`-F`); undefined: ssh's default (~/.ssh/config). */
  sshConfigFile?: string;
  source: 'ssh-config' | 'setting' | 'explicit';
  /** For listing: the HostName the config gives for an alias. */
  hostName?: string;
}

export interface TargetSources {
  sshConfigFile?: string;
  records?: TargetRecord[];
}

export const DEFAULT_WORKDIR = 'pockengine';

/** The config file that is read: the one named, else ~/.ssh/config (which may not exist). */
export function defaultSshConfigFile(): string {
  return path.join(os.homedir(), '.ssh', 'config');
}

/**
 * `~/x` and `~` as relative paths: a remote command starts in the home folder, and a quoted `~` would not
 * be expanded by the remote shell.
 */
export function normaliseWorkdir(dir: string | undefined): string {
  if (!dir || dir === '~' || dir === '~/') return dir === undefined ? DEFAULT_WORKDIR : '.';
  if (dir.startsWith('~/')) return dir.slice(2);
  if (dir.startsWith('~')) throw new ModelError(`target working folder "${dir}": ~user paths are not supported; give an absolute path or one relative to the home folder`);
  return dir;
}

function runnerOf(r: string | string[] | undefined): string[] {
  if (r === undefined) return [];
  return Array.isArray(r) ? r.map(String) : r.split(/\s+/).filter(Boolean);
}

function validPort(port: unknown, where: string): number | undefined {
  if (port === undefined || port === null || port === '') return undefined;
  const n = Number(port);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new ModelError(`${where}: port must be an integer 1..65535, got "${port}"`);
  return n;
}

/** A host name or alias that ssh could take for an option (leading `-`) or that holds spaces is refused. */
function validHost(host: string, where: string): string {
  if (!host || host.startsWith('-') || /[\s\0]/.test(host)) throw new ModelError(`${where}: "${host}" is not a host name`);
  return host;
}

export function targetFromRecord(r: TargetRecord, sshConfigFile?: string): Target {
  if (!r || typeof r.host !== 'string') throw new ModelError(`target record ${JSON.stringify(r)} needs a "host"`);
  const where = `target "${r.name ?? r.host}"`;
  return {
    name: r.name ?? r.host,
    destination: validHost(r.host, where),
    user: r.user || undefined,
    port: validPort(r.port, where),
    identityFile: r.identityFile || undefined,
    workdir: normaliseWorkdir(r.workdir),
    runner: runnerOf(r.runner),
    knownHostsFile: r.knownHostsFile || undefined,
    sshConfigFile,
    source: 'setting',
  };
}

/** `user@host`, `host:port`, `user@host:port`, `user@[::1]:port`; null when the text is not of that form. */
export function parseTargetSpec(spec: string): { user?: string; host: string; port?: number } | null {
  const m = /^(?:([^@\s]+)@)?(?:\[([^\]\s]+)\]|([^@:\s[\]]+))(?::(\d+))?$/.exec(spec);
  if (!m) return null;
  return { user: m[1], host: m[2] ?? m[3], port: m[4] === undefined ? undefined : validPort(m[4], `target "${spec}"`) };
}

function readConfig(file: string | undefined) {
  const f = file ?? defaultSshConfigFile();
  if (!fs.existsSync(f)) {
    if (file) throw new ModelError(`ssh config file "${file}" does not exist`, file);
    return { hosts: [], notes: [] };
  }
  return parseSshConfig(fs.readFileSync(f, 'utf8'), f);
}

/** Every target the user has: the records first (they carry runner and workdir), then the config's aliases. */
export function listTargets(sources: TargetSources = {}): { targets: Target[]; notes: string[] } {
  const cfg = readConfig(sources.sshConfigFile);
  const targets = (sources.records ?? []).map((r) => targetFromRecord(r, sources.sshConfigFile));
  for (const h of cfg.hosts) {
    if (targets.some((t) => t.name === h.alias)) continue;
    targets.push({
      name: h.alias, destination: h.alias, hostName: h.hostName ?? h.alias, user: h.user, port: h.port,
      identityFile: h.identityFile, workdir: DEFAULT_WORKDIR, runner: [], sshConfigFile: sources.sshConfigFile, source: 'ssh-config',
    });
  }
  return { targets, notes: cfg.notes };
}

/** `--target`: a record's name, a config alias, or `user@host[:port]`. */
export function resolveTarget(spec: string, sources: TargetSources = {}): Target {
  const { targets } = listTargets(sources);
  const named = targets.find((t) => t.name === spec);
  if (named) return named;
  const p = parseTargetSpec(spec);
  if (!p) {
    const names = targets.map((t) => t.name);
    throw new ModelError(`target "${spec}" is neither a known target (${names.length ? names.join(', ') : 'none configured'}) nor user@host[:port]`);
  }
  return {
    name: spec, destination: validHost(p.host, `target "${spec}"`), user: p.user, port: p.port, workdir: DEFAULT_WORKDIR, runner: [],
    sshConfigFile: sources.sshConfigFile, source: 'explicit',
  };
}

/** A JSON file holding an array of target records (the CLI's stand-in for the VS Code setting). */
export function readTargetRecords(file: string): TargetRecord[] {
  let data: unknown;
  try {
    data = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ModelError(`targets file "${file}": ${(e as Error).message}`, file);
  }
  if (!Array.isArray(data)) throw new ModelError(`targets file "${file}" must hold a JSON array of {name, host, user, port, identityFile, workdir, runner}`, file);
  return data as TargetRecord[];
}
