// Folders go to and from the target as tar streams over the same ssh connection settings: one round trip
// per folder, permissions (the executable bit of `train`) kept, and nothing but `tar` needed remotely.

import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ModelError } from '../onnx/errors';
import { SshError } from './errors';
import { shellCommand } from './quote';
import { runSsh, type SshCallOptions } from './ssh';
import type { Target } from './target';

function localTar(args: string[]) {
  const p = spawn('tar', args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const err: Buffer[] = [];
  p.stderr!.on('data', (d: Buffer) => err.push(d));
  const done = new Promise<void>((resolve, reject) => {
    p.on('error', (e) => reject(new ModelError(`cannot run tar: ${e.message}`)));
    p.on('close', (code) => (code === 0 ? resolve() : reject(new ModelError(`tar ${args.join(' ')} failed (exit ${code}): ${Buffer.concat(err).toString().trim()}`))));
  });
  return { p, done };
}

/** Waits for ssh and the local tar; when both fail, ssh's error is the cause (tar only saw a broken pipe). */
async function bothDone<T>(ssh: Promise<T>, tar: Promise<void>): Promise<T> {
  const [s, t] = await Promise.allSettled([ssh, tar]);
  if (s.status === 'rejected') throw s.reason;
  if (t.status === 'rejected') throw t.reason;
  return s.value;
}

/** Copies the contents of `localDir` into `remoteDir` (created if missing; `clean` empties it first). */
export async function uploadDir(t: Target, localDir: string, remoteDir: string, o: SshCallOptions & { clean?: boolean } = {}): Promise<void> {
  if (!fs.statSync(localDir, { throwIfNoEntry: false })?.isDirectory()) throw new ModelError(`"${localDir}" is not a folder`);
  const tar = localTar(['-C', localDir, '-cf', '-', '.']);
  tar.p.stdin!.end();
  const remote = [
    ...(o.clean ? [shellCommand(['rm', '-rf', '--', remoteDir]) + ' &&'] : []),
    shellCommand(['mkdir', '-p', '--', remoteDir]), '&&',
    shellCommand(['tar', '-xf', '-', '-C', remoteDir]),
  ].join(' ');
  const r = await bothDone(runSsh(t, remote, { ...o, stdin: tar.p.stdout!, timeoutMs: 600_000 }), tar.done);
  if (r.code !== 0) throw new SshError(`target "${t.name}": copying ${localDir} to ${remoteDir} failed (exit ${r.code}): ${r.stderr.trim()}`, 'remote', t.name, r.stderr);
}

/** Copies the contents of `remoteDir` into `localDir`; returns the files that arrived (relative paths). */
export async function downloadDir(t: Target, remoteDir: string, localDir: string, o: SshCallOptions = {}): Promise<string[]> {
  fs.mkdirSync(localDir, { recursive: true });
  const tar = localTar(['-C', localDir, '-xf', '-']);
  const remote = `${shellCommand(['cd', '--', remoteDir])} && ${shellCommand(['tar', '-cf', '-', '.'])}`;
  const listing: string[] = [];
  const r = await bothDone(runSsh(t, remote, { ...o, pipeStdoutTo: tar.p.stdin!, timeoutMs: 600_000 }), tar.done);
  if (r.code !== 0) throw new SshError(`target "${t.name}": copying ${remoteDir} back failed (exit ${r.code}): ${r.stderr.trim()}`, 'remote', t.name, r.stderr);
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else listing.push(path.relative(localDir, p));
    }
  };
  walk(localDir);
  return listing.sort();
}
