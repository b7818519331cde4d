// The Export for device… flow (src/views/exportFlow.ts) with the real export API on the MLP fixture, the
// dialogs replaced by answers: the default folder is the CLI's, an earlier export is never replaced
// without a yes (and the question names what is there), a cancelled export leaves the previous one
// byte-for-byte (and no temporary folder), a yes replaces it, and a missing cross compiler still writes
// the sources and says which apt package to install.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { defaultOutDir } from '../../src/compiler/export/exportTraining';
import { defaultExportFolder, holdsExport, runExportFlow, type ExportUi } from '../../src/views/exportFlow';

const repo = path.resolve(__dirname, '..', '..');
const fixture = path.resolve(repo, '..', 'shared', 'fixtures', 'mlp', 'model.onnx');
let tmp: string;
let model: string;

before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pockengine-exportflow-'));
  model = path.join(tmp, 'mlp.onnx');
  fs.copyFileSync(fixture, model);
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function ui(answer: boolean, extra: Partial<ExportUi> = {}): ExportUi & { questions: string[]; lines: string[] } {
  const questions: string[] = [];
  const lines: string[] = [];
  return {
    questions, lines,
    confirmOverwrite: async (q) => (questions.push(q), answer),
    log: (l) => lines.push(l),
    progress: () => {},
    ...extra,
  };
}

const snapshot = (dir: string): Record<string, string> =>
  Object.fromEntries(fs.readdirSync(dir).sort().map((f) => [f, fs.readFileSync(path.join(dir, f)).toString('base64')]));
const partials = (): string[] => fs.readdirSync(tmp).filter((f) => f.includes('.partial-'));

test('default folder: beside the model, named after model and target, the same as the CLI', () => {
  assert.equal(defaultExportFolder(model, 'rpi4'), path.join(tmp, 'mlp-rpi4-export'));
  assert.equal(defaultExportFolder(model, 'host'), defaultOutDir(model, 'host'));
});

test('export, refusal to overwrite without a yes, cancellation keeps the previous export, then replace', async () => {
  const out = defaultExportFolder(model, 'host');
  const first = await runExportFlow({ model, target: 'host', format: 'c', out }, ui(false));
  assert.equal(first.kind, 'done', first.summary);
  assert.ok(holdsExport(out));
  for (const f of ['kernels.c', 'step.c', 'main.c', 'Makefile', 'weights.bin', 'manifest.json']) assert.ok(fs.existsSync(path.join(out, f)), f);
  const before = snapshot(out);

  // An earlier export is there: the question names it, and "no" writes nothing.
  const no = ui(false);
  const declined = await runExportFlow({ model, target: 'host', format: 'c', out }, no);
  assert.equal(declined.kind, 'declined');
  assert.equal(no.questions.length, 1);
  assert.match(no.questions[0], new RegExp(`${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} already holds an export of .* for host \\(c\\)`));
  assert.deepEqual(snapshot(out), before);

  // "Yes", then cancel while it runs: the previous export is exactly as it was, no temporary folder left.
  const abort = new AbortController();
  const cancelUi = ui(true, { signal: abort.signal, progress: () => abort.abort() });
  const cancelled = await runExportFlow({ model, target: 'host', format: 'onnx', out }, cancelUi);
  assert.equal(cancelled.kind, 'cancelled', cancelled.summary);
  assert.match(cancelled.summary, /previous export .* is unchanged/);
  assert.deepEqual(snapshot(out), before);
  assert.deepEqual(partials(), []);

  // "Yes" and let it finish: the export is replaced (now the ONNX training step).
  const yes = ui(true);
  const replaced = await runExportFlow({ model, target: 'host', format: 'onnx', out }, yes);
  assert.equal(replaced.kind, 'done', replaced.summary);
  assert.equal(yes.questions.length, 1);
  assert.ok(fs.existsSync(path.join(out, 'training_step.onnx')));
  assert.equal(JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8')).format, 'onnx');
  assert.ok(yes.lines.some((l) => l.startsWith('[compile]')), 'compiler progress goes to the log');
  assert.deepEqual(partials(), []);
});

test('a missing cross compiler names its apt package and still writes the sources', async () => {
  const out = path.join(tmp, 'pi-export');
  const empty = fs.mkdtempSync(path.join(tmp, 'nopath-'));
  const saved = process.env.PATH;
  process.env.PATH = empty; // a machine without aarch64-linux-gnu-gcc
  let r;
  try {
    r = await runExportFlow({ model, target: 'rpi4', format: 'binary', out }, ui(false));
  } finally {
    process.env.PATH = saved;
  }
  assert.equal(r.kind, 'done', r.summary);
  assert.ok(r.kind === 'done' && r.warning, 'a warning is shown');
  assert.match(r.kind === 'done' ? r.warning! : '', /apt-get install gcc-aarch64-linux-gnu/);
  for (const f of ['step.c', 'main.c', 'kernels.c', 'Makefile', 'manifest.json']) assert.ok(fs.existsSync(path.join(out, f)), f);
  assert.ok(!fs.existsSync(path.join(out, 'train')));
});

test('unit overrides made in the Backends view reach the Jetson export: the manifest counts the GPU operators they chose', async () => {
  // The MLP's own assignment keeps everything on the Orin Nano's CPU; the override puts every layer on its GPU.
  const plain = await runExportFlow({ model, target: 'jetson-orin-nano', format: 'c', out: path.join(tmp, 'jetson-plain') }, ui(false));
  const lines = ui(false);
  const moved = await runExportFlow({ model, target: 'jetson-orin-nano', format: 'c', out: path.join(tmp, 'jetson-gpu'), backendOverrides: { layers: [{ match: '*', unit: 'gpu' }] } }, lines);
  assert.ok(plain.kind === 'done' && moved.kind === 'done', `${plain.summary} / ${moved.summary}`);
  const gpu = (r: typeof plain): number => (r.kind === 'done' ? r.result.manifest.cuda!.gpuOperators : -1);
  assert.equal(gpu(plain), 0);
  assert.equal(gpu(moved), moved.kind === 'done' ? moved.result.manifest.step.operators : -1);
  assert.ok(lines.lines.includes('backend overrides from the Backends view are applied'));
  assert.match(fs.readFileSync(path.join(tmp, 'jetson-gpu', 'step.c'), 'utf8'), /pe_gpu_0\(o\)/);
});
