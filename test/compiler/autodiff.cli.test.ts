// `pockengine grad` and `pockengine train` on fixtures: files named by initializer, PyTorch's gradients and
// losses, one JSON line per step, and the exit code and message for an operator without a gradient rule.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { gradCommand } from '../../src/cli/commands/grad';
import { trainCommand } from '../../src/cli/commands/train';
import { readTensorFile } from '../../src/compiler/train/data';

const repo = path.resolve(__dirname, '..', '..');
const fixtures = path.resolve(repo, '..', 'shared', 'fixtures');
const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'pe-grad-'));

function capture(): { io: { stdout: (t: string) => void; stderr: (t: string) => void }; out: string[]; err: string[] } {
  const out: string[] = [], err: string[] = [];
  return { io: { stdout: (t) => void out.push(t), stderr: (t) => void err.push(t) }, out, err };
}

test('cli: pockengine grad writes PyTorch\'s gradients and loss (run as a process)', () => {
  const m = path.join(fixtures, 'tiny_llama');
  const out = tmp();
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(repo, 'src/cli/main.ts'), 'grad', path.join(m, 'model.onnx'), '--data', path.join(m, 'test_data'), '--out', out], { encoding: 'utf8', cwd: repo });
  assert.equal(r.status, 0, r.stderr);
  const ref = JSON.parse(fs.readFileSync(path.join(m, 'loss.json'), 'utf8')).loss;
  const loss = JSON.parse(fs.readFileSync(path.join(out, 'loss.json'), 'utf8')).loss;
  assert.ok(Math.abs(loss - ref) <= 1e-5 * ref);
  const manifest = JSON.parse(fs.readFileSync(path.join(m, 'grads_full', 'manifest.json'), 'utf8')).params as { file: string }[];
  assert.deepEqual(fs.readdirSync(out).sort(), [...manifest.map((e) => e.file), 'loss.json'].sort());
  for (const e of manifest) {
    const got = readTensorFile(path.join(out, e.file)), want = readTensorFile(path.join(m, 'grads_full', e.file));
    let err = 0, mx = 0;
    for (let i = 0; i < want.data.length; i++) {
      err = Math.max(err, Math.abs((got.data[i] as number) - (want.data[i] as number)));
      mx = Math.max(mx, Math.abs(want.data[i] as number));
    }
    assert.ok(err <= 1e-4 + 1e-3 * mx, `${e.file}: ${err}`);
  }
});

test('cli: pockengine grad --scheme bias-only writes only the biases', async () => {
  const m = path.join(fixtures, 'cnn_small');
  const out = tmp();
  const c = capture();
  assert.equal(await gradCommand.run([path.join(m, 'model.onnx'), '--data', path.join(m, 'test_data'), '--out', out, '--scheme', 'bias-only'], c.io), 0);
  const files = fs.readdirSync(out).filter((f) => f !== 'loss.json');
  assert.ok(files.length > 0 && files.every((f) => f.endsWith('.bias.pb')), files.join(' '));
});

test('cli: pockengine train prints one JSON line per step and writes parameters after SGD as PyTorch', async () => {
  const m = path.join(fixtures, 'mlp');
  const out = tmp();
  const c = capture();
  const code = await trainCommand.run([path.join(m, 'model.onnx'), '--data', path.join(m, 'test_data'), '--steps', '3', '--optimizer', 'sgd', '--lr', '0.01', '--out', out], c.io);
  assert.equal(code, 0, c.err.join(''));
  const lines = c.out.join('').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => l.step), [1, 2, 3]);
  const ref = JSON.parse(fs.readFileSync(path.join(m, 'loss.json'), 'utf8'));
  assert.ok(Math.abs(lines[0].loss - ref.loss) <= 1e-5 * ref.loss);
  assert.ok(Math.abs(lines[1].loss - ref.loss_after_sgd_full) <= 1e-4 * ref.loss_after_sgd_full);
  assert.ok(lines[2].loss < lines[1].loss);
  assert.equal(fs.readdirSync(out).length, 6);

  const adam = capture();
  assert.equal(await trainCommand.run([path.join(m, 'model.onnx'), '--data', path.join(m, 'test_data'), '--steps', '5', '--optimizer', 'adam', '--lr', '0.01', '--out', tmp()], adam.io), 0);
  const al = adam.out.join('').trim().split('\n').map((l) => JSON.parse(l).loss);
  assert.ok(al[4] < al[0], `Adam lowers the loss: ${al}`);
});

test('cli: missing data and bad options are clear errors', async () => {
  const m = path.join(fixtures, 'mlp');
  const c = capture();
  await assert.rejects(async () => gradCommand.run([path.join(m, 'model.onnx'), '--data', tmp(), '--out', tmp()], c.io), /input_0\.pb is missing/);
  await assert.rejects(async () => trainCommand.run([path.join(m, 'model.onnx'), '--data', path.join(m, 'test_data'), '--out', tmp(), '--optimizer', 'rmsprop'], c.io), /--optimizer must be sgd, adam or adamw/);
});
