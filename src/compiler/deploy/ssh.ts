// Runs commands on a target through the system's OpenSSH client, so the user's keys, agent, config and
// known_hosts apply exactly as in their terminal. Never weakened: StrictHostKeyChecking=yes (an unknown or
// changed host key is an error the caller turns into a question to the user), BatchMode=yes (no password
// prompt can hang a run), and a bounded ConnectTimeout.

import { spawn, type ChildProcess } from 'node:child_process';
import { SshError } from './errors';
import type { Target } from './target';

export const DEFAULT_CONNECT_TIMEOUT_S = 10;

export interface SshCallOptions {
  connectTimeoutS?: number;
}

/** ssh's options for this target, before the destination. */
export function sshOptions(t: Target, o: SshCallOptions = {}): string[] {
  const args: string[] = [];
  if (t.sshConfigFile) args.push('-F', t.sshConfigFile);
  args.push(
    '-o', 'BatchMode=yes',
    '-o', 'StrictHostKeyChecking=yes',
    '-o', `ConnectTimeout=${Math.max(1, Math.round(o.connectTimeoutS ?? DEFAULT_CONNECT_TIMEOUT_S))}`,
    // A dead link is noticed in ~3 x 5 s instead of hanging a stream forever.
    '-o', 'ServerAliveInterval=5', '-o', 'ServerAliveCountMax=3',
    '-T',
  );
  if (t.knownHostsFile) args.push('-o', `UserKnownHostsFile=${t.knownHostsFile}`);
  if (t.port !== undefined) args.push('-p', String(t.port));
  if (t.user) args.push('-l', t.user);
  if (t.identityFile) args.push('-i', t.identityFile);
  return args;
}

/** The full ssh argument vector; `remoteCommand` must already be quoted (see quote.ts). */
export function sshArgv(t: Target, remoteCommand: string, o: SshCallOptions = {}): string[] {
  return [...sshOptions(t, o), '--', t.destination, remoteCommand];
}

/** ssh exits 255 for its own failures; its stderr says which. One clear sentence per case. */
export function sshFailure(t: Target, stderr: string): SshError {
  const who = `target "${t.name}"`;
  const text = stderr.trim();
  const last = text.split('\n').filter(Boolean).pop() ?? '';
  if (/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key for .* has changed/i.test(text)) {
    return new SshError(`${who}: the host key does not match the one in known_hosts — the machine was reinstalled, or someone is intercepting the connection. Check the new fingerprint with its owner, then remove the old entry (ssh-keygen -R) and trust the new one. (${last})`, 'changed-host-key', t.name, stderr);
  }
  if (/No \S+ host key is known for|Host key verification failed/i.test(text)) {
    return new SshError(`${who}: the host key is not in known_hosts, so the host cannot be verified. Check its fingerprint and trust it (the Targets view offers this, or: ssh-keyscan the host and add the line to known_hosts). (${last})`, 'unknown-host-key', t.name, stderr);
  }
  if (/timed out/i.test(text)) return new SshError(`${who} is offline: the connection timed out (${last})`, 'timeout', t.name, stderr);
  if (/Connection refused|No route to host|Network is unreachable|Could not resolve hostname|Name or service not known|Connection closed by|Connection reset/i.test(text)) {
    return new SshError(`${who} is unreachable: ${last}`, 'unreachable', t.name, stderr);
  }
  if (/Permission denied|Too many authentication failures/i.test(text)) {
    return new SshError(`${who} refused the login: ${last}. Check the user and that your key (IdentityFile or ssh-agent) is in the target's authorized_keys; passwords are not used.`, 'auth', t.name, stderr);
  }
  return new SshError(`${who}: ssh failed: ${last || 'exit status 255'}`, 'local', t.name, stderr);
}

export interface SshResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunSshOptions extends SshCallOptions {
  /** Bytes for the remote command's stdin. */
  input?: string | Buffer;
  /** Kill ssh after this long (whole call); default connect timeout + 60 s. */
  timeoutMs?: number;
  /** Where ssh's stdout goes when not captured (e.g. a tar extracting it). */
  pipeStdoutTo?: NodeJS.WritableStream;
  stdin?: NodeJS.ReadableStream;
}

export function spawnSsh(t: Target, remoteCommand: string, o: SshCallOptions = {}): ChildProcess {
  try {
    return spawn('ssh', sshArgv(t, remoteCommand, o), { stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (e) {
    throw new SshError(`cannot start ssh: ${(e as Error).message}. Install the OpenSSH client (apt install openssh-client).`, 'local', t.name);
  }
}

/**
 * One remote command. Resolves with its exit code and output; rejects with an SshError when ssh itself
 * failed (exit 255: host key, unreachable, auth) or the call ran past its time.
 */
export function runSsh(t: Target, remoteCommand: string, o: RunSshOptions = {}): Promise<SshResult> {
  return new Promise((resolve, reject) => {
    const child = spawnSsh(t, remoteCommand, o);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const limit = o.timeoutMs ?? ((o.connectTimeoutS ?? DEFAULT_CONNECT_TIMEOUT_S) + 60) * 1000;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, limit);
    if (o.pipeStdoutTo) child.stdout!.pipe(o.pipeStdoutTo);
    else child.stdout!.on('data', (d: Buffer) => out.push(d));
    child.stderr!.on('data', (d: Buffer) => err.push(d));
    child.stdin!.on('error', () => {}); // the remote side may close stdin early; the exit code tells
    if (o.stdin) o.stdin.pipe(child.stdin!);
    else child.stdin!.end(o.input ?? '');
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new SshError(e.code === 'ENOENT' ? 'the OpenSSH client (ssh) is not installed: apt install openssh-client' : `ssh: ${e.message}`, 'local', t.name));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const stderr = Buffer.concat(err).toString('utf8');
      if (timedOut) return reject(new SshError(`target "${t.name}": no answer within ${Math.round(limit / 1000)} s`, 'timeout', t.name, stderr));
      if (code === 255) return reject(sshFailure(t, stderr));
      resolve({ code: code ?? -1, stdout: Buffer.concat(out).toString('utf8'), stderr });
    });
  });
}

/** runSsh, and a non-zero remote exit is an error that quotes what the remote side said. */
export async function runSshOk(t: Target, remoteCommand: string, what: string, o: RunSshOptions = {}): Promise<SshResult> {
  const r = await runSsh(t, remoteCommand, o);
  if (r.code !== 0) throw new SshError(`target "${t.name}": ${what} failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`, 'remote', t.name, r.stderr);
  return r;
}
