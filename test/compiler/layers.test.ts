import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { importModelFile } from '../../src/compiler/onnx/import';
import { buildLayerTree, moduleOfNodeName, nodesUnder, paramsUnder } from '../../src/compiler/ir/layers';

const fixtures = path.resolve(__dirname, '..', '..', '..', 'shared', 'fixtures');

test('scoped node names map to dotted module paths', () => {
  assert.equal(moduleOfNodeName('/features/features.3/conv/conv.0/Conv'), 'features.3.conv.0');
  assert.equal(moduleOfNodeName('/features/features.1/conv/conv.0/conv.0.0/Conv'), 'features.1.conv.0.0');
  assert.equal(moduleOfNodeName('/layers.0/attention/wq/MatMul'), 'layers.0.attention.wq');
  assert.equal(moduleOfNodeName('/Relu_1'), '');
  assert.equal(moduleOfNodeName('Gemm_0'), '');
});

test('MobileNetV2 training export: every parameter lands in the layer its name says', () => {
  const model = importModelFile(path.join(fixtures, 'mobilenetv2_035', 'model.onnx'));
  const tree = buildLayerTree(model.graph);
  for (const [name, layer] of tree.paramLayer) assert.equal(layer, name.slice(0, name.lastIndexOf('.')), name);
  // BN running statistics are state, not parameters.
  const bn = tree.layers.get('features.0.1')!;
  assert.deepEqual(bn.params.sort(), ['features.0.1.bias', 'features.0.1.weight']);
  assert.deepEqual(bn.buffers.sort(), ['features.0.1.running_mean', 'features.0.1.running_var']);
  // 17 inverted-residual blocks plus first and last conv: features.0 .. features.18.
  const top = tree.layers.get('features')!;
  assert.equal(top.children.length, 19);
  assert.deepEqual(tree.layers.get('')!.children, ['features', 'classifier']);
  // Every node is in exactly one layer.
  assert.equal(nodesUnder(tree, '').length, model.graph.nodes.length);
});

test('eval-mode export: renamed parameters fall back to the consuming node\'s layer', () => {
  const model = importModelFile(path.join(fixtures, 'mobilenetv2_035', 'model_eval.onnx'));
  const tree = buildLayerTree(model.graph);
  const first = model.graph.nodes.find((n) => n.opType === 'Conv')!;
  assert.equal(first.layer, 'features.0.0');
  assert.ok(tree.layers.get('features.0.0')!.params.includes(first.inputs[1]));
  assert.ok(first.inputs[1].startsWith('onnx::'));
  // All 106 initializers that are float parameters are placed somewhere under the root.
  assert.equal(paramsUnder(tree, '').length, tree.paramLayer.size);
});

test('tiny LLaMA: tied embedding stays with tok_embeddings, decoder layers group under layers', () => {
  const model = importModelFile(path.join(fixtures, 'tiny_llama', 'model.onnx'));
  const tree = buildLayerTree(model.graph);
  assert.equal(tree.paramLayer.get('tok_embeddings.weight'), 'tok_embeddings');
  assert.deepEqual(tree.layers.get('layers')!.children, ['layers.0', 'layers.1']);
  assert.equal(paramsUnder(tree, 'layers.1').length, 9);
});
