// Sparse training steps against PyTorch: under each fixture's sparse scheme (preset last-N, verified by
// scheme.test.ts to select exactly the fixture's trainable parameters), the pruned step's gradients are
// PyTorch's grads_sparse/, frozen parameters get none, and one SGD step lands on loss_after_sgd_sparse.
// Then `channels: r` (only the selected channels' gradient, r of the weight-gradient FLOPs, an update of
// that slice only), the report on MobileNetV2, and the CLI's --scheme.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadModel } from '../../src/compiler/loadModel';
import type { LoadedModel } from '../../src/compiler/loadModel';
import { applyScheme } from '../../src/compiler/sparse/applyScheme';
import { presetScheme } from '../../src/compiler/sparse/presets';
import { parseScheme, type Scheme } from '../../src/compiler/sparse/scheme';
import { stepFlops } from '../../src/compiler/sparse/cost';
import { savedForBackward } from '../../src/compiler/sparse/prune';
import { computeGradients, TrainingSession } from '../../src/compiler/train/session';
import { readBatch, readTensorFile } from '../../src/compiler/train/data';
import type { Tensor } from '../../src/compiler/ir/tensor';
import type { Graph, Model, Node, ValueType } from '../../src/compiler/ir/graph';
import { tensor } from '../../src/compiler/ir/tensor';
import { tensorToInitializer } from '../../src/compiler/onnx/encode';
import { buildLayerTree } from '../../src/compiler/ir/layers';
import { gradCommand } from '../../src/cli/commands/grad';
import { trainCommand } from '../../src/cli/commands/train';
import { findKernel } from '../../src/compiler/runtime/kernel';
import '../../src/compiler/runtime/grad';

const fixtures = path.resolve(__dirname, '..', '..', '..', 'shared', 'fixtures');
const LAST_N: Record<string, number> = { cnn_small: 2, mobilenetv2_035: 2, mlp: 1, tiny_llama: 1 };
const models = Object.keys(LAST_N).filter((m) => fs.existsSync(path.join(fixtures, m, 'model.onnx')));
const cache = new Map<string, LoadedModel>();
const load = (m: string, file = 'model.onnx'): LoadedModel => {
  const key = `${m}/${file}`;
  if (!cache.has(key)) cache.set(key, loadModel(path.join(fixtures, m, file)));
  return cache.get(key)!;
};
const batch = (m: string, tg: Parameters<typeof readBatch>[1]): Map<string, Tensor> => readBatch(path.join(fixtures, m, 'test_data'), tg);
const lossJson = (m: string) => JSON.parse(fs.readFileSync(path.join(fixtures, m, 'loss.json'), 'utf8'));
const relErr = (a: number, b: number): number => Math.abs(a - b) / Math.abs(b);

interface Entry { onnx_initializer_name: string; file: string; mathematically_zero?: boolean }

for (const m of models) {
  for (const file of ['model.onnx', 'model_opset17.onnx']) {
    if (!fs.existsSync(path.join(fixtures, m, file))) continue;
    test(`sparse: ${m}/${file} with last-${LAST_N[m]} gives PyTorch's sparse gradients and SGD step`, () => {
      const loaded = load(m, file);
      const scheme = presetScheme(`last-${LAST_N[m]}`, loaded.model.graph, loaded.layers)!;
      const st = applyScheme(loaded, scheme);
      assert.deepEqual(st.tg.issues, []);
      const { loss, grads } = computeGradients(st.tg, batch(m, st.tg));
      const ref = lossJson(m);
      assert.ok(relErr(loss, ref.loss) <= 1e-5, `loss ${loss} vs ${ref.loss}`);
      const entries: Entry[] = JSON.parse(fs.readFileSync(path.join(fixtures, m, 'grads_sparse', 'manifest.json'), 'utf8')).params;
      assert.deepEqual([...grads.keys()].sort(), entries.map((e) => e.onnx_initializer_name).sort(), 'gradients exactly for the sparse parameters');
      for (const p of ref.frozen_params as string[]) assert.ok(!st.tg.grads.has(p) && !grads.has(p), `frozen ${p} gets no gradient`);
      let worst = 0;
      for (const e of entries) {
        const g = grads.get(e.onnx_initializer_name)!;
        const r = readTensorFile(path.join(fixtures, m, 'grads_sparse', e.file));
        assert.deepEqual(g.dims, r.dims);
        let err = 0, refMax = 0;
        for (let i = 0; i < r.data.length; i++) {
          err = Math.max(err, Math.abs((g.data[i] as number) - (r.data[i] as number)));
          refMax = Math.max(refMax, Math.abs(r.data[i] as number));
        }
        assert.ok(err <= 1e-4 + 1e-3 * refMax, `${e.onnx_initializer_name}: off by ${err} (max |ref| ${refMax})`);
        if (!e.mathematically_zero && refMax > 1e-6) worst = Math.max(worst, err / refMax);
      }
      const sgd = applyScheme(loaded, scheme, { optimizer: { kind: 'sgd', lr: ref.lr } });
      assert.deepEqual([...sgd.tg.updated.keys()].sort(), [...grads.keys()].sort(), 'the optimizer updates the trainable parameters only');
      const session = new TrainingSession(sgd.tg);
      const feeds = batch(m, sgd.tg);
      session.step(feeds);
      const after = session.loss(feeds);
      assert.ok(relErr(after, ref.loss_after_sgd_sparse) <= 1e-4, `after one SGD step ${after} vs ${ref.loss_after_sgd_sparse}`);
      console.log(`${m}/${file}: ${grads.size} sparse gradients, worst rel err ${worst.toExponential(2)}; after-step loss rel err ${relErr(after, ref.loss_after_sgd_sparse).toExponential(2)}; backward nodes ${st.report.backward.nodesBeforePruning} -> ${st.report.backward.nodes}`);
    });
  }
}

/** The node of `tg` producing value v. */
const producerOf = (nodes: Node[], v: string): Node => nodes.find((n) => n.outputs.includes(v))!;

for (const [m, r] of [['mlp', 0.3], ['cnn_small', 0.25], ['tiny_llama', 0.5], ['mobilenetv2_035', 0.125]] as const) {
  if (!models.includes(m)) continue;
  test(`channels ${r} on ${m}: selected channels' gradients are the full gradient's, at ${r} of its weight-gradient FLOPs`, () => {
    const loaded = load(m);
    const scheme = parseScheme({ default: { channels: r }, batchnorm: 'train', rules: [] });
    const st = applyScheme(loaded, scheme);
    const fullSt = applyScheme(loaded, { default: 'full', batchnorm: 'train', rules: [] });
    assert.ok(st.channels.length > 0);
    const feeds = batch(m, st.tg);
    const sparse = computeGradients(st.tg, feeds).grads;
    const full = computeGradients(fullSt.tg, feeds).grads;
    const fTg = stepFlops(st.tg), fFull = stepFlops(fullSt.tg);
    let sliced = 0, fullFlops = 0, partFlops = 0;
    for (const c of st.channels) {
      const g = sparse.get(c.param)!, ref = full.get(c.param)!;
      const want = ref.dims.map((d, i) => (i === c.axis ? c.k : d));
      assert.deepEqual(g.dims, want, `${c.param}: gradient holds the first ${c.k} of ${c.of} channels along axis ${c.axis}`);
      const inner = ref.dims.slice(c.axis + 1).reduce((a, b) => a * b, 1);
      let err = 0, refMax = 0;
      for (let i = 0; i < g.data.length; i++) {
        const q = Math.floor(i / inner), ch = q % c.k, outer = Math.floor(q / c.k);
        const j = (outer * c.of + ch) * inner + (i % inner);
        err = Math.max(err, Math.abs((g.data[i] as number) - (ref.data[j] as number)));
        refMax = Math.max(refMax, Math.abs(ref.data[j] as number));
      }
      assert.ok(err <= 1e-5 + 1e-5 * refMax, `${c.param}: selected channels off by ${err}`);
      if (!c.computedSliced) continue;
      sliced++;
      // The weight-gradient node (and the MatMul under a ReduceToShape) is the same node in both graphs.
      const P = producerOf(fullSt.tg.graph.nodes, fullSt.tg.grads.get(c.param)!);
      const chain = [P];
      while (['ReduceToShape', 'Transpose'].includes(chain[chain.length - 1].opType)) chain.push(producerOf(fullSt.tg.graph.nodes, chain[chain.length - 1].inputs[0]));
      assert.ok(chain.some((n) => fFull.get(n.id)! > 0));
      for (const n of chain) {
        const a = fTg.get(n.id)!, b = fFull.get(n.id)!;
        if (b === 0 && a === 0) continue;
        assert.ok(b > 0 && Math.abs(a - (b * c.k) / c.of) <= 1e-9 * b, `${c.param}: ${n.opType} ${n.id} costs ${a} FLOPs, want ${c.k}/${c.of} of ${b}`);
        fullFlops += b;
        partFlops += a;
      }
    }
    assert.ok(sliced > 0, 'some weight gradients are computed sliced');
    for (const n of st.tg.graph.nodes) if (n.opType === 'Slice' && st.tg.ann.phase.get(n.id) === 'backward') assert.equal(fTg.get(n.id), 0);
    console.log(`${m} channels ${r}: ${st.channels.length} weights (${sliced} computed sliced); their weight-gradient FLOPs ${partFlops} of ${fullFlops} (${(partFlops / fullFlops).toFixed(3)})`);
  });
}

/** x [4,6] -> Gemm(x, fc1.weight [6,5], transB=0) -> Relu -> MatMul(h, fc2.weight [5,3]): weights whose output channels are dim 1. */
function columnWeightsModel(): LoadedModel {
  const rand = ((seed: number) => () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) - 0.5)(7);
  const init = (name: string, dims: number[]) => tensorToInitializer(name, tensor('float32', dims, Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, rand)));
  const f32 = (shape: number[]) => ({ dtype: 'float32' as const, shape });
  const graph: Graph = {
    name: 'cols', inputs: ['x'], outputs: ['logits'],
    initializers: new Map([['fc1.weight', init('fc1.weight', [6, 5])], ['fc1.bias', init('fc1.bias', [5])], ['fc2.weight', init('fc2.weight', [5, 3])]]),
    values: new Map([['x', f32([4, 6])], ['fc1.weight', f32([6, 5])], ['fc1.bias', f32([5])], ['fc2.weight', f32([5, 3])], ['h', f32([4, 5])], ['r', f32([4, 5])], ['logits', f32([4, 3])]].map(([k, t]) => [k as string, { name: k as string, type: t as ValueType }])),
    nodes: [
      { id: '/fc1/Gemm', name: '/fc1/Gemm', opType: 'Gemm', domain: '', inputs: ['x', 'fc1.weight', 'fc1.bias'], outputs: ['h'], attrs: { transB: { type: 'int', value: 0 } }, layer: '' },
      { id: '/relu/Relu', name: '/relu/Relu', opType: 'Relu', domain: '', inputs: ['h'], outputs: ['r'], attrs: {}, layer: '' },
      { id: '/fc2/MatMul', name: '/fc2/MatMul', opType: 'MatMul', domain: '', inputs: ['r', 'fc2.weight'], outputs: ['logits'], attrs: {}, layer: '' },
    ],
  };
  const model: Model = { path: '', irVersion: 8, opsets: { '': 17 }, producerName: 'test', producerVersion: '', modelVersion: 0, docString: '', metadata: {}, graph, warnings: [] };
  const layers = buildLayerTree(graph);
  for (const n of graph.nodes) n.layer = n.id.split('/')[1];
  return { model, layers };
}

test('channels on column-channel weights (Gemm transB=0, MatMul x @ W): dim 1 is sliced, gradient and update agree', () => {
  const loaded = columnWeightsModel();
  assert.equal(loaded.layers.paramLayer.get('fc2.weight'), 'fc2');
  const feeds = new Map<string, Tensor>([['x', tensor('float32', [4, 6], Float32Array.from({ length: 24 }, (_, i) => Math.sin(i)))]]);
  const st = applyScheme(loaded, parseScheme({ default: { channels: 0.5 } }), { optimizer: { kind: 'sgd', lr: 0.5 } });
  const ref = applyScheme(loaded, parseScheme({ default: 'full' }), { optimizer: { kind: 'sgd', lr: 0.5 } });
  feeds.set(st.tg.loss.target, tensor('int64', [4], BigInt64Array.from([0n, 2n, 1n, 2n])));
  assert.deepEqual(st.channels.map((c) => [c.param, c.axis, c.k, c.of, c.computedSliced]), [['fc1.weight', 1, 3, 5, true], ['fc2.weight', 1, 2, 3, true]]);
  const gradsOnly = (x: typeof st) => computeGradients(applyScheme(loaded, x.scheme).tg, feeds).grads;
  const g = gradsOnly(st), r = gradsOnly(ref);
  for (const c of st.channels) {
    const a = g.get(c.param)!, b = r.get(c.param)!;
    assert.deepEqual(a.dims, [b.dims[0], c.k]);
    for (let i = 0; i < b.dims[0]; i++) for (let j = 0; j < c.k; j++) assert.ok(Math.abs((a.data[i * c.k + j] as number) - (b.data[i * c.of + j] as number)) <= 1e-6);
  }
  const fa = stepFlops(st.tg), fb = stepFlops(ref.tg);
  for (const c of st.channels) {
    const id = producerOf(ref.tg.graph.nodes, ref.tg.grads.get(c.param)!).id;
    const n = producerOf(ref.tg.graph.nodes, ref.tg.grads.get(c.param)!).opType === 'ReduceToShape' ? producerOf(ref.tg.graph.nodes, producerOf(ref.tg.graph.nodes, ref.tg.grads.get(c.param)!).inputs[0]).id : id;
    assert.equal(fa.get(n), (fb.get(n)! * c.k) / c.of, `${c.param}: weight-gradient FLOPs`);
  }
  const a = new TrainingSession(st.tg), b = new TrainingSession(ref.tg);
  a.step(feeds);
  b.step(feeds);
  for (const c of st.channels) {
    const p0 = new TrainingSession(ref.tg).params.get(c.param)!;
    const pa = a.params.get(c.param)!, pb = b.params.get(c.param)!;
    for (let i = 0; i < pa.data.length; i++) {
      const want = i % c.of < c.k ? pb.data[i] : p0.data[i];
      assert.ok(Math.abs((pa.data[i] as number) - (want as number)) <= 1e-6, `${c.param}[${i}]`);
    }
  }
});

test('channels: SGD (momentum) and Adam update only the selected channels; the rest of the parameter stays', () => {
  const loaded = load('mlp');
  const feeds = batch('mlp', applyScheme(loaded, { default: 'full', batchnorm: 'train', rules: [] }).tg);
  for (const optimizer of [{ kind: 'sgd' as const, lr: 0.1, momentum: 0.9 }, { kind: 'adam' as const, lr: 0.01 }]) {
    const st = applyScheme(loaded, parseScheme({ default: 'frozen', rules: [{ match: 'fc2', update: { channels: 0.25 } }, { match: 'classifier', update: { channels: 0.5 } }] }), { optimizer });
    const ref = applyScheme(loaded, parseScheme({ default: 'frozen', rules: [{ match: 'fc2', update: 'full' }, { match: 'classifier', update: 'full' }] }), { optimizer });
    assert.deepEqual(st.channels.map((c) => [c.param, c.axis, c.k, c.of]), [['fc2.weight', 0, 16, 64], ['classifier.weight', 0, 5, 10]]);
    const a = new TrainingSession(st.tg), b = new TrainingSession(ref.tg);
    const initial = new Map([...a.params].map(([p, t]) => [p, Float32Array.from(t.data as Float32Array)]));
    for (const c of st.channels) {
      const s = st.tg.state.filter((x) => x.param === c.param);
      assert.ok(s.length > 0 && s.every((x) => x.dims[c.axis] === c.k), `${c.param}: optimizer state holds the slice only`);
    }
    // One step from the same start: the gradient is the same, so the selected channels equal the full update's.
    a.step(feeds);
    b.step(feeds);
    const inner = (dims: number[], axis: number): number => dims.slice(axis + 1).reduce((x, d) => x * d, 1);
    for (const c of st.channels) {
      const got = a.params.get(c.param)!, want = b.params.get(c.param)!;
      const n = inner(got.dims, c.axis);
      let err = 0, moved = 0;
      for (let i = 0; i < got.data.length; i++) {
        if (Math.floor(i / n) % c.of < c.k) {
          err = Math.max(err, Math.abs((got.data[i] as number) - (want.data[i] as number)));
          if (got.data[i] !== initial.get(c.param)![i]) moved++;
        } else assert.equal(got.data[i], initial.get(c.param)![i], `${optimizer.kind} ${c.param}: channel ${Math.floor(i / n) % c.of} changed`);
      }
      assert.ok(err <= 1e-6 && moved > 0, `${optimizer.kind} ${c.param}: selected channels off by ${err}`);
    }
    // A second step (momentum buffer / moments in use) still leaves the other channels alone.
    a.step(feeds);
    for (const c of st.channels) {
      const got = a.params.get(c.param)!;
      const n = inner(got.dims, c.axis);
      for (let i = 0; i < got.data.length; i++) if (Math.floor(i / n) % c.of >= c.k) assert.equal(got.data[i], initial.get(c.param)![i]);
    }
  }
});

test('optimizer kernels: channel_axis 1 updates the first columns (MatMul / Gemm transB=0 weights)', () => {
  const p = { dtype: 'float32' as const, dims: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) };
  const g = { dtype: 'float32' as const, dims: [2, 2], data: Float32Array.from([10, 20, 30, 40]) };
  const node: Node = { id: 'u', name: 'u', opType: 'SGD', domain: 'pockengine', inputs: [], outputs: [], layer: '', attrs: { lr: { type: 'float', value: 0.1 }, channel_axis: { type: 'int', value: 1 } } };
  const [out] = findKernel('SGD', 'pockengine')!([p, g], node, { opset: 1 });
  assert.deepEqual(out.dims, [2, 3]);
  assert.deepEqual(Array.from(out.data as Float32Array), Array.from(Float32Array.from([0, 0, 3, 1, 1, 6])));
  const adam: Node = { ...node, opType: 'Adam', attrs: { lr: { type: 'float', value: 0.1 }, channel_axis: { type: 'int', value: 1 } } };
  const zeros = { dtype: 'float32' as const, dims: [2, 2], data: new Float32Array(4) };
  const step = { dtype: 'int64' as const, dims: [], data: BigInt64Array.from([0n]) };
  const [pa, m, v] = findKernel('Adam', 'pockengine')!([p, g, zeros, zeros, step], adam, { opset: 1 });
  assert.deepEqual([m.dims, v.dims], [[2, 2], [2, 2]]);
  // Adam's first step moves each selected entry by lr (sign of g); the third column stays.
  assert.deepEqual(Array.from(pa.data as Float32Array).map((x) => Math.round(x * 1000) / 1000), [0.9, 1.9, 3, 3.9, 4.9, 6]);
  assert.throws(() => findKernel('SGD', 'pockengine')!([p, { ...g, dims: [1, 4], data: new Float32Array(4) }], node, { opset: 1 }), /first channels along axis 1/);
});

test('MobileNetV2, last-2 with frozen BatchNorm statistics: the report shows what pruning removes', () => {
  const loaded = load('mobilenetv2_035');
  const scheme: Scheme = { ...presetScheme('last-2', loaded.model.graph, loaded.layers)!, batchnorm: 'frozen' };
  const st = applyScheme(loaded, scheme, { optimizer: { kind: 'sgd', lr: 0.01 } });
  const r = st.report;
  const full = applyScheme(loaded, { default: 'full', batchnorm: 'frozen', rules: [] }, { optimizer: { kind: 'sgd', lr: 0.01 } }).report;
  assert.equal(r.backward.nodesBeforePruning, full.backward.nodes);
  assert.equal(r.backward.flopsBeforePruning, full.backward.flops);
  assert.equal(r.backward.prunedNodes, r.backward.nodesBeforePruning - r.backward.nodes);
  assert.ok(r.backward.flops < 0.7 * r.backward.flopsBeforePruning, `backward FLOPs ${r.backward.flops} vs ${r.backward.flopsBeforePruning}`);
  assert.ok(r.optimizer.nodes < full.optimizer.nodes && r.optimizer.flops < full.optimizer.flops);
  assert.ok(!st.tg.graph.nodes.some((n) => n.opType === 'BatchNormGrad' && n.attrs.training_mode?.value === 1), 'BatchNorm uses running statistics');
  // A weight gradient of a bias-only layer is pruned and says why.
  const why = [...st.pruned.entries()].find(([id]) => st.full.graph.nodes.find((n) => n.id === id)?.opType === 'ConvGradWeight');
  assert.ok(why && /bias only/.test(why[1]), `reason: ${why?.[1]}`);
  // Classifier only: the whole backward below the classifier is gone, and so are its saved activations.
  const cls = applyScheme(loaded, { ...presetScheme('classifier-only', loaded.model.graph, loaded.layers)!, batchnorm: 'frozen' });
  assert.ok(cls.report.backward.nodes <= 4 && cls.report.backward.flops < 0.01 * cls.report.backward.flopsBeforePruning);
  const conv = [...cls.pruned.entries()].find(([id]) => cls.full.graph.nodes.find((n) => n.id === id)?.opType === 'ConvGradInput');
  assert.ok(conv && /frozen/.test(conv[1]), `reason: ${conv?.[1]}`);
  const saved = savedForBackward(st.tg), savedFull = savedForBackward(applyScheme(loaded, { default: 'full', batchnorm: 'frozen', rules: [] }).tg);
  assert.ok(saved.size < savedFull.size);
  const M = (x: number): string => `${(x / 1e6).toFixed(1)} MFLOP`;
  console.log(`MobileNetV2 last-2, BN frozen: ${saved.size} forward values saved for backward (full update: ${savedFull.size})`);
  console.log(`MobileNetV2 last-2, BN frozen: forward ${r.forward.nodes} nodes ${M(r.forward.flops)}; backward ${r.backward.nodesBeforePruning} -> ${r.backward.nodes} nodes (${r.backward.prunedNodes} pruned), ${M(r.backward.flopsBeforePruning)} -> ${M(r.backward.flops)} (${(r.backward.flops / r.backward.flopsBeforePruning).toFixed(2)}x); optimizer ${r.optimizer.nodes} nodes ${M(r.optimizer.flops)} (full update ${full.optimizer.nodes} nodes)`);
  console.log(`MobileNetV2 classifier-only, BN frozen: backward ${cls.report.backward.nodesBeforePruning} -> ${cls.report.backward.nodes} nodes, ${M(cls.report.backward.flopsBeforePruning)} -> ${M(cls.report.backward.flops)}`);
});

test('frozen BatchNorm statistics with a frozen gamma: the BN input is not read, gradients unchanged', () => {
  const loaded = load('cnn_small');
  const st = applyScheme(loaded, { default: 'bias', batchnorm: 'frozen', rules: [] });
  const all = applyScheme(loaded, { default: 'full', batchnorm: 'frozen', rules: [] });
  const bn = st.tg.graph.nodes.filter((n) => n.opType === 'BatchNormGrad');
  assert.ok(bn.length > 0 && bn.every((n) => n.inputs[1] === '' && n.outputs[1] === ''), 'BatchNormGrad without X and dScale');
  assert.ok(savedForBackward(st.tg).size < savedForBackward(all.tg).size);
  const feeds = batch('cnn_small', st.tg);
  const a = computeGradients(st.tg, feeds).grads, b = computeGradients(all.tg, feeds).grads;
  assert.ok(a.size > 0);
  for (const [p, g] of a) {
    const r = b.get(p)!;
    let err = 0;
    for (let i = 0; i < g.data.length; i++) err = Math.max(err, Math.abs((g.data[i] as number) - (r.data[i] as number)));
    assert.ok(err <= 1e-6, `${p}: off by ${err}`);
  }
});

test('CLI: grad and train honour --scheme (preset or file); channels gradients are written sliced; bad schemes are clear errors', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pe-sparse-'));
  const io = { out: '', err: '' };
  const sink = { stdout: (t: string) => void (io.out += t), stderr: (t: string) => void (io.err += t) };
  const model = path.join(fixtures, 'mlp', 'model.onnx');
  const data = path.join(fixtures, 'mlp', 'test_data');
  assert.equal(gradCommand.run([model, '--data', data, '--out', path.join(dir, 'g1'), '--scheme', 'last-1'], sink), 0);
  const written = fs.readdirSync(path.join(dir, 'g1')).filter((f) => f.endsWith('.pb')).sort();
  assert.deepEqual(written, ['classifier.bias.pb', 'classifier.weight.pb', 'fc1.bias.pb', 'fc2.bias.pb', 'fc2.weight.pb']);
  const schemeFile = path.join(dir, 'model.pockengine.json');
  fs.writeFileSync(schemeFile, JSON.stringify({ default: 'frozen', rules: [{ match: 'fc2', update: { channels: 0.25 } }] }));
  assert.equal(gradCommand.run([model, '--data', data, '--out', path.join(dir, 'g2'), '--scheme', schemeFile], sink), 0);
  const w = readTensorFile(path.join(dir, 'g2', 'fc2.weight.pb'));
  const full = loadModel(model).model.graph.initializers.get('fc2.weight')!.dims;
  assert.deepEqual(w.dims, [Math.ceil(full[0] * 0.25), full[1]]);
  assert.equal(trainCommand.run([model, '--data', data, '--out', path.join(dir, 't'), '--steps', '2', '--scheme', schemeFile], sink), 0);
  assert.deepEqual(readTensorFile(path.join(dir, 't', 'fc2.weight.pb')).dims, full, 'train writes the whole updated parameter');
  fs.writeFileSync(path.join(dir, 'bad.json'), '{"default": "sometimes"}');
  assert.throws(() => gradCommand.run([model, '--data', data, '--out', path.join(dir, 'g3'), '--scheme', path.join(dir, 'bad.json')], sink), /scheme file .*bad\.json.*"default"/);
  assert.throws(() => gradCommand.run([model, '--data', data, '--out', path.join(dir, 'g3'), '--scheme', 'last-one'], sink), /neither a preset .* nor a file/);
  fs.rmSync(dir, { recursive: true, force: true });
});
