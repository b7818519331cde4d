// The importer with shape inference on the real PyTorch exports of ../shared/fixtures: every model opens
// without unknown operators, its output shapes equal PyTorch's stored outputs, every value is typed, and
// inference from scratch reproduces every shape the exporter declared.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadModel } from '../../src/compiler/loadModel';
import { decodeTensorProto, importModelBytes, importModelFile } from '../../src/compiler/onnx/import';
import { encodeModel } from '../../src/compiler/onnx/encode';
import { inferShapes } from '../../src/compiler/ir/inferShapes';
import type { Model, ValueType } from '../../src/compiler/ir/graph';
import { buildLlama } from '../../src/compiler/samples/llama';

const repoRoot = path.resolve(__dirname, '..', '..');
const fixtures = path.resolve(repoRoot, '..', 'shared', 'fixtures');

const modelFiles: { name: string; file: string; reference: string }[] = [];
for (const dir of fs.readdirSync(fixtures).sort()) {
  const full = path.join(fixtures, dir);
  if (!fs.statSync(full).isDirectory()) continue;
  for (const f of fs.readdirSync(full).filter((x) => x.endsWith('.onnx')).sort()) {
    const reference = path.join(full, 'test_data', f === 'model_eval.onnx' ? 'output_eval_0.pb' : 'output_0.pb');
    modelFiles.push({ name: `${dir}/${f}`, file: path.join(full, f), reference });
  }
}

/** Erases every type that is not a graph input's or an initializer's, so only inference fills them. */
function eraseInferable(model: Model): Map<string, ValueType> {
  const g = model.graph;
  const declared = new Map<string, ValueType>();
  for (const v of g.values.values()) {
    if (g.inputs.includes(v.name) || g.initializers.has(v.name)) continue;
    if (v.type) declared.set(v.name, v.type);
    v.type = null;
  }
  return declared;
}


test('the fixtures are there', () => {
  assert.ok(modelFiles.length >= 12, `found ${modelFiles.length} fixture models`);
});

for (const m of modelFiles) {
  test(`${m.name}: imports, every value typed, output shapes equal PyTorch's outputs`, () => {
    const { model } = loadModel(m.file);
    const g = model.graph;
    assert.deepEqual(model.warnings.filter((w) => w.startsWith('unknown operator') || w.startsWith('shape inference failed')), []);
    for (const v of g.values.values()) {
      assert.ok(v.type, `value "${v.name}" has a type`);
      assert.ok(v.type.shape, `value "${v.name}" has a shape`);
      assert.notEqual(v.type.dtype, 'undefined', `value "${v.name}" has a dtype`);
    }
    const ref = decodeTensorProto(fs.readFileSync(m.reference));
    assert.deepEqual(g.values.get(g.outputs[0])!.type, { dtype: ref.dtype, shape: ref.dims });
  });

  test(`${m.name}: inference from scratch reproduces every declared shape`, () => {
    const model = importModelFile(m.file);
    const declared = eraseInferable(model);
    inferShapes(model);
    assert.deepEqual(model.warnings, []);
    let checked = 0;
    for (const [name, type] of declared) {
      assert.deepEqual(model.graph.values.get(name)!.type, type, `value "${name}"`);
      checked++;
    }
    for (const v of model.graph.values.values()) assert.ok(v.type?.shape, `value "${v.name}" has a shape`);
    const ref = decodeTensorProto(fs.readFileSync(m.reference));
    assert.deepEqual(model.graph.values.get(model.graph.outputs[0])!.type!.shape, ref.dims);
    assert.ok(checked >= 1);
  });
}

// tiny_llama was exported with its batch and sequence folded into Constants, so only the others can
// take a symbolic batch.
for (const m of modelFiles.filter((x) => !x.name.startsWith('tiny_llama'))) {
  test(`${m.name}: a symbolic batch flows to the output`, () => {
    const model = importModelFile(m.file);
    eraseInferable(model);
    const input = model.graph.values.get(model.graph.inputs[0])!.type!;
    input.shape = ['batch', ...input.shape!.slice(1)];
    inferShapes(model);
    assert.deepEqual(model.warnings, []);
    const ref = decodeTensorProto(fs.readFileSync(m.reference));
    assert.deepEqual(model.graph.values.get(model.graph.outputs[0])!.type!.shape, ['batch', ...ref.dims.slice(1)]);
  });
}

// Speed is measured by `npm run bench`, never asserted in a test; this checks what inference computes.
test('the LLaMA-2-7B-shaped graph infers from scratch to [batch, seq, 32000] with no warnings', () => {
  const model = importModelBytes(encodeModel(buildLlama()), { path: path.join(repoRoot, 'llama.onnx') });
  eraseInferable(model);
  inferShapes(model);
  const g = model.graph;
  assert.deepEqual(g.values.get(g.outputs[0])!.type!.shape, ['batch', 'seq', 32000]);
  assert.deepEqual(model.warnings, []);
  for (const [name, v] of g.values) assert.ok(v.type && v.type.shape, `${name} has no inferred shape`);
});
