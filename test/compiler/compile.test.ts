import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { loadModel, type LoadedModel } from '../../src/compiler/loadModel';
import { compile, compileReport, liveTensorsAt } from '../../src/compiler/compile';
import { checkPlan } from '../../src/compiler/plan/memoryPlan';
import { presetScheme } from '../../src/compiler/sparse/presets';
import type { Scheme } from '../../src/compiler/sparse/scheme';
import { compileCommand } from '../../src/cli/commands/compile';
import { CATEGORIES } from '../../src/compiler/plan/lifetimes';

const fixtures = path.resolve(__dirname, '..', '..', '..', 'shared', 'fixtures');
const cache = new Map<string, LoadedModel>();
const load = (m: string) => cache.get(m) ?? cache.set(m, loadModel(path.join(fixtures, m, 'model.onnx'))).get(m)!;

const schemes: Record<string, (l: LoadedModel) => Scheme> = {
  full: () => ({ default: 'full', batchnorm: 'train', rules: [] }),
  'last-2, frozen BN': (l) => ({ ...presetScheme('last-2', l.model.graph, l.layers)!, batchnorm: 'frozen' }),
  'bias-only': () => ({ default: 'bias', batchnorm: 'train', rules: [] }),
  'classifier-only': (l) => presetScheme('classifier-only', l.model.graph, l.layers)!,
};

for (const model of ['mlp', 'cnn_small', 'mobilenetv2_035', 'tiny_llama']) {
  test(`${model}: the arena is valid for every scheme`, () => {
    const l = load(model);
    for (const [name, scheme] of Object.entries(schemes)) {
      const r = compile(l, { scheme: scheme(l), compare: false });
      const where = `${model} / ${name}`;
      assert.deepEqual(checkPlan(r.plan), [], where);
      assert.equal(r.memory.peakBytes, r.memory.arenaBytes, where);
      assert.ok(r.memory.arenaBytes >= r.memory.liveBytesPeak, where);
      // Every tensor lives exactly from its producer to its last reader (step outputs: to the end).
      const made = new Map<string, number>(), read = new Map<string, number>();
      r.plan.steps.forEach((s, i) => {
        for (const o of s.outputs) if (o && !made.has(o)) made.set(o, i);
        for (const x of s.inputs) if (x) read.set(x, i);
      });
      const outputs = new Set(r.program.tg.graph.outputs.map((o) => r.plan.aliasOf.get(o) ?? o));
      const last = r.plan.steps.length - 1;
      for (const t of r.memory.tensors) {
        if (t.category === 'workspace') { assert.equal(t.firstStep, t.lastStep); continue; }
        const persistent = ['trainable-param', 'frozen-param', 'optimizer-state', 'input'].includes(t.category);
        if (persistent) { assert.deepEqual([t.firstStep, t.lastStep], [0, last], `${where}: ${t.name}`); continue; }
        assert.equal(t.firstStep, made.get(t.name), `${where}: ${t.name} starts at its producer`);
        const end = outputs.has(t.name) ? last : Math.max(made.get(t.name)!, read.get(t.name) ?? -1);
        assert.equal(t.lastStep, end, `${where}: ${t.name} ends at its last reader`);
      }
      // The timeline is the sum of the tensors live at each step.
      for (const step of [0, r.memory.peakStep, last]) {
        const sum = liveTensorsAt(r.memory.tensors, step).reduce((s, t) => s + t.bytes, 0);
        assert.equal(r.memory.timeline[step].bytes, sum, `${where}: step ${step}`);
      }
      assert.equal(r.schedule.length, r.plan.steps.length);
      for (const t of r.memory.tensors) assert.ok(CATEGORIES.includes(t.category));
    }
  });
}

test('MobileNetV2, last-2 with frozen BatchNorm: peak at least 3x below the full update', () => {
  const l = load('mobilenetv2_035');
  const r = compile(l, { scheme: schemes['last-2, frozen BN'](l) });
  const m = r.memory;
  const ratio = m.peakBytesFullUpdate! / m.peakBytes;
  console.log(`MobileNetV2 batch 2, last-2 + frozen BN: peak ${m.peakBytes} B, full update ${m.peakBytesFullUpdate} B (${ratio.toFixed(2)}x), without reordering ${m.peakBytesNoReorder} B`);
  assert.ok(ratio >= 3, `ratio ${ratio}`);
  assert.ok(m.peakBytesNoReorder! >= m.peakBytes);
  assert.equal(m.compare.fullUpdate!.peakBytes, m.peakBytesFullUpdate);
  // The comparison plans are the same compiler with passes switched off / every parameter trainable.
  const off = compile(l, { scheme: schemes['last-2, frozen BN'](l), passes: { 'reorder-optimizer-updates': false, 'reorder-weight-grad-first': false }, compare: false });
  assert.equal(off.memory.peakBytes, m.peakBytesNoReorder);
  const full = compile(l, { scheme: { default: 'full', batchnorm: 'frozen', rules: [] }, compare: false });
  assert.equal(full.memory.peakBytes, m.peakBytesFullUpdate);
  // Pruned backward nodes carry the reason from the scheme.
  assert.equal(r.pruned.length > 0, true);
  assert.ok(r.schedule.some((s) => s.movedBy === 'reorder-optimizer-updates'));
});

test('im2col workspace of the first MobileNetV2 convolution, by hand', () => {
  const r = compile(load('mobilenetv2_035'), { scheme: 'full', compare: false });
  const first = r.memory.tensors.find((t) => t.name === '/features/features.0/features.0.0/Conv#workspace')!;
  // 3x3 stride-2 conv of a [2,3,96,96] input: one image's columns are (3·3·3) x (48·48) floats.
  assert.equal(first.bytes, 3 * 3 * 3 * 48 * 48 * 4);
  assert.equal(first.category, 'workspace');
  // Depthwise convolutions run direct loops: no workspace.
  assert.equal(r.memory.tensors.find((t) => t.name === '/features/features.1/conv/conv.0/conv.0.0/Conv#workspace'), undefined);
});

function runCli(argv: string[]): { code: number; out: string; err: string } {
  let out = '', err = '';
  const code = compileCommand.run(argv, { stdout: (t) => { out += t; }, stderr: (t) => { err += t; } }) as number;
  return { code, out, err };
}

test('pockengine compile --json prints the stable fields', () => {
  const { code, out } = runCli([path.join(fixtures, 'cnn_small', 'model.onnx'), '--scheme', 'last-2', '--target', 'rpi4', '--json']);
  assert.equal(code, 0);
  const j = JSON.parse(out);
  for (const ph of ['forward', 'backward', 'optimizer']) {
    assert.equal(typeof j.graphs[ph].nodes, 'number');
    assert.equal(typeof j.graphs[ph].flops, 'number');
  }
  assert.equal(typeof j.graphs.backward.prunedNodes, 'number');
  assert.ok(j.schedule.length > 0);
  for (const s of j.schedule) assert.deepEqual(['node', 'op', 'phase', 'unit', 'estMs'].filter((k) => !(k in s)), []);
  for (const k of ['peakBytes', 'peakBytesNoReorder', 'peakBytesFullUpdate', 'arenaBytes']) assert.equal(typeof j.memory[k], 'number', k);
  assert.equal(j.memory.peakBytes, j.memory.arenaBytes);
  assert.equal(j.memory.timeline.length, j.schedule.length);
  assert.deepEqual(Object.keys(j.memory.timeline[0]).sort(), ['byCategory', 'bytes', 'step']);
  for (const t of j.memory.tensors) assert.deepEqual(['name', 'category', 'bytes', 'offset', 'firstStep', 'lastStep'].filter((k) => !(k in t)), []);
  assert.equal(j.backends.profile, 'rpi4');
  assert.ok(j.backends.units.length >= 1);
  assert.equal(typeof j.backends.estStepMs, 'number');
  // The JSON is the report: nothing of it is recomputed by the CLI.
  const r = compile(load('cnn_small'), { scheme: 'last-2', target: 'rpi4' });
  assert.deepEqual(j.memory.peakBytes, compileReport(r).memory.peakBytes);
});

test('pockengine compile: human form and clear errors', () => {
  const h = runCli([path.join(fixtures, 'mlp', 'model.onnx'), '--scheme', 'bias-only', '--no-pass', 'fold-frozen', '--pass-savings']);
  assert.equal(h.code, 0);
  assert.match(h.out, /peak .* = arena/);
  assert.match(h.out, /fold-frozen +off/);
  assert.match(h.out, /reorder-optimizer-updates +on .*peak without it/);
  assert.throws(() => runCli([path.join(fixtures, 'mlp', 'model.onnx'), '--target', 'pi9']), /--target must be one of host, rpi4/);
  assert.throws(() => runCli([path.join(fixtures, 'mlp', 'model.onnx'), '--no-pass', 'magic']), /unknown pass "magic"/);
  assert.throws(() => runCli([path.join(fixtures, 'mlp', 'model.onnx'), '--dim', 'batch']), /--dim wants name=size/);
});
