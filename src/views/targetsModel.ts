// What the Targets view shows and writes, without VS Code: a probe result as a tree item's description and
// tooltip, the host-key question, and a new `pockengine.targets` record from the Add target… answers.

import type { FetchedHostKeys, ProbeResult, Target, TargetRecord } from '../compiler/deploy';
import { parseTargetSpec } from '../compiler/deploy';

export function formatSize(n: number): string {
  if (!(n > 0)) return '?';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 && i > 0 ? 1 : 0)} ${units[i]}`;
}

/** `user@host:port` where ssh connects (a config alias's HostName; the alias is the item's label). */
export function targetAddress(t: Target): string {
  const host = t.hostName ?? t.destination;
  return `${t.user ? `${t.user}@` : ''}${host.includes(':') ? `[${host}]` : host}${t.port ? `:${t.port}` : ''}`;
}

export interface ProbeView {
  description: string;
  tooltip: string;
  online: boolean | null;
}

/** One line in the tree (description) and the full record (tooltip). */
export function describeProbe(t: Target, p: ProbeResult | undefined): ProbeView {
  const where = `${targetAddress(t)} · ${t.source === 'ssh-config' ? 'from ssh config' : 'from settings'} · workdir ${t.workdir}`;
  if (!p) return { description: targetAddress(t), tooltip: `${where}\nNot probed yet (right-click → Probe).`, online: null };
  if (!p.info) {
    return { description: `${p.online ? 'online' : 'offline'} · ${p.error?.split('\n')[0] ?? 'probe failed'}`, tooltip: `${where}\n${p.online ? 'Online' : 'Offline'}: ${p.error ?? ''}`, online: p.online };
  }
  const i = p.info;
  const profile = p.match?.profile ?? 'no profile';
  const board = i.model || (i.tegraRelease ? 'Jetson' : 'PC');
  const description = `online · ${i.arch} · ${profile} · ${i.cores} cores · ${formatSize(i.memTotalBytes)} RAM · ${formatSize(i.diskFreeBytes)} free`;
  const tooltip = [
    where,
    'Online',
    `Architecture: ${i.arch}`,
    `Board: ${board}${i.tegraRelease ? ` (${i.tegraRelease})` : ''}`,
    `Cores: ${i.cores}`,
    `Memory: ${formatSize(i.memTotalBytes)}`,
    `Free disk (working folder): ${formatSize(i.diskFreeBytes)}`,
    `Profile: ${profile}${p.match?.exportTarget ? ` (export target ${p.match.exportTarget})` : ''} — ${p.match?.why ?? ''}`,
    `Probed in ${p.ms} ms`,
  ].join('\n');
  return { description, tooltip, online: true };
}

/** The modal text for an unknown host key: every fingerprint, and what trusting it does. */
export function hostKeyQuestion(t: Target, fetched: FetchedHostKeys, knownHostsFile: string): string {
  const e = fetched.endpoint;
  const fps = fetched.keys.map((k) => `${k.type} ${k.fingerprint}`).join('\n');
  return `The host key of "${t.name}" (${e.hostname} port ${e.port}) is not in your known_hosts, so PockEngine cannot verify the machine.\n\n${fps}\n\nCompare the fingerprint with the one the device shows (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub on it). "Trust" adds the key to ${knownHostsFile}.`;
}

export interface AddTargetAnswers {
  host: string;
  user?: string;
  port?: string;
  identityFile?: string;
  workdir?: string;
  name?: string;
}

/** Validation of the host box: `host`, `user@host`, `host:port`, `user@host:port`. */
export function validateHost(text: string): string | null {
  if (!text.trim()) return 'a host name or address';
  return parseTargetSpec(text.trim()) ? null : 'write host, user@host or user@host:port (no spaces)';
}

export function validatePort(text: string): string | null {
  if (!text.trim()) return null;
  const n = Number(text);
  return Number.isInteger(n) && n >= 1 && n <= 65535 ? null : 'a port number 1..65535 (empty: 22 or the ssh config\'s)';
}

/** The record appended to `pockengine.targets`; answers in the host box (user@host:port) fill user and port. */
export function recordFromAnswers(a: AddTargetAnswers, existing: TargetRecord[]): TargetRecord {
  const spec = parseTargetSpec(a.host.trim());
  if (!spec) throw new Error(validateHost(a.host) ?? 'invalid host');
  const user = a.user?.trim() || spec.user;
  const port = a.port?.trim() ? Number(a.port) : spec.port;
  let name = a.name?.trim() || spec.host;
  // Names identify targets (the CLI's --target): keep them unique.
  for (let k = 2; existing.some((r) => (r.name ?? r.host) === name); k++) name = `${a.name?.trim() || spec.host}-${k}`;
  const r: TargetRecord = { name, host: spec.host };
  if (user) r.user = user;
  if (port !== undefined) r.port = port;
  if (a.identityFile?.trim()) r.identityFile = a.identityFile.trim();
  if (a.workdir?.trim()) r.workdir = a.workdir.trim();
  return r;
}
