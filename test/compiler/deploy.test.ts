// Deploy building blocks without a network: shell quoting against hostile strings (checked by a real
// shell), OpenSSH config parsing, target specs, the ssh command line, probe parsing and profile matching.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  shellQuote, shellCommand, parseSshConfig, parseTargetSpec, resolveTarget, targetFromRecord, sshArgv, sshFailure,
  parseProbeOutput, probeScript, matchProfile, normaliseWorkdir, remoteRunCommand, parseStepLine, listTargets,
} from '../../src/compiler/deploy';
import { ModelError } from '../../src/compiler/onnx/errors';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HOSTILE } from './ssh/hostile';


test('shellQuote: a real shell reads every hostile string back byte for byte and runs nothing', () => {
  fs.rmSync('/tmp/pockengine-pwned', { force: true });
  for (const shell of ['/bin/sh', '/bin/bash']) {
    const out = execFileSync(shell, ['-c', shellCommand(['printf', '%s\\0', ...HOSTILE])]);
    assert.deepEqual(out.toString('utf8').split('\0').slice(0, -1), HOSTILE, shell);
  }
  assert.equal(fs.existsSync('/tmp/pockengine-pwned'), false);
  assert.equal(shellQuote('simple-path/x.pb'), 'simple-path/x.pb');
  assert.equal(shellQuote("it's"), `'it'\\''s'`);
  assert.throws(() => shellQuote('a\0b'), /NUL/);
});

test('parseSshConfig lists concrete Host aliases with first-value-wins settings, skips wildcards, notes Include', () => {
  const cfg = parseSshConfig([
    '# my devices', 'Include ~/.ssh/config.d/*', 'User defaultuser', '',
    'Host pi4 pi4-alt', '  HostName 192.168.1.40', '  Port 2222', '  IdentityFile ~/.ssh/pi_ed25519',
    'Host jetson', '  HostName=jetson.local', '  User "nvidia"',
    'Host *.lab !bad.lab', '  User lab', 'Host *', '  Port 22', '  User fallback',
    'Match host foo', '  User matched',
  ].join('\n'), 'cfg');
  assert.deepEqual(cfg.hosts.map((h) => h.alias), ['pi4', 'pi4-alt', 'jetson']);
  const pi4 = cfg.hosts[0];
  assert.equal(pi4.hostName, '192.168.1.40');
  assert.equal(pi4.port, 2222);
  assert.equal(pi4.user, 'defaultuser'); // set before any Host: applies everywhere and comes first
  assert.equal(pi4.identityFile, '~/.ssh/pi_ed25519');
  assert.equal(cfg.hosts[2].hostName, 'jetson.local');
  assert.equal(cfg.hosts[2].port, 22);
  assert.ok(cfg.notes.some((n) => /cfg:2: Include/.test(n)));
  assert.ok(cfg.notes.some((n) => /Match/.test(n)));
});

test('target specs: user@host[:port], records, names; bad ones are clear errors', () => {
  assert.deepEqual(parseTargetSpec('pi@10.0.0.5:2222'), { user: 'pi', host: '10.0.0.5', port: 2222 });
  assert.deepEqual(parseTargetSpec('jetson.local'), { user: undefined, host: 'jetson.local', port: undefined });
  assert.deepEqual(parseTargetSpec('root@[::1]:22'), { user: 'root', host: '::1', port: 22 });
  assert.equal(parseTargetSpec('a b'), null);
  assert.throws(() => parseTargetSpec('x@h:70000'), ModelError);
  assert.throws(() => resolveTarget('-oProxyCommand=evil'), /not a host name|neither/);
  assert.throws(() => resolveTarget('no such thing!', { records: [] }), /neither a known target/);
  const t = targetFromRecord({ name: 'pi', host: 'pi.local', user: 'pi', port: 22, workdir: '~/train', runner: 'qemu-aarch64 -L /x' });
  assert.deepEqual([t.workdir, t.runner], ['train', ['qemu-aarch64', '-L', '/x']]);
  assert.equal(normaliseWorkdir(undefined), 'pockengine');
  assert.throws(() => targetFromRecord({ host: 'h', port: 0 }), /port/);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pockengine-cfg-'));
  try {
    const f = path.join(dir, 'config');
    fs.writeFileSync(f, 'Host board\n  HostName 10.1.1.1\n  User me\n');
    const { targets } = listTargets({ sshConfigFile: f, records: [{ name: 'emu', host: '127.0.0.1', runner: ['qemu-aarch64'] }] });
    assert.deepEqual(targets.map((x) => [x.name, x.source]), [['emu', 'setting'], ['board', 'ssh-config']]);
    assert.equal(resolveTarget('board', { sshConfigFile: f }).destination, 'board');
    assert.throws(() => listTargets({ sshConfigFile: path.join(dir, 'missing') }), /does not exist/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the ssh command line never weakens host key checking and bounds the connect time', () => {
  const t = targetFromRecord({ host: 'pi.local', user: 'pi', port: 2200, identityFile: '/k' }, '/cfg');
  const argv = sshArgv(t, 'true', { connectTimeoutS: 4 });
  const opts = argv.join(' ');
  assert.match(opts, /StrictHostKeyChecking=yes/);
  assert.match(opts, /BatchMode=yes/);
  assert.match(opts, /ConnectTimeout=4/);
  assert.doesNotMatch(opts, /StrictHostKeyChecking=(no|accept-new)|UserKnownHostsFile=\/dev\/null/);
  assert.deepEqual(argv.slice(-3), ['--', 'pi.local', 'true']);
  assert.deepEqual(argv.slice(0, 2), ['-F', '/cfg']);
  assert.equal(sshFailure(t, 'ssh: connect to host x port 1: Connection refused').kind, 'unreachable');
  assert.equal(sshFailure(t, '@@@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @@@\nHost key verification failed.').kind, 'changed-host-key');
  assert.equal(sshFailure(t, 'No ED25519 host key is known for [x]:1 and you have requested strict checking.\nHost key verification failed.').kind, 'unknown-host-key');
  assert.equal(sshFailure(t, 'root@x: Permission denied (publickey).').kind, 'auth');
});

test('probe output parses, and boards match their profiles', () => {
  const text = ['@@pockengine:arch', 'aarch64', '@@pockengine:model', 'Raspberry Pi 4 Model B Rev 1.4', '@@pockengine:tegra',
    '@@pockengine:nproc', '4', '@@pockengine:meminfo', 'MemTotal:        3884132 kB', '@@pockengine:df',
    '/dev/root 30358348 9000000 20000000 31% /', '@@pockengine:end', ''].join('\n');
  const info = parseProbeOutput(text);
  assert.deepEqual(info, { arch: 'aarch64', model: 'Raspberry Pi 4 Model B Rev 1.4', tegraRelease: '', cores: 4, memTotalBytes: 3884132 * 1024, diskFreeBytes: 20000000 * 1024 });
  assert.throws(() => parseProbeOutput('@@pockengine:arch\nx86_64\n'), /incomplete/);
  const m = (arch: string, model = '', tegraRelease = '') => matchProfile({ arch, model, tegraRelease });
  assert.equal(m('aarch64', 'Raspberry Pi 4 Model B Rev 1.4').profile, 'rpi4');
  assert.equal(m('aarch64', 'Raspberry Pi 5 Model B Rev 1.0').profile, 'rpi5');
  const armhf = m('armv7l', 'Raspberry Pi 4 Model B');
  assert.deepEqual([armhf.profile, armhf.abi, armhf.exportTarget], ['rpi4', 'armhf', 'rpi4-armhf']);
  assert.equal(m('aarch64', 'Raspberry Pi 4 Model B Rev 1.4').exportTarget, 'rpi4');
  assert.equal(m('aarch64', 'NVIDIA Jetson Orin Nano Developer Kit', '# R36 (release), REVISION: 3.0').profile, 'jetson-orin-nano');
  assert.equal(m('aarch64', 'Jetson AGX Orin', '# R35 (release)').profile, 'jetson-agx-orin');
  assert.equal(m('aarch64', 'NVIDIA Jetson Nano Developer Kit', '# R32 (release), REVISION: 7.1').profile, 'jetson-nano');
  assert.equal(m('x86_64').profile, 'host');
  assert.equal(m('aarch64', 'Some Board').profile, undefined);
  assert.equal(m('riscv64').abi, 'unknown');
  assert.match(probeScript("dir with 'quote'"), /d='dir with '\\''quote'\\''';/);
});

test('the remote run command quotes every word and execs the program', () => {
  const cmd = remoteRunCommand('my dir', ['qemu-aarch64', './train', '--data', 'd;rm -rf ~']);
  assert.equal(cmd, `cd -- 'my dir' && echo @@pockengine-pid $$ && exec qemu-aarch64 ./train --data 'd;rm -rf ~'`);
  assert.deepEqual(parseStepLine('{"step":3,"loss":0.5,"ms":1.2}'), { step: 3, loss: 0.5, ms: 1.2 });
  assert.equal(parseStepLine('train: starting'), null);
  assert.equal(parseStepLine('{"bench":1}'), null);
});
