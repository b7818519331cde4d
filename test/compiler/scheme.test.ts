import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { importModelFile } from '../../src/compiler/onnx/import';
import { buildLayerTree } from '../../src/compiler/ir/layers';
import { parseScheme, parseSchemeText, SchemeError, updateFor } from '../../src/compiler/sparse/scheme';
import { resolveScheme, trainableParams } from '../../src/compiler/sparse/resolve';
import { findBlocks, presetScheme } from '../../src/compiler/sparse/presets';
import { globMatches } from '../../src/compiler/sparse/glob';

const fixtures = path.resolve(__dirname, '..', '..', '..', 'shared', 'fixtures');

test('globs: * spans dots, other characters are literal', () => {
  assert.ok(globMatches('features.1*', 'features.17.conv.0.0.weight'));
  assert.ok(globMatches('*.bias', 'classifier.1.bias'));
  assert.ok(!globMatches('*.bias', 'classifier.1.bias_x'));
  assert.ok(globMatches('onnx::Conv_5?3', 'onnx::Conv_523'));
  assert.ok(!globMatches('features.1', 'features.17'));
});

test('rules apply in order, the last match wins, layers match their descendants', () => {
  const s = parseScheme({ default: 'frozen', rules: [{ match: 'features.*', update: 'full' }, { match: 'features.3', update: { channels: 0.25 } }] });
  assert.deepEqual(updateFor(s, 'features.3.conv.0.weight', 'features.3.conv.0'), { channels: 0.25 });
  assert.equal(updateFor(s, 'features.4.conv.0.weight', 'features.4.conv.0'), 'full');
  assert.equal(updateFor(s, 'classifier.1.weight', 'classifier.1'), 'frozen');
});

test('bad schemes name the field that is wrong', () => {
  assert.throws(() => parseScheme({ default: 'sometimes' }), /"default"/);
  assert.throws(() => parseScheme({ rules: [{ match: 'x', update: { channels: 1.5 } }] }), /rules\[0\]\.update.*\(0, 1\]/);
  assert.throws(() => parseScheme({ batchnorm: 'maybe' }), /"batchnorm"/);
  assert.throws(() => parseSchemeText('{'), SchemeError);
  assert.throws(() => parseScheme({ rulez: [] }), /unknown scheme field "rulez"/);
});

for (const [model, n] of [['mlp', 1], ['cnn_small', 2], ['mobilenetv2_035', 2], ['tiny_llama', 1]] as const) {
  test(`${model}: preset last-${n} trains exactly the fixture's sparse parameters`, () => {
    const m = importModelFile(path.join(fixtures, model, 'model.onnx'));
    const tree = buildLayerTree(m.graph);
    const expected: string[] = JSON.parse(fs.readFileSync(path.join(fixtures, model, 'loss.json'), 'utf8')).sparse_params_onnx;
    const biases = [...m.graph.initializers.keys()].filter((p) => p.endsWith('.bias'));
    const scheme = presetScheme(`last-${n}`, m.graph, tree)!;
    const got = trainableParams(resolveScheme(scheme, m.graph, tree)).sort();
    assert.deepEqual(got, [...new Set([...expected, ...biases])].sort());
  });
}

test('MobileNetV2 blocks are features.0..18, the classifier follows', () => {
  const m = importModelFile(path.join(fixtures, 'mobilenetv2_035', 'model.onnx'));
  const b = findBlocks(m.graph, buildLayerTree(m.graph));
  assert.equal(b.blocks.length, 19);
  assert.equal(b.blocks[18], 'features.18');
  assert.deepEqual(b.classifier, ['classifier']);
});

test('bias-only on an eval-mode export finds renamed biases by their slot', () => {
  const m = importModelFile(path.join(fixtures, 'mobilenetv2_035', 'model_eval.onnx'));
  const tree = buildLayerTree(m.graph);
  const u = resolveScheme(presetScheme('bias-only', m.graph, tree)!, m.graph, tree);
  const conv = m.graph.nodes.find((x) => x.opType === 'Conv')!;
  assert.equal(u.get(conv.inputs[1])!.trainable, false);
  assert.equal(u.get(conv.inputs[2])!.trainable, true);
  assert.equal(u.get(conv.inputs[2])!.role, 'bias');
});

test('channels: r marks weights partial and keeps the bias whole', () => {
  const m = importModelFile(path.join(fixtures, 'mlp', 'model.onnx'));
  const tree = buildLayerTree(m.graph);
  const u = resolveScheme(parseScheme({ default: 'frozen', rules: [{ match: 'fc2', update: { channels: 0.25 } }] }), m.graph, tree);
  assert.deepEqual(u.get('fc2.weight'), { param: 'fc2.weight', layer: 'fc2', role: 'weight', trainable: true, channels: 0.25 });
  assert.equal(u.get('fc2.bias')!.trainable, true);
  assert.equal(u.get('fc2.bias')!.channels, undefined);
  assert.equal(u.get('fc1.weight')!.trainable, false);
});
