// Deploy against a real OpenSSH server started on 127.0.0.1 by the test (throwaway host and client keys,
// temp known_hosts and ssh config; ~/.ssh untouched): probe, deploy + live run, an emulated Pi through
// qemu-aarch64, host-key refusal and trust, unreachable hosts, Stop, and hostile arguments. The exports are
// real: the MLP fixture exported by the export issue's code generator for the host and for a Raspberry Pi 4.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  resolveTarget, targetFromRecord, probeTarget, deployExport, startTraining, pullSaved, runSsh, shellCommand,
  fetchHostKey, trustHostKey, parseStepLine, SshError, type Target, type StepRecord,
} from '../../src/compiler/deploy';
import { exportTraining } from '../../src/compiler/export/exportTraining';
import { startSshd, freePort, keygen, type TestSshd } from './ssh/sshd';
import { HOSTILE } from './ssh/hostile';

const repo = path.resolve(__dirname, '..', '..');
let sshd: TestSshd;
let work: string;
let hostExport: string;
let piExport: string;
let dataDir: string;

const fixture = path.resolve(repo, '..', 'shared', 'fixtures', 'mlp');
const fixtureLoss = (JSON.parse(fs.readFileSync(path.join(fixture, 'loss.json'), 'utf8')) as { loss: number }).loss;

async function exportFixture(target: 'host' | 'rpi4', out: string): Promise<void> {
  // -O1 keeps the suite fast; the binary's interface and numbers are what deploy is tested on.
  const r = await exportTraining({ model: path.join(fixture, 'model.onnx'), target, format: 'binary', out, optLevel: 1 });
  assert.ok(r.binary, `no ${target} binary: ${r.buildSkipped}`);
}

/** `{step, loss}` of every line a local run prints (ms differs run to run). */
function localLosses(cmd: string[], cwd: string): { step: number; loss: number }[] {
  const out = execFileSync(cmd[0], cmd.slice(1), { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return out.trim().split('\n').map((l) => parseStepLine(l)).filter((r) => r !== null).map(({ step, loss }) => ({ step, loss }));
}

function localTarget(extra: Partial<Target> = {}): Target {
  return { ...resolveTarget('local', { sshConfigFile: sshd.sshConfigFile }), workdir: path.join(work, 'remote'), ...extra };
}

async function collect(t: Target, remoteDir: string, steps: number, log?: string[]) {
  const run = startTraining(t, remoteDir, { steps, save: true, onLog: (l, s) => log?.push(`${s}: ${l}`) });
  const got: { step: number; loss: number }[] = [];
  for await (const { record } of run) got.push({ step: record.step, loss: record.loss });
  assert.equal((await run.done).code, 0);
  return got;
}

before(async () => {
  sshd = await startSshd();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'pockengine-deploy-'));
  hostExport = path.join(work, 'export-host');
  piExport = path.join(work, 'export-rpi4');
  await Promise.all([exportFixture('host', hostExport), exportFixture('rpi4', piExport)]);
  // The user's data folder: the fixture's batch, copied so the remote copy is of a folder we own.
  dataDir = path.join(work, 'data');
  fs.mkdirSync(dataDir);
  for (const f of ['input_0.pb', 'labels.pb']) fs.copyFileSync(path.join(fixture, 'test_data', f), path.join(dataDir, f));
});

after(async () => {
  await sshd?.stop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

test('probe reports this machine: architecture, memory, cores; matched to the host profile', async () => {
  const r = await probeTarget(localTarget());
  assert.equal(r.online, true, r.error);
  assert.equal(r.info!.arch, execFileSync('uname', ['-m'], { encoding: 'utf8' }).trim());
  const memKb = Number(/MemTotal:\s*(\d+)/.exec(fs.readFileSync('/proc/meminfo', 'utf8'))![1]);
  assert.equal(r.info!.memTotalBytes, memKb * 1024);
  assert.equal(r.info!.cores, Number(execFileSync('nproc', { encoding: 'utf8' })));
  assert.ok(r.info!.diskFreeBytes > 0);
  assert.equal(r.match!.profile, process.arch === 'x64' ? 'host' : r.match!.profile);
});

test('deploy + run streams the step losses of running the binary locally, and pulls the saved .pb back', async () => {
  const t = localTarget();
  const remoteDir = await deployExport(t, { exportDir: hostExport, dataDir });
  assert.equal(remoteDir, path.join(work, 'remote', 'export-host'));
  assert.ok(fs.statSync(path.join(remoteDir, 'data', 'input_0.pb')).isFile());
  const log: string[] = [];
  const got = await collect(t, remoteDir, 12, log);
  const localRun = path.join(work, 'local-host');
  fs.cpSync(hostExport, localRun, { recursive: true });
  const want = localLosses(['./train', '--data', dataDir, '--steps', '12', '--save', 'saved'], localRun);
  assert.equal(got.length, 12);
  assert.deepEqual(got, want);
  assert.ok(want[11].loss < want[0].loss);
  assert.ok(Math.abs(got[0].loss - fixtureLoss) < 1e-6, `first loss ${got[0].loss} vs PyTorch ${fixtureLoss}`);
  assert.ok(log.some((l) => /^stdout: \{"peak_rss_kb"/.test(l)), log.join('\n')); // the full log has every line
  const pulled = await pullSaved(t, remoteDir, path.join(work, 'pulled'));
  const local = fs.readdirSync(path.join(localRun, 'saved')).sort();
  assert.ok(local.length >= 6, local.join());
  assert.deepEqual(pulled.map((p) => path.basename(p)).sort(), local);
  for (const f of local) assert.deepEqual(fs.readFileSync(path.join(work, 'pulled', f)), fs.readFileSync(path.join(localRun, 'saved', f)), f);
});

test('an emulated Pi target (runner qemu-aarch64) streams the losses of the aarch64 binary run locally under qemu', async () => {
  const t = targetFromRecord({
    name: 'emulated-pi', host: '127.0.0.1', port: sshd.port, user: os.userInfo().username, identityFile: sshd.clientKey,
    knownHostsFile: sshd.knownHosts, workdir: path.join(work, 'pi-home'), runner: 'qemu-aarch64',
  }, sshd.sshConfigFile);
  const remoteDir = await deployExport(t, { exportDir: piExport, dataDir });
  const got = await collect(t, remoteDir, 8);
  const want = localLosses(['qemu-aarch64', path.join(piExport, 'train'), '--data', dataDir, '--steps', '8'], work);
  assert.deepEqual(got, want);
  assert.equal(got.length, 8);
  // Same step, other ISA and compiler: the losses agree with the host build's to float precision.
  const host = localLosses([path.join(hostExport, 'train'), '--data', dataDir, '--steps', '8'], work);
  got.forEach((g, i) => assert.ok(Math.abs(g.loss - host[i].loss) <= 1e-5 * Math.abs(host[i].loss), `step ${g.step}: ${g.loss} vs ${host[i].loss}`));
});

test('a wrong host key is refused; an unknown one is refused until trusted with its checked fingerprint', async () => {
  const otherKey = path.join(work, 'other_host_key');
  keygen(otherKey);
  const wrongKnown = path.join(work, 'wrong_known_hosts');
  fs.writeFileSync(wrongKnown, `[127.0.0.1]:${sshd.port} ${fs.readFileSync(`${otherKey}.pub`, 'utf8').split(' ').slice(0, 2).join(' ')}\n`);
  await assert.rejects(runSsh(localTarget({ knownHostsFile: wrongKnown }), 'true'), (e: SshError) => {
    assert.equal(e.kind, 'changed-host-key');
    assert.match(e.message, /host key does not match .*known_hosts/);
    return true;
  });
  const emptyKnown = path.join(work, 'empty_known_hosts');
  fs.writeFileSync(emptyKnown, '');
  const t = localTarget({ knownHostsFile: emptyKnown });
  const probe = await probeTarget(t);
  assert.equal(probe.errorKind, 'unknown-host-key');
  assert.match(probe.error!, /not in known_hosts/);
  const fetched = await fetchHostKey(t);
  const expected = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${path.join(sshd.dir, 'host_key')}.pub`], { encoding: 'utf8' }).split(' ')[1];
  assert.equal(fetched.endpoint.port, sshd.port);
  const ed = fetched.keys.find((k) => k.type === 'ssh-ed25519')!;
  assert.equal(ed.fingerprint, expected);
  trustHostKey(t, ed, emptyKnown);
  const again = await probeTarget(t);
  assert.equal(again.online, true, again.error);
  assert.ok(again.info!.cores > 0);
});

test('an unreachable host fails fast with a clear message: a closed port, and a port that never answers', async () => {
  const closed = await freePort();
  const t0 = Date.now();
  const r = await probeTarget(localTarget({ port: closed }), { connectTimeoutS: 3 });
  assert.equal(r.online, false);
  assert.equal(r.errorKind, 'unreachable');
  assert.match(r.error!, /target "local" is unreachable: .*Connection refused/);
  assert.ok(Date.now() - t0 < 5000);
  // A run that cannot connect ends its stream with the same clear error.
  const run = startTraining(localTarget({ port: closed }), 'nowhere', { steps: 1, connectTimeoutS: 3 });
  await assert.rejects(run.pid, /unreachable/);
  await assert.rejects((async () => { for await (const s of run) void s; })(), (e: SshError) => e.kind === 'unreachable');
  assert.equal((await run.done).stopped, false);
  // A listener that accepts and says nothing: only the bounded timeout ends the wait.
  const silent = net.createServer(() => {});
  await new Promise<void>((res) => silent.listen(0, '127.0.0.1', () => res()));
  try {
    const t1 = Date.now();
    const s = await probeTarget(localTarget({ port: (silent.address() as net.AddressInfo).port }), { connectTimeoutS: 2 });
    const ms = Date.now() - t1;
    assert.equal(s.online, false);
    assert.match(s.error!, /timed out|no answer/);
    assert.ok(ms >= 1500 && ms < 8000, `took ${ms} ms`);
  } finally {
    silent.close();
  }
});

test('stop() ends the remote process, and the process is gone from /proc', async () => {
  const t = localTarget();
  const remoteDir = await deployExport(t, { exportDir: hostExport, dataDir, name: 'export-stop' });
  const run = startTraining(t, remoteDir, { steps: 1_000_000_000 });
  try {
    const pid = await run.pid;
    const cmdline = `/proc/${pid}/cmdline`;
    const seen: number[] = [];
    for await (const { record } of run) {
      // The recorded pid is the training program itself (the remote shell exec'd it), not a wrapper.
      if (seen.length === 0) assert.match(fs.readFileSync(cmdline, 'utf8'), /^\.\/train\x00--data\x00data\x00--steps\x001000000000\x00/);
      seen.push(record.step);
      if (seen.length === 3) {
        assert.ok(fs.existsSync(cmdline)); // lines arrive while the program is still running
        break; // leaving the loop calls stop()
      }
    }
    assert.deepEqual(seen, [1, 2, 3]);
    assert.equal(fs.existsSync(cmdline), false, `pid ${pid} still exists: ${fs.existsSync(cmdline) ? fs.readFileSync(cmdline, 'utf8') : ''}`);
  } finally {
    await run.stop(); // a failed assertion must not leave the program running
  }
  const outcome = await run.done;
  assert.equal(outcome.stopped, true);
  assert.ok(outcome.code !== 0);
});

test('hostile argument strings arrive at the remote side byte for byte', async () => {
  fs.rmSync('/tmp/pockengine-pwned', { force: true });
  const r = await runSsh(localTarget(), shellCommand(['printf', '%s\\0', ...HOSTILE]));
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.split('\0').slice(0, -1), HOSTILE);
  assert.equal(fs.existsSync('/tmp/pockengine-pwned'), false);
});

test('CLI: `pockengine deploy` streams the JSON lines; `pockengine targets --probe --json` lists and probes', async () => {
  const cli = (args: string[]) => new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', path.join(repo, 'src/cli/main.ts'), ...args], { cwd: repo });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  const targetsFile = path.join(work, 'targets.json');
  fs.writeFileSync(targetsFile, JSON.stringify([{ name: 'cli-local', host: '127.0.0.1', port: sshd.port, user: os.userInfo().username, identityFile: sshd.clientKey, workdir: path.join(work, 'cli-home') }]));
  const pull = path.join(work, 'cli-pull');
  const d = await cli(['deploy', hostExport, '--target', 'cli-local', '--targets', targetsFile, '--ssh-config', sshd.sshConfigFile, '--data', dataDir, '--steps', '5', '--pull', pull]);
  assert.equal(d.code, 0, d.stderr);
  const lines = d.stdout.trim().split('\n').map((l) => parseStepLine(l)).filter((l): l is StepRecord => l !== null);
  assert.deepEqual(lines.map(({ step, loss }) => ({ step, loss })), localLosses([path.join(hostExport, 'train'), '--data', dataDir, '--steps', '5'], work));
  assert.ok(lines.every((l) => typeof l.ms === 'number'));
  assert.ok(fs.existsSync(path.join(pull, 'classifier.weight.pb')));
  assert.match(d.stdout, /"peak_rss_kb"/); // every JSON line of the binary, as it printed it
  const l = await cli(['targets', '--ssh-config', sshd.sshConfigFile, '--probe', '--json']);
  assert.equal(l.code, 0, l.stderr);
  const list = JSON.parse(l.stdout) as { name: string; online: boolean; arch?: string; profile?: string }[];
  const local = list.find((x) => x.name === 'local')!;
  assert.equal(local.online, true);
  assert.equal(local.arch, os.arch() === 'x64' ? 'x86_64' : local.arch);
  const bad = await cli(['deploy', hostExport, '--target', `root@127.0.0.1:${await freePort()}`, '--ssh-config', sshd.sshConfigFile, '--data', dataDir, '--steps', '1']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /unreachable/);
});
