// The reference runtime against PyTorch: each fixture's logits (train-mode exports use batch statistics),
// BatchNorm running statistics after the forward pass, the executor's contract, and MobileNetV2's speed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadModel } from '../../src/compiler/loadModel';
import { execute, registerKernel } from '../../src/compiler/runtime';
import { releasePlan } from '../../src/compiler/runtime/execute';
import { readTensorFile } from '../../src/compiler/runtime/tensorFile';
import { tensor, type Tensor } from '../../src/compiler/ir/tensor';
import type { Graph, Node } from '../../src/compiler/ir/graph';

const fixtures = path.resolve(__dirname, '..', '..', '..', 'shared', 'fixtures');
const MODELS = ['mlp', 'cnn_small', 'mobilenetv2_035', 'tiny_llama'];

/** Largest |got − want| / (1 + |want|): below 1e-4 means within 1e-4 absolute or relative. */
function maxError(got: Tensor, want: Tensor): number {
  assert.deepEqual(got.dims, want.dims);
  let worst = 0;
  for (let i = 0; i < want.data.length; i++) {
    const g = got.data[i] as number, w = want.data[i] as number;
    worst = Math.max(worst, Math.abs(g - w) / (1 + Math.abs(w)));
  }
  return worst;
}

function run(model: string, file: string, expected: string): { err: number; ms: number; graph: Graph; out: Map<string, Tensor> } {
  const dir = path.join(fixtures, model);
  const { model: m } = loadModel(path.join(dir, file));
  const g = m.graph;
  const input = readTensorFile(path.join(dir, 'test_data', 'input_0.pb'));
  const t0 = performance.now();
  const out = execute(g, { [g.inputs[0]]: input }, { opsets: m.opsets });
  const ms = performance.now() - t0;
  const want = readTensorFile(path.join(dir, 'test_data', expected));
  return { err: maxError(out.get(g.outputs[0])!, want), ms, graph: g, out };
}

for (const model of MODELS) {
  for (const [file, expected] of [['model.onnx', 'output_0.pb'], ['model_opset17.onnx', 'output_0.pb'], ['model_eval.onnx', 'output_eval_0.pb']]) {
    test(`${model}/${file} reproduces PyTorch's ${expected}`, () => {
      const r = run(model, file, expected);
      console.log(`${model}/${file}: max error ${r.err.toExponential(2)} (${r.ms.toFixed(0)} ms)`);
      assert.ok(r.err < 1e-4, `max error ${r.err}`);
    });
  }
}

test('train-mode BatchNormalization updates running statistics as PyTorch does', () => {
  for (const model of ['cnn_small', 'mobilenetv2_035']) {
    for (const file of ['model.onnx', 'model_opset17.onnx']) {
      const dir = path.join(fixtures, model);
      const { model: m } = loadModel(path.join(dir, file));
      const g = m.graph;
      const bns = g.nodes.filter((n) => n.opType === 'BatchNormalization');
      const wanted = bns.flatMap((n) => [n.outputs[1], n.outputs[2]]);
      const input = readTensorFile(path.join(dir, 'test_data', 'input_0.pb'));
      const out = execute(g, { [g.inputs[0]]: input }, { opsets: m.opsets, outputs: wanted });
      let worst = 0;
      for (const n of bns) {
        for (const k of [3, 4]) {
          const ref = readTensorFile(path.join(dir, 'buffers_after_step', `${n.inputs[k]}.pb`));
          worst = Math.max(worst, maxError(out.get(n.outputs[k - 2])!, ref));
        }
      }
      console.log(`${model}/${file}: ${bns.length} BatchNorm layers, running statistics max error ${worst.toExponential(2)}`);
      assert.ok(worst < 1e-4);
    }
  }
});


// A hand-built graph: nodes out of order, a value used twice, an initializer override, a custom-domain kernel.
function node(opType: string, inputs: string[], outputs: string[], domain = ''): Node {
  return { id: outputs[0], name: outputs[0], opType, domain, inputs, outputs, attrs: {}, layer: '' };
}

test('execute orders nodes, runs only what the outputs need, applies overrides, names failing nodes', () => {
  registerKernel('Twice', (inputs) => {
    const x = inputs[0]!;
    return [tensor('float32', x.dims, Float32Array.from(x.data as Float32Array, (v) => 2 * v))];
  }, 'test.domain');
  const g: Graph = {
    name: 'g',
    nodes: [node('Mul', ['s', 's'], ['y']), node('Add', ['x', 'w'], ['s']), node('Twice', ['y'], ['z'], 'test.domain'), node('Neg', ['x'], ['unused'])],
    values: new Map(),
    inputs: ['x'],
    outputs: ['z'],
    initializers: new Map([['w', { name: 'w', dtype: 'float32', dims: [2], source: { kind: 'inline', proto: { floatData: [1, 2] } } }]]),
  };
  const seen: string[] = [];
  const x = tensor('float32', [2], Float32Array.of(1, 1));
  const out = execute(g, { x }, { onValue: (n) => seen.push(n) });
  assert.deepEqual([...(out.get('z')!.data as Float32Array)], [8, 18]);
  assert.deepEqual(seen, ['s', 'y', 'z'], 'only the nodes needed for the outputs run, in dependency order');
  const over = execute(g, { x }, { overrides: new Map([['w', tensor('float32', [2], Float32Array.of(0, 0))]]), outputs: ['s', 'z'] });
  assert.deepEqual([...(over.get('s')!.data as Float32Array)], [1, 1]);
  assert.deepEqual([...(over.get('z')!.data as Float32Array)], [2, 2]);
  assert.throws(() => execute(g, {}), /value "x" needed by node "s" \(Add\)/);
  const bad: Graph = { ...g, nodes: [node('NoSuchOp', ['x'], ['z'])] };
  assert.throws(() => execute(bad, { x }), /node "z" \(NoSuchOp\): the reference runtime has no kernel for NoSuchOp/);
  // A graph already in a valid order runs in that order (it is the memory schedule passes produce).
  const ordered: Graph = { ...g, nodes: [node('Abs', ['x'], ['b']), node('Neg', ['x'], ['a']), node('Add', ['a', 'b'], ['z'])] };
  const order: string[] = [];
  execute(ordered, { x }, { onValue: (n) => order.push(n) });
  assert.deepEqual(order, ['b', 'a', 'z']);
  const mismatch: Graph = { ...g, nodes: [node('MatMul', ['x', 'x2'], ['z'])], inputs: ['x', 'x2'] };
  assert.throws(() => execute(mismatch, { x, x2: tensor('float32', [3], new Float32Array(3)) }), /node "z" \(MatMul\) failed on inputs \(float32\[2\], float32\[3\]\): inner dimensions differ/);
});

test('intermediates are released right after their last reader', () => {
  const order = [node('Neg', ['x'], ['a']), node('Abs', ['a'], ['b']), node('Add', ['a', 'b'], ['c']), node('Neg', ['c'], ['z'])];
  const { used, release } = releasePlan(order, ['z', 'b']);
  assert.deepEqual(release, [['x'], [], ['a'], ['c']], 'b is requested, so it is kept');
  assert.deepEqual([...used].sort(), ['a', 'b', 'c', 'x', 'z']);
});
