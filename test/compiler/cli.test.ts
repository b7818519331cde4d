// The CLI as users and scripts run it: dist/cli.js (the package's `bin`), `inspect --json` on every fixture
// and on a generated LLaMA-2-7B-shaped model, checked against the fixtures' own records (model_info.json,
// README) and against counts taken from the imported graph; errors exit 2 with a message naming the file.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { importModelFile } from '../../src/compiler/onnx/import';
import { encodeModel } from '../../src/compiler/onnx/encode';
import { isKnownOp } from '../../src/compiler/ir/inferShapes';
import type { InspectReport, LayerSummary } from '../../src/compiler/inspect';
import type { Model } from '../../src/compiler/ir/graph';

const repoRoot = path.resolve(__dirname, '..', '..');
const fixtures = path.resolve(repoRoot, '..', 'shared', 'fixtures');
const cli = path.join(repoRoot, 'dist', 'cli.js');
let tmp = '';

function run(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function inspectJson(file: string): InspectReport {
  const r = run('inspect', file, '--json');
  assert.equal(r.status, 0, `inspect ${file} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as InspectReport;
}

function fixtureModels(): string[] {
  return fs.readdirSync(fixtures).sort().flatMap((d) => {
    const dir = path.join(fixtures, d);
    return fs.statSync(dir).isDirectory() ? fs.readdirSync(dir).filter((f) => f.endsWith('.onnx')).sort().map((f) => path.join(dir, f)) : [];
  });
}

function findLayer(l: LayerSummary, id: string): LayerSummary | undefined {
  if (l.id === id) return l;
  for (const c of l.children) {
    const f = findLayer(c, id);
    if (f) return f;
  }
  return undefined;
}

before(() => {
  const b = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: repoRoot, encoding: 'utf8' });
  assert.equal(b.status, 0, `build failed: ${b.stderr}`);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pockengine-cli-'));
});

after(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

test('inspect --json on every fixture model agrees with the graph and the fixtures\' records', () => {
  const files = fixtureModels();
  assert.ok(files.length >= 12);
  for (const file of files) {
    const r = inspectJson(file);
    const m = importModelFile(file);
    const name = path.relative(fixtures, file);
    assert.equal(r.schemaVersion, 1);
    assert.equal(r.file, file);
    assert.equal(r.fileBytes, fs.statSync(file).size);
    assert.equal(r.producer.name, 'pytorch', name);
    assert.equal(r.graph.nodes, m.graph.nodes.length, name);

    // Op counts equal a count over the graph's nodes.
    const ops: Record<string, number> = {};
    for (const n of m.graph.nodes) ops[n.opType] = (ops[n.opType] ?? 0) + 1;
    assert.deepEqual(r.opCounts, Object.fromEntries(Object.entries(ops).sort(([a], [b]) => (a < b ? -1 : 1))), name);
    // Unknown operators are exactly the ones shape inference does not know.
    const unknown = Object.keys(ops).filter((op) => !isKnownOp(op, '')).sort();
    assert.deepEqual(r.unknownOps.map((u) => u.opType).sort(), unknown, name);
    for (const u of r.unknownOps) assert.equal(u.count, ops[u.opType]);

    // Inputs and outputs with the names, dtypes and shapes the exporter wrote.
    assert.deepEqual(r.inputs.map((i) => i.name), m.graph.inputs, name);
    assert.deepEqual(r.outputs.map((i) => [i.name, i.dtype, i.shape]), m.graph.outputs.map((o) => [o, m.graph.values.get(o)!.type!.dtype, m.graph.values.get(o)!.type!.shape]), name);

    // The layer tree accounts for every node and every parameter exactly once.
    assert.equal(r.layers.totalNodes, m.graph.nodes.length, name);
    assert.equal(r.layers.parameters, r.parameters.count, name);
    const floatInits = [...m.graph.initializers.values()].filter((i) => i.dtype === 'float32');
    assert.equal(r.parameters.tensors + r.buffers.tensors + r.constants.tensors - (ops.Constant ?? 0), m.graph.initializers.size, name);
    assert.ok(r.parameters.tensors + r.buffers.tensors <= floatInits.length);
    assert.equal(r.parameters.bytes, r.parameters.count * 4, name);
    assert.equal(r.externalData.tensors, 0);

    // Training-mode exports keep PyTorch's parameters: their count is model_info.json's num_params.
    if (!file.endsWith('model_eval.onnx')) {
      const info = JSON.parse(fs.readFileSync(path.join(path.dirname(file), 'model_info.json'), 'utf8')) as { num_params: number };
      assert.equal(r.parameters.count, info.num_params, name);
    }
  }
});

test('parameter counts match the fixture README: mlp 6,922, MobileNetV2 408,938', () => {
  const readme = fs.readFileSync(path.join(fixtures, 'README.md'), 'utf8');
  for (const [dir, expected] of [['mlp', 6922], ['mobilenetv2_035', 408938]] as const) {
    const row = readme.split('\n').find((l) => l.startsWith(`| ${dir} |`))!;
    assert.equal(Number(row.split('|').at(-2)!.trim().replace(/,/g, '')), expected, `README row for ${dir}`);
    assert.equal(inspectJson(path.join(fixtures, dir, 'model.onnx')).parameters.count, expected);
  }
  const bn = inspectJson(path.join(fixtures, 'mobilenetv2_035', 'model.onnx'));
  // 52 BatchNormalization layers, each with a running mean and variance: buffers, not parameters.
  assert.equal(bn.buffers.tensors, 2 * bn.opCounts.BatchNormalization);
  assert.equal(findLayer(bn.layers, 'features.18.1')!.buffers.sort().join(), 'features.18.1.running_mean,features.18.1.running_var');
});

test('inspect --json on the LLaMA-2-7B-shaped model: 6.74e9 parameters, 32 decoder layers, no weights read', () => {
  const file = path.join(tmp, 'llama7b.onnx');
  const w = run('sample', 'llama7b', '--out', file);
  assert.equal(w.status, 0, w.stderr);
  assert.ok(!fs.existsSync(path.join(tmp, 'llama-2-7b.weights.bin')), 'the weights file is never written');
  const t0 = Date.now();
  const r = inspectJson(file);
  const seconds = (Date.now() - t0) / 1000;

  // LLaMA-2-7B from its architecture: embeddings and (untied) output head, 32 x (4 attention projections
  // d x d, 3 MLP matrices d x f, 2 RMSNorm weights d), final RMSNorm.
  const d = 4096, f = 11008, vocab = 32000, L = 32;
  const expected = 2 * vocab * d + L * (4 * d * d + 3 * d * f + 2 * d) + d;
  assert.equal(expected, 6_738_415_616);
  assert.equal(r.parameters.count, expected);
  assert.deepEqual(r.parameters.byDtype, { float16: expected });
  assert.equal(r.parameters.bytes, 2 * expected);
  assert.equal(r.parameters.tensors, 2 + L * 9 + 1);
  assert.equal(r.externalData.bytes, 2 * expected);
  assert.deepEqual(r.externalData.files, [{ location: 'llama-2-7b.weights.bin', exists: false }]);

  assert.deepEqual(r.inputs, [{ name: 'input_ids', dtype: 'int64', shape: ['batch', 'seq'] }]);
  assert.deepEqual(r.outputs, [{ name: 'logits', dtype: 'float16', shape: ['batch', 'seq', vocab] }]);

  const layers = findLayer(r.layers, 'layers')!;
  assert.deepEqual(layers.children.map((c) => c.id), Array.from({ length: L }, (_, i) => `layers.${i}`));
  for (const block of layers.children) {
    assert.equal(block.parameters, 4 * d * d + 3 * d * f + 2 * d, block.id);
    assert.deepEqual(block.children.map((c) => c.name).sort(), ['attention', 'attention_norm', 'feed_forward', 'ffn_norm']);
  }
  assert.deepEqual(findLayer(r.layers, 'layers.0.attention')!.children.map((c) => c.name), ['wq', 'wk', 'wv', 'wo']);
  assert.deepEqual(findLayer(r.layers, 'layers.7.attention.wq')!.params, ['layers.7.attention.wq.weight']);
  assert.deepEqual(r.layers.children.map((c) => c.id), ['tok_embeddings', 'layers', 'norm', 'output']);
  assert.equal(r.layers.totalNodes, r.graph.nodes);
  const ops: Record<string, number> = {};
  for (const n of importModelFile(file).graph.nodes) ops[n.opType] = (ops[n.opType] ?? 0) + 1;
  assert.deepEqual(r.opCounts, Object.fromEntries(Object.entries(ops).sort(([a], [b]) => (a < b ? -1 : 1))));
  assert.deepEqual(r.unknownOps, []);
  assert.deepEqual(r.warnings, []);
  // Shape inference keeps the symbolic dims through the whole graph.
  assert.equal(r.graph.typedValues, r.graph.values);
  assert.equal(r.opCounts.MatMul, L * 9 + 1); // 7 projections + 2 attention products per layer, and the head
  assert.equal(r.opCounts.Softmax, L);
  assert.equal(r.opCounts.Sqrt, 2 * L + 1);
  console.log(`inspect of the 7B-shaped model: ${r.graph.nodes} nodes, ${seconds.toFixed(2)} s for the whole CLI process`);
});

test('the text form is aligned and carries the same numbers', () => {
  const r = run('inspect', path.join(fixtures, 'mobilenetv2_035', 'model.onnx'));
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^parameters\s+408,938 \(1\.64 MB\) in 158 tensors$/m);
  assert.match(r.stdout, /^inputs\n {2}input\s+float32\s+\[2, 3, 96, 96\]$/m);
  assert.match(r.stdout, /^ {2}Conv\s+52$/m);
  assert.match(r.stdout, /^ {4}features\s+219\s+396,128/m);
});

test('an operator no one knows is listed, and the rest of the model still opens', () => {
  const model: Model = {
    path: '', irVersion: 8, opsets: { '': 13, 'com.example': 1 }, producerName: 'test', producerVersion: '1', modelVersion: 0, docString: '', metadata: {}, warnings: [],
    graph: {
      name: 'g',
      nodes: [
        { id: '/block/Relu', name: '/block/Relu', opType: 'Relu', domain: '', inputs: ['x'], outputs: ['h'], attrs: {}, layer: '' },
        { id: '/block/Fancy', name: '/block/Fancy', opType: 'FancyOp', domain: 'com.example', inputs: ['h'], outputs: ['y'], attrs: {}, layer: '' },
      ],
      values: new Map([['x', { name: 'x', type: { dtype: 'float32', shape: ['n', 4] } }], ['h', { name: 'h', type: null }], ['y', { name: 'y', type: null }]]),
      inputs: ['x'], outputs: ['y'], initializers: new Map(),
    },
  };
  const file = path.join(tmp, 'custom.onnx');
  fs.writeFileSync(file, encodeModel(model));
  const r = inspectJson(file);
  assert.deepEqual(r.unknownOps.find((u) => u.opType === 'FancyOp'), { opType: 'FancyOp', domain: 'com.example', count: 1, nodes: ['/block/Fancy'] });
  assert.deepEqual(r.opCounts, { Relu: 1, 'com.example::FancyOp': 1 });
  assert.deepEqual(r.opsets, { 'ai.onnx': 13, 'com.example': 1 });
  assert.deepEqual(r.layers.children.map((c) => [c.id, c.totalNodes]), [['block', 2]]);
});

test('bad input and bad usage exit 2 with a message naming the problem, never a stack trace', () => {
  const missing = path.join(tmp, 'no-such-model.onnx');
  const garbage = path.join(tmp, 'garbage.onnx');
  fs.writeFileSync(garbage, Buffer.from('this is not a protobuf at all \u00ff\u00fe'.repeat(20)));
  const empty = path.join(tmp, 'empty.onnx');
  fs.writeFileSync(empty, new Uint8Array(0));
  for (const [file, base] of [[missing, missing], [garbage, 'garbage.onnx'], [empty, 'empty.onnx']]) {
    const r = run('inspect', file, '--json');
    assert.equal(r.status, 2, `${file}: ${r.stderr}`);
    assert.equal(r.stdout, '');
    assert.ok(r.stderr.includes(base), `stderr names the file: ${r.stderr}`);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
  for (const args of [[], ['inspect'], ['inspect', 'a.onnx', 'b.onnx'], ['inspect', 'a.onnx', '--bogus'], ['frobnicate'], ['sample', 'gpt5', '--out', 'x.onnx'], ['sample', 'demo']]) {
    const r = run(...args);
    assert.equal(r.status, 2, `${args.join(' ')} -> ${r.status}: ${r.stderr}`);
    assert.ok(r.stderr.trim().length > 0);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
  const h = run('--help');
  assert.equal(h.status, 0);
  assert.match(h.stdout, /inspect/);
  const v = run('--version');
  assert.equal(v.stdout.trim(), JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).version);
  const ih = run('inspect', '--help');
  assert.equal(ih.status, 0);
  assert.match(ih.stdout, /--json/);
});
