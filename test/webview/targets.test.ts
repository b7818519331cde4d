// The Targets view's logic (src/views/targetsModel.ts) against a real OpenSSH server on 127.0.0.1 (the
// deploy tests' sshd support): the ssh config's Host is listed, a probe is described with this machine's
// architecture, cores and memory and the host profile; an unknown host key fails the probe, the question
// shows the server's real fingerprint, and only after trusting it (the "Trust" answer) does the probe
// pass. Plus the Add target… answers turned into a `pockengine.targets` record.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fetchHostKey, listTargets, probeTarget, targetFromRecord, trustHostKey } from '../../src/compiler/deploy';
import { describeProbe, formatSize, hostKeyQuestion, recordFromAnswers, validateHost, validatePort } from '../../src/views/targetsModel';
import { startSshd, type TestSshd } from '../compiler/ssh/sshd';

let sshd: TestSshd;

before(async () => {
  sshd = await startSshd();
});
after(async () => sshd?.stop());

test('the ssh config Host is a target; its probe shows this machine and the host profile', async () => {
  const { targets } = listTargets({ sshConfigFile: sshd.sshConfigFile });
  const local = targets.find((t) => t.name === 'local');
  assert.ok(local, 'Host local listed');
  assert.equal(local.source, 'ssh-config');
  const before = describeProbe(local, undefined);
  assert.equal(before.online, null);
  assert.equal(before.description, `${os.userInfo().username}@127.0.0.1:${sshd.port}`);
  assert.match(before.tooltip, /Not probed yet/);

  const r = await probeTarget(local);
  assert.equal(r.online, true, r.error);
  const v = describeProbe(local, r);
  assert.equal(v.online, true);
  const arch = execFileSync('uname', ['-m'], { encoding: 'utf8' }).trim();
  const memKb = Number(/MemTotal:\s*(\d+)/.exec(fs.readFileSync('/proc/meminfo', 'utf8'))![1]);
  assert.match(v.description, new RegExp(`^online · ${arch} · host · ${os.cpus().length} cores · ${formatSize(memKb * 1024).replace('.', '\\.')} RAM · .+ free$`));
  assert.match(v.tooltip, /Profile: host \(export target host\)/);
});

test('an unknown host key: probe refused, the question shows the real fingerprint, trusted only then', async () => {
  const knownHosts = path.join(sshd.dir, 'empty_known_hosts');
  fs.writeFileSync(knownHosts, '');
  const t = targetFromRecord({ name: 'fresh', host: '127.0.0.1', port: sshd.port, user: os.userInfo().username, identityFile: sshd.clientKey, knownHostsFile: knownHosts }, sshd.sshConfigFile);
  const refused = await probeTarget(t);
  assert.equal(refused.errorKind, 'unknown-host-key', refused.error);
  assert.equal(describeProbe(t, refused).online, true);

  const fetched = await fetchHostKey(t);
  const pubFile = path.join(sshd.dir, 'host_key.pub');
  const real = /(SHA256:\S+)/.exec(execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', pubFile], { encoding: 'utf8' }))![1];
  const q = hostKeyQuestion(t, fetched, knownHosts);
  assert.ok(q.includes(real), `the question shows ${real}:\n${q}`);
  assert.ok(q.includes(knownHosts));
  // Nothing was written before the answer.
  assert.equal(fs.readFileSync(knownHosts, 'utf8'), '');

  trustHostKey(t, fetched.keys, knownHosts);
  const ok = await probeTarget(t);
  assert.equal(ok.online, true, ok.error);
  assert.ok(ok.info);
});

test('Add target answers become a settings record; names stay unique', () => {
  assert.equal(validateHost(''), 'a host name or address');
  assert.equal(validateHost('pi@raspberrypi:2222'), null);
  assert.notEqual(validateHost('bad host'), null);
  assert.equal(validatePort(''), null);
  assert.notEqual(validatePort('70000'), null);
  assert.deepEqual(recordFromAnswers({ host: 'pi@raspberrypi:2222', user: '', port: '', identityFile: '', workdir: 'ft' }, []),
    { name: 'raspberrypi', host: 'raspberrypi', user: 'pi', port: 2222, workdir: 'ft' });
  assert.deepEqual(recordFromAnswers({ host: 'jetson.local', user: 'nvidia', port: '22', identityFile: '/k/id_ed25519' }, [{ host: 'jetson.local', name: 'jetson.local' }]),
    { name: 'jetson.local-2', host: 'jetson.local', user: 'nvidia', port: 22, identityFile: '/k/id_ed25519' });
});
