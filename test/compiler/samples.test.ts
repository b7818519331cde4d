// The generated samples: the demo classifier is deterministic and has the intended architecture and
// shapes (checked by an independent shape computation from the node attributes), its data folder is what
// `grad`/`train` read; the LLaMA generator scales down for tests and keeps its structure.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { buildDemo, DEMO_DEFAULTS } from '../../src/compiler/samples/demo';
import { buildLlama } from '../../src/compiler/samples/llama';
import { writeSample } from '../../src/compiler/samples/write';
import { encodeModel } from '../../src/compiler/onnx/encode';
import { decodeTensorProto, importModelBytes } from '../../src/compiler/onnx/import';
import { loadInitializer } from '../../src/compiler/onnx/tensorData';
import { buildLayerTree, paramsUnder } from '../../src/compiler/ir/layers';
import { inferShapes } from '../../src/compiler/ir/inferShapes';
import { attrInt, attrInts, type Model } from '../../src/compiler/ir/graph';
import { sizeOf } from '../../src/compiler/ir/tensor';
import { toHalfBits } from '../../src/compiler/samples/builder';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Output shapes of the demo's operators computed from their attributes, independently of the generator. */
function recomputeShapes(m: Model): Map<string, number[]> {
  const s = new Map<string, number[]>();
  for (const i of m.graph.inputs) s.set(i, m.graph.values.get(i)!.type!.shape as number[]);
  for (const [n, init] of m.graph.initializers) s.set(n, init.dims);
  for (const n of m.graph.nodes) {
    const x = s.get(n.inputs[0]);
    switch (n.opType) {
      case 'Constant': {
        const v = n.attrs.value;
        s.set(n.outputs[0], v.type === 'tensor' ? v.value.dims : []);
        break;
      }
      case 'Conv': {
        const w = s.get(n.inputs[1])!;
        const [k, st, p] = [attrInts(n, 'kernel_shape')!, attrInts(n, 'strides')!, attrInts(n, 'pads')!];
        assert.equal(x![1], w[1] * attrInt(n, 'group', 1), `${n.id}: input channels`);
        s.set(n.outputs[0], [x![0], w[0], ...[0, 1].map((a) => Math.floor((x![2 + a] + p[a] + p[a + 2] - k[a]) / st[a]) + 1)]);
        break;
      }
      case 'BatchNormalization':
        s.set(n.outputs[0], x!);
        for (const o of n.outputs.slice(1)) s.set(o, [x![1]]);
        break;
      case 'Clip': case 'Dropout': s.set(n.outputs[0], x!); break;
      case 'Add': assert.deepEqual(x, s.get(n.inputs[1]), `${n.id}: residual shapes`); s.set(n.outputs[0], x!); break;
      case 'GlobalAveragePool': s.set(n.outputs[0], [x![0], x![1], 1, 1]); break;
      case 'Flatten': s.set(n.outputs[0], [x![0], sizeOf(x!.slice(1))]); break;
      case 'Gemm': s.set(n.outputs[0], [x![0], s.get(n.inputs[1])![0]]); break;
      default: throw new Error(`unexpected op ${n.opType} in the demo`);
    }
  }
  return s;
}

test('the demo model is deterministic: same bytes every time, other bytes for another seed', () => {
  const a = buildDemo();
  const b = buildDemo();
  assert.equal(sha(encodeModel(a.model)), sha(encodeModel(b.model)));
  assert.deepEqual(a.input.data, b.input.data);
  assert.deepEqual(a.labels.data, b.labels.data);
  const c = buildDemo({ seed: DEMO_DEFAULTS.seed + 1 });
  assert.notEqual(sha(encodeModel(c.model)), sha(encodeModel(a.model)));
});

test('the demo model has the intended architecture and shapes', () => {
  const { model, input, labels } = buildDemo();
  // Round-trip through the file format, as users get it.
  const m = importModelBytes(encodeModel(model));
  assert.deepEqual(m.opsets, { '': 13 });
  assert.deepEqual(m.graph.inputs, ['input']);
  assert.deepEqual(m.graph.values.get('input')!.type, { dtype: 'float32', shape: [8, 3, 32, 32] });
  assert.deepEqual(m.graph.outputs, ['logits']);

  const shapes = recomputeShapes(m);
  assert.deepEqual(shapes.get('logits'), [8, 10]);
  // Every shape the file declares equals the independent computation.
  for (const [name, v] of m.graph.values) if (shapes.has(name)) assert.deepEqual(v.type?.shape, shapes.get(name), name);

  const ops = new Map<string, number>();
  for (const n of m.graph.nodes) ops.set(n.opType, (ops.get(n.opType) ?? 0) + 1);
  const convs = m.graph.nodes.filter((n) => n.opType === 'Conv');
  assert.ok(convs.some((n) => attrInt(n, 'group', 1) > 1 && attrInt(n, 'group', 1) === shapes.get(n.inputs[0])![1]), 'depthwise convolutions');
  assert.equal(ops.get('BatchNormalization'), convs.length, 'every Conv is followed by a BN');
  for (const n of m.graph.nodes.filter((x) => x.opType === 'BatchNormalization')) assert.equal(n.outputs.length, 5, 'training-mode BN');
  assert.ok((ops.get('Add') ?? 0) >= 3, 'residual connections');
  for (const op of ['Clip', 'GlobalAveragePool', 'Flatten', 'Gemm', 'Dropout']) assert.ok(ops.has(op), op);

  // Layers group like a PyTorch MobileNetV2: features.0..8 and classifier; BN statistics are buffers.
  const tree = buildLayerTree(m.graph);
  assert.deepEqual(tree.layers.get('')!.children, ['features', 'classifier']);
  assert.deepEqual(tree.layers.get('features')!.children, Array.from({ length: 9 }, (_, i) => `features.${i}`));
  assert.deepEqual(tree.layers.get('features.2.conv')!.children, ['0', '1', '2', '3'].map((k) => `features.2.conv.${k}`));
  assert.deepEqual(tree.layers.get('features.2.conv.3')!.buffers, ['features.2.conv.3.running_mean', 'features.2.conv.3.running_var']);
  const params = paramsUnder(tree, '').reduce((a, p) => a + sizeOf(m.graph.initializers.get(p)!.dims), 0);
  assert.ok(params >= 50_000 && params <= 200_000, `${params} parameters`);

  // Weights are real numbers of a sensible scale, not zeros.
  const w = loadInitializer(m.graph.initializers.get('features.0.0.weight')!).data as Float32Array;
  const maxAbs = w.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
  assert.ok(maxAbs > 0.1 && maxAbs < 2, `conv weight scale ${maxAbs}`);

  assert.deepEqual(input.dims, [8, 3, 32, 32]);
  assert.equal(labels.dtype, 'int64');
  assert.deepEqual(labels.dims, [8]);
  for (const l of labels.data as BigInt64Array) assert.ok(l >= 0n && l < 10n);
});

test('the demo is written with its data folder, as grad/train read it', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pockengine-demo-'));
  try {
    const file = path.join(dir, 'demo', 'model.onnx');
    writeSample('demo', file);
    const { input, labels, model } = buildDemo();
    assert.equal(sha(fs.readFileSync(file)), sha(encodeModel(model)));
    const x = decodeTensorProto(fs.readFileSync(path.join(dir, 'demo', 'data', 'input_0.pb')));
    const y = decodeTensorProto(fs.readFileSync(path.join(dir, 'demo', 'data', 'labels.pb')));
    assert.equal(x.name, 'input');
    assert.deepEqual(loadInitializer(x).data, input.data);
    assert.equal(y.name, 'labels');
    assert.deepEqual(loadInitializer(y).data, labels.data);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a small LLaMA keeps the structure: layers, symbolic dims, external weights laid end to end', () => {
  const o = { layers: 2, dim: 64, heads: 4, ffnDim: 176, vocab: 256, dtype: 'float32' as const };
  const m = importModelBytes(encodeModel(buildLlama({ ...o, weightsLocation: 'w.bin' })), { path: '/tmp/x/m.onnx' });
  assert.deepEqual(m.graph.values.get('input_ids')!.type, { dtype: 'int64', shape: ['batch', 'seq'] });
  assert.deepEqual(m.graph.values.get('logits')!.type, { dtype: 'float32', shape: ['batch', 'seq', 256] });
  // The same parameters, with the same names and shapes, as the tiny_llama fixture (which ties the head).
  const inits = [...m.graph.initializers.values()];
  assert.equal(inits.length, 2 + 2 * 9 + 1);
  assert.deepEqual(m.graph.initializers.get('layers.1.feed_forward.w2.weight')!.dims, [64, 176]);
  let offset = 0;
  for (const i of inits) {
    assert.equal(i.source.kind, 'external');
    if (i.source.kind !== 'external') continue;
    assert.equal(i.source.location, 'w.bin');
    assert.equal(i.source.offset, offset, i.name);
    assert.equal(i.source.length, sizeOf(i.dims) * 4);
    offset += i.source.length!;
  }
  assert.equal(offset, 4 * (2 * 256 * 64 + 2 * (4 * 64 * 64 + 3 * 64 * 176 + 2 * 64) + 64));
  const names = new Set(m.graph.nodes.map((n) => n.name));
  for (const n of ['/layers.0/attention/wq/MatMul', '/layers.1/feed_forward/w3/MatMul', '/layers.0/attention_norm/ReduceMean', '/layers.1/attention/Softmax', '/output/MatMul', '/norm/Sqrt']) {
    assert.ok(names.has(n), n);
  }
  const tree = buildLayerTree(m.graph);
  assert.deepEqual(tree.layers.get('layers')!.children, ['layers.0', 'layers.1']);
});

test('shape inference on the written files, stripped of their declared types, gives the declared types back', () => {
  const cases: [string, Model][] = [
    ['demo', buildDemo().model],
    ['small llama', buildLlama({ layers: 2, dim: 64, heads: 4, ffnDim: 176, vocab: 256 })],
  ];
  for (const [name, model] of cases) {
    const declared = new Map([...model.graph.values].map(([k, v]) => [k, v.type]));
    const bare = importModelBytes(encodeModel(model));
    const keep = new Set([...bare.graph.inputs, ...bare.graph.outputs, ...bare.graph.initializers.keys()]);
    for (const [k, v] of bare.graph.values) if (!keep.has(k)) v.type = null;
    inferShapes(bare);
    assert.deepEqual(bare.warnings, [], name);
    for (const [k, v] of bare.graph.values) assert.deepEqual(v.type, declared.get(k), `${name}: ${k}`);
  }
});

test('float16 constants are rounded to the nearest half', () => {
  assert.equal(toHalfBits(1), 0x3c00);
  assert.equal(toHalfBits(-2), 0xc000);
  assert.equal(toHalfBits(65504), 0x7bff);
  assert.equal(toHalfBits(1e-5), 0x00a8); // subnormal: 1e-5 / 2^-24 = 167.77 -> 168
  assert.equal(toHalfBits(-3.4e38), 0xfbff); // the attention mask's "minus infinity" stays finite
});
