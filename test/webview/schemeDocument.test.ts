// The scheme document's text logic (no browser, no VS Code): a layer action or a preset turns the JSON text
// into new text whose meaning is right, with one minimal edit that leaves the user's formatting alone.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { applyEdit, minimalEdit, replaceSchemeKeepingExtras, schemePathFor, setLayerUpdate, DEFAULT_SCHEME } from '../../src/views/schemeDocument';
import { parseSchemeText, serializeScheme, updateFor, SchemeError, type LayerUpdate } from '../../src/compiler/sparse/scheme';
import { TrainingState } from '../../src/views/trainingState';
import { loadModel } from '../../src/compiler/loadModel';

const effective = (text: string, layer: string): LayerUpdate => updateFor(parseSchemeText(text), `${layer}.weight`, layer);

/** The single edit between two texts, and what it leaves untouched before and after it. */
function editOf(before: string, after: string): { edit: NonNullable<ReturnType<typeof minimalEdit>>; head: string; tail: string } {
  const edit = minimalEdit(before, after)!;
  assert.equal(applyEdit(before, edit), after);
  return { edit, head: before.slice(0, edit.offset), tail: before.slice(edit.offset + edit.length) };
}

test('schemePathFor: <model>.pockengine.json beside the model', () => {
  assert.equal(schemePathFor(path.join('a', 'b', 'mobilenet.onnx')), path.join('a', 'b', 'mobilenet.pockengine.json'));
});

test('no scheme file: the default (full) scheme plus the layer rule', () => {
  const text = setLayerUpdate(null, 'features.3', 'frozen');
  const s = parseSchemeText(text);
  assert.deepEqual(s.default, DEFAULT_SCHEME.default);
  assert.deepEqual(s.rules, [{ match: 'features.3', update: 'frozen' }]);
  assert.equal(effective(text, 'features.3.conv.0'), 'frozen');
  assert.equal(effective(text, 'features.4'), 'full');
});

test("rewriting the layer's own last rule is a one-value edit", () => {
  const before = serializeScheme({ default: 'frozen', batchnorm: 'train', rules: [{ match: 'classifier', update: 'full' }, { match: 'features.17', update: 'bias' }] });
  const after = setLayerUpdate(before, 'features.17', { channels: 0.25 });
  const { edit } = editOf(before, after);
  assert.ok(!edit.text.includes('\n') && edit.length < 10, `small edit: ${JSON.stringify(edit)}`);
  assert.deepEqual(effective(after, 'features.17'), { channels: 0.25 });
  assert.equal(effective(after, 'classifier'), 'full');
  assert.equal(after.split('\n').length, before.split('\n').length);
});

test('a later ancestor rule would override: the old rule goes and a new one is appended', () => {
  const before = serializeScheme({ default: 'frozen', batchnorm: 'train', rules: [{ match: 'features.3', update: 'frozen' }, { match: 'features', update: 'bias' }] });
  const after = setLayerUpdate(before, 'features.3', 'full');
  assert.equal(effective(after, 'features.3'), 'full');
  assert.equal(effective(after, 'features.4'), 'bias');
  assert.deepEqual(parseSchemeText(after).rules.map((r) => r.match), ['features', 'features.3']);
});

test('setting a layer drops the rules of layers inside it (the action means the whole layer)', () => {
  const before = serializeScheme({ default: 'full', batchnorm: 'frozen', rules: [{ match: 'features.3.conv.0', update: 'bias' }, { match: 'classifier', update: 'frozen' }, { match: 'features.3.conv.1', update: { channels: 0.5 } }] });
  const after = setLayerUpdate(before, 'features.3', 'frozen');
  const s = parseSchemeText(after);
  assert.deepEqual(s.rules, [{ match: 'classifier', update: 'frozen' }, { match: 'features.3', update: 'frozen' }]);
  assert.equal(s.batchnorm, 'frozen');
  for (const l of ['features.3', 'features.3.conv.0', 'features.3.conv.1']) assert.equal(effective(after, l), 'frozen');
  assert.equal(effective(after, 'features.30'), 'full');
});

test("hand formatting survives: one-line rules, 4-space indent, comment and $schema stay byte for byte", () => {
  const before = [
    '{',
    '    "$schema": "./scheme.schema.json",',
    '    "comment": "fine-tune the head; keep the stem frozen",',
    '    "default": "bias",',
    '    "rules": [',
    '        { "match": "features.0", "update": "frozen" },',
    '        { "match": "classifier", "update": "full" }',
    '    ]',
    '}',
    '',
  ].join('\n');
  const after = setLayerUpdate(before, 'features.18', 'full');
  const { edit, head, tail } = editOf(before, after);
  assert.ok(before.startsWith(head) && head.includes('"comment": "fine-tune the head; keep the stem frozen"'));
  assert.equal(tail, '\n    ]\n}\n');
  assert.equal(edit.length, 0, 'pure insertion');
  assert.equal(edit.text, ',\n        { "match": "features.18", "update": "full" }');
  assert.equal(effective(after, 'features.18'), 'full');
  assert.equal(effective(after, 'features.0'), 'frozen');

  // Rewriting the classifier's rule in place changes its value only.
  const two = setLayerUpdate(after, 'classifier', 'bias');
  const e2 = editOf(after, two).edit;
  assert.deepEqual([e2.length <= 4, e2.text.includes('\n')], [true, false]);
  assert.deepEqual(parseSchemeText(two).rules.map((r) => r.match), ['features.0', 'classifier', 'features.18']);

  // Setting "features" removes the rules of the blocks inside it, line by line, and appends its own.
  const three = setLayerUpdate(two, 'features', 'frozen');
  assert.equal(three, before.replace('        { "match": "features.0", "update": "frozen" },\n        { "match": "classifier", "update": "full" }',
    '        { "match": "classifier", "update": "bias" },\n        { "match": "features", "update": "frozen" }'));
});

test('no "rules" yet: the property is added after the last one', () => {
  const before = '{\n  "default": "frozen",\n  "batchnorm": "train"\n}\n';
  const after = setLayerUpdate(before, 'fc', 'full');
  const { head } = editOf(before, after);
  assert.ok(head.startsWith('{\n  "default": "frozen",\n  "batchnorm": "train"'));
  assert.deepEqual(parseSchemeText(after).rules, [{ match: 'fc', update: 'full' }]);
});

test('the whole model (layer "") sets the default and drops the rules', () => {
  const before = serializeScheme({ default: 'frozen', batchnorm: 'train', rules: [{ match: 'fc', update: 'full' }] });
  const s = parseSchemeText(setLayerUpdate(before, '', 'bias'));
  assert.deepEqual([s.default, s.rules], ['bias', []]);
});

test('an invalid document is not edited: a SchemeError says why', () => {
  assert.throws(() => setLayerUpdate('{ "default": "full", ', 'fc', 'frozen'), (e: unknown) => e instanceof SchemeError && /not valid JSON/.test((e as Error).message));
  assert.throws(() => setLayerUpdate('{ "default": "sometimes" }', 'fc', 'frozen'), SchemeError);
});

test('a preset replaces the scheme and keeps $schema and comment', () => {
  const before = '{\n    "$schema": "x.json",\n    "comment": "mine",\n    "default": "full",\n    "rules": []\n}\n';
  const after = replaceSchemeKeepingExtras(before, { default: 'bias', batchnorm: 'train', rules: [{ match: 'classifier', update: 'full' }] });
  const doc = JSON.parse(after);
  assert.equal(doc.$schema, 'x.json');
  assert.equal(doc.comment, 'mine');
  assert.ok(after.includes('\n    "default": "bias"'), 'keeps the 4-space indent');
  assert.deepEqual(parseSchemeText(after).rules, [{ match: 'classifier', update: 'full' }]);
});

test('TrainingState: an invalid scheme text keeps the last valid scheme and reports the error', () => {
  const loaded = loadModel(path.resolve(__dirname, '..', '..', '..', 'shared', 'fixtures', 'mobilenetv2_035', 'model.onnx'));
  const t = new TrainingState(loaded, 'model.pockengine.json', null);
  const fullBackward = t.info().counts.backward.nodes;
  const frozen = setLayerUpdate(null, 'features', 'frozen');
  const ok = t.setSchemeText(frozen);
  assert.equal(ok.schemeError, null);
  assert.ok(ok.counts.backward.nodes < fullBackward && ok.counts.backward.pruned > 0);
  assert.equal(t.layerTrains('features.3'), false);
  assert.equal(t.layerTrains('classifier'), true);
  const bad = t.setSchemeText(frozen.slice(0, -5));
  assert.match(bad.schemeError ?? '', /not valid JSON/);
  assert.deepEqual(t.scheme, parseSchemeText(frozen), 'last valid scheme in effect');
  assert.equal(bad.counts.backward.nodes, ok.counts.backward.nodes);
  const back = t.setSchemeText(null);
  assert.equal(back.schemeError, null);
  assert.equal(back.counts.backward.nodes, fullBackward);
});

test('a one-line document stays one line', () => {
  const before = '{ "default": "frozen", "rules": [ { "match": "classifier", "update": "full" } ] }\n';
  const after = setLayerUpdate(before, 'features', 'full');
  assert.equal(after, '{ "default": "frozen", "rules": [ { "match": "classifier", "update": "full" }, { "match": "features", "update": "full" } ] }\n');
});
