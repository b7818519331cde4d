// Test support: a real OpenSSH server on 127.0.0.1 on a free port, with a throwaway host key, a throwaway
// client key, and a client side (known_hosts, ssh config) that lives in a temp folder. ~/.ssh is never read
// or written: the client is always given `-F <temp config>`.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export interface TestSshd {
  dir: string;
  port: number;
  clientKey: string;
  hostKeyPub: string;
  /** known_hosts holding the server's key as `[127.0.0.1]:port`. */
  knownHosts: string;
  /** ssh config with `Host local` (this server) and the temp known_hosts for every host. */
  sshConfigFile: string;
  process: ChildProcess;
  log: () => string;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export function keygen(file: string): void {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'pockengine-test', '-f', file]);
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1');
    c.on('connect', () => (c.destroy(), resolve(true)));
    c.on('error', () => resolve(false));
  });
}

export async function startSshd(): Promise<TestSshd> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pockengine-sshd-'));
  const hostKey = path.join(dir, 'host_key');
  const clientKey = path.join(dir, 'client_key');
  keygen(hostKey);
  keygen(clientKey);
  fs.copyFileSync(`${clientKey}.pub`, path.join(dir, 'authorized_keys'));
  const port = await freePort();
  const config = path.join(dir, 'sshd_config');
  fs.writeFileSync(config, [
    `Port ${port}`, 'ListenAddress 127.0.0.1', `HostKey ${hostKey}`, 'PidFile none',
    `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
    'PubkeyAuthentication yes', 'PasswordAuthentication no', 'KbdInteractiveAuthentication no',
    'PermitRootLogin prohibit-password', 'UsePAM no', 'StrictModes no', 'LogLevel ERROR',
    '',
  ].join('\n'));
  // The privilege separation folder Debian's sshd insists on when run as root (normally made by systemd).
  if (process.getuid?.() === 0) fs.mkdirSync('/run/sshd', { recursive: true });
  const hostKeyPub = fs.readFileSync(`${hostKey}.pub`, 'utf8').trim();
  const knownHosts = path.join(dir, 'known_hosts');
  fs.writeFileSync(knownHosts, `[127.0.0.1]:${port} ${hostKeyPub.split(' ').slice(0, 2).join(' ')}\n`);
  const sshConfigFile = path.join(dir, 'ssh_config');
  fs.writeFileSync(sshConfigFile, [
    'Host local', '  HostName 127.0.0.1', `  Port ${port}`, `  User ${os.userInfo().username}`, `  IdentityFile ${clientKey}`,
    'Host *', '  IdentitiesOnly yes', `  UserKnownHostsFile ${knownHosts}`, '  GlobalKnownHostsFile /dev/null', '  IdentityAgent none',
    '',
  ].join('\n'));
  let log = '';
  const proc = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout!.on('data', (d) => (log += d));
  proc.stderr!.on('data', (d) => (log += d));
  const exited = new Promise<void>((r) => proc.on('exit', () => r()));
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 100; i++) {
    if (proc.exitCode !== null) break;
    if (await canConnect(port)) return { dir, port, clientKey, hostKeyPub, knownHosts, sshConfigFile, process: proc, log: () => log, stop };
    await new Promise((r) => setTimeout(r, 50));
  }
  await stop();
  throw new Error(`sshd did not start on port ${port}: ${log}`);
}
