// Trust on first use, done the way a careful user does it by hand: fetch the host's keys with ssh-keyscan,
// show their SHA256 fingerprints, and only after the user agrees append them to known_hosts. Nothing here
// runs without that decision; ssh itself keeps StrictHostKeyChecking=yes.

import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { SshError } from './errors';
import { sshOptions } from './ssh';
import type { Target } from './target';

const execFileP = promisify(execFile);

export interface SshEndpoint {
  hostname: string;
  port: number;
  user: string;
  /** known_hosts files ssh reads for this host, first is where new keys go. */
  knownHostsFiles: string[];
  /** What known_hosts names the host by: `host` or `[host]:port`. */
  knownHostsName: string;
}

export interface HostKey {
  /** The known_hosts line: `<name> <type> <base64>`. */
  line: string;
  type: string;
  /** `SHA256:...`, as ssh prints it. */
  fingerprint: string;
}

export interface FetchedHostKeys {
  endpoint: SshEndpoint;
  keys: HostKey[];
}

const expandHome = (p: string) => (p === '~' ? os.homedir() : p.startsWith('~/') ? path.join(os.homedir(), p.slice(2)) : p);

/** What ssh would connect to, after the config file is applied (`ssh -G`). */
export async function resolveEndpoint(t: Target): Promise<SshEndpoint> {
  let out: string;
  try {
    out = (await execFileP('ssh', ['-G', ...sshOptions(t), '--', t.destination], { timeout: 10_000 })).stdout;
  } catch (e) {
    throw new SshError(`target "${t.name}": cannot read the ssh configuration: ${(e as { stderr?: string }).stderr?.trim() || (e as Error).message}`, 'local', t.name);
  }
  const kv = new Map<string, string>();
  for (const line of out.split('\n')) {
    const i = line.indexOf(' ');
    if (i > 0 && !kv.has(line.slice(0, i))) kv.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  const hostname = kv.get('hostkeyalias') ?? kv.get('hostname') ?? t.destination;
  const port = Number(kv.get('port') ?? 22);
  return {
    hostname: kv.get('hostname') ?? t.destination,
    port,
    user: kv.get('user') ?? '',
    knownHostsFiles: (kv.get('userknownhostsfile') ?? '~/.ssh/known_hosts').split(/\s+/).filter(Boolean).map(expandHome),
    knownHostsName: port === 22 ? hostname : `[${hostname}]:${port}`,
  };
}

/** SHA256 fingerprints of known_hosts lines, through ssh-keygen so they read exactly as ssh shows them. */
export async function fingerprints(lines: string[]): Promise<string[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pockengine-keys-'));
  try {
    return await Promise.all(lines.map(async (line, i) => {
      const f = path.join(dir, `k${i}`);
      fs.writeFileSync(f, line + '\n');
      const { stdout } = await execFileP('ssh-keygen', ['-l', '-E', 'sha256', '-f', f]);
      return /(SHA256:\S+)/.exec(stdout)?.[1] ?? stdout.trim();
    }));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The host's public keys and fingerprints, for the user to check before trusting them. */
export async function fetchHostKey(t: Target, timeoutS = 5): Promise<FetchedHostKeys> {
  const endpoint = await resolveEndpoint(t);
  let stdout = '';
  try {
    ({ stdout } = await execFileP('ssh-keyscan', ['-T', String(timeoutS), '-p', String(endpoint.port), '--', endpoint.hostname], { timeout: (timeoutS + 5) * 1000 }));
  } catch (e) {
    stdout = (e as { stdout?: string }).stdout ?? '';
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new SshError('ssh-keyscan is not installed: apt install openssh-client', 'local', t.name);
  }
  const raw = stdout.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  if (raw.length === 0) throw new SshError(`target "${t.name}": no host key could be read from ${endpoint.hostname} port ${endpoint.port}; is it online and running sshd?`, 'unreachable', t.name);
  // ssh-keyscan names the host by address; known_hosts must name it the way ssh will look it up.
  const lines = raw.map((l) => [endpoint.knownHostsName, ...l.split(/\s+/).slice(1)].join(' '));
  const fps = await fingerprints(lines);
  return { endpoint, keys: lines.map((line, i) => ({ line, type: line.split(' ')[1], fingerprint: fps[i] })) };
}

/** Appends the keys the user accepted to known_hosts (created 0600 in a 0700 folder if new). */
export function trustHostKey(t: Target, keys: HostKey | HostKey[] | string, knownHostsFile: string): void {
  const lines = (typeof keys === 'string' ? keys.split('\n') : (Array.isArray(keys) ? keys : [keys]).map((k) => k.line))
    .map((l) => l.trim()).filter(Boolean);
  for (const l of lines) {
    if (l.split(/\s+/).length < 3 || /[\0\r]/.test(l)) throw new SshError(`target "${t.name}": "${l}" is not a known_hosts line`, 'local', t.name);
  }
  fs.mkdirSync(path.dirname(knownHostsFile), { recursive: true, mode: 0o700 });
  const prev = fs.existsSync(knownHostsFile) ? fs.readFileSync(knownHostsFile, 'utf8') : '';
  const sep = prev && !prev.endsWith('\n') ? '\n' : '';
  fs.appendFileSync(knownHostsFile, sep + lines.join('\n') + '\n', { mode: 0o600 });
}
