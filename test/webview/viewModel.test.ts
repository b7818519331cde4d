// The view model the graph webview draws (src/compiler/view): collapsed and expanded cuts of real models
// keep every operator and every data edge, huge flat groups are split, details carry real sizes, and the
// LLaMA-2-7B-shaped graph answers in milliseconds.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadModel, type LoadedModel } from '../../src/compiler/loadModel';
import { createGraphViewModel, MAX_GROUP_ITEMS, type GraphViewModel, type VisibleGraph } from '../../src/compiler/view';
import { buildLayerTree } from '../../src/compiler/ir/layers';
import { initializerBytes } from '../../src/compiler/onnx/tensorData';
import { encodeModel } from '../../src/compiler/onnx/encode';
import { buildLlama } from '../../src/compiler/samples/llama';
import type { Model, Node } from '../../src/compiler/ir/graph';

const repo = path.resolve(__dirname, '..', '..');
const fixtures = path.resolve(repo, '..', 'shared', 'fixtures');
const models = fs.readdirSync(fixtures).filter((d) => fs.existsSync(path.join(fixtures, d, 'model.onnx')));

const drawnOps = (m: Model): Node[] => m.graph.nodes.filter((n) => n.opType !== 'Constant');
const allGroups = (vm: GraphViewModel): string[] => [...vm.index.groups.keys()];

/** Every drawn edge joins two drawn items, never an item to itself, and no pair twice. */
function checkEdges(v: VisibleGraph): void {
  const ids = new Set(v.items.map((i) => i.id));
  const pairs = new Set<string>();
  for (const e of v.edges) {
    assert.ok(ids.has(e.source) && ids.has(e.target), `edge ${e.id} joins drawn items`);
    assert.notEqual(e.source, e.target);
    const k = `${e.source}>${e.target}`;
    assert.ok(!pairs.has(k), `edge ${k} aggregated once`);
    pairs.add(k);
  }
  for (const i of v.items) if (i.parent !== null) assert.ok(v.expanded.includes(i.parent), `${i.id} sits in an open group`);
}

for (const name of models) {
  test(`${name}: collapsed and fully expanded views keep every operator and edge`, () => {
    const loaded = loadModel(path.join(fixtures, name, 'model.onnx'));
    const vm = createGraphViewModel(loaded);
    const ops = drawnOps(loaded.model);

    const collapsed = vm.visible([]);
    checkEdges(collapsed);
    assert.ok(collapsed.items.every((i) => i.parent === null));
    const counted = collapsed.items.reduce((s, i) => s + (i.kind === 'group' ? i.opCount! : i.kind === 'op' ? 1 : 0), 0);
    assert.equal(counted, ops.length, 'the top-level boxes account for every operator');
    assert.equal(collapsed.items.filter((i) => i.kind === 'input').length, loaded.model.graph.inputs.length);
    assert.equal(collapsed.items.filter((i) => i.kind === 'output').length, loaded.model.graph.outputs.length);

    const full = vm.visible(allGroups(vm));
    checkEdges(full);
    const fullOps = full.items.filter((i) => i.kind === 'op');
    assert.deepEqual(fullOps.map((i) => i.id.slice(2)).sort(), ops.map((n) => n.id).sort());
    // Fully open, each edge is one producer->consumer pair of operators (through non-Constant values).
    const producer = new Map<string, string>();
    for (const n of ops) for (const o of n.outputs) if (o) producer.set(o, `n:${n.id}`);
    const inputs = new Set(loaded.model.graph.inputs);
    const expected = new Set<string>();
    for (const n of ops) for (const i of n.inputs) {
      if (producer.has(i)) expected.add(`${producer.get(i)}>n:${n.id}`);
      else if (inputs.has(i)) expected.add(`in:${i}>n:${n.id}`);
    }
    for (const o of loaded.model.graph.outputs) if (producer.has(o)) expected.add(`${producer.get(o)}>out:${o}`);
    assert.deepEqual(new Set(full.edges.map((e) => `${e.source}>${e.target}`)), expected);
  });
}

test('MobileNetV2: expanding a layer shows its members; details carry real sizes; search and locate work', () => {
  const loaded = loadModel(path.join(fixtures, 'mobilenetv2_035', 'model.onnx'));
  const vm = createGraphViewModel(loaded);
  const collapsed = vm.visible([]);
  assert.ok(collapsed.items.some((i) => i.id === 'g:features'));
  const open = vm.visible(['g:features']);
  const members = vm.index.groups.get('g:features')!.members;
  assert.deepEqual(open.items.filter((i) => i.parent === 'g:features').map((i) => i.id), members);
  assert.equal(open.items.length, collapsed.items.length + members.length);
  // A group listed as expanded below a closed one is not open.
  assert.deepEqual(vm.visible(['g:features.3']).expanded, []);

  const conv = loaded.model.graph.nodes.find((n) => n.opType === 'Conv')!;
  const d = vm.details(`n:${conv.id}`);
  assert.ok(d && 'node' in d);
  const w = loaded.model.graph.initializers.get(conv.inputs[1])!;
  const winfo = d.node.inputs.find((t) => t.name === w.name)!;
  assert.equal(winfo.role, 'parameter');
  assert.equal(winfo.bytes, initializerBytes(w));
  assert.equal(d.node.paramBytes, conv.inputs.slice(1).filter((i) => i).reduce((s, i) => s + initializerBytes(loaded.model.graph.initializers.get(i)!), 0));
  assert.ok(d.node.attributes.some((a) => a.name === 'kernel_shape'));

  const g = vm.details('g:features.3');
  assert.ok(g && 'group' in g);
  assert.equal(g.group.opCount, g.group.opCounts.reduce((s, o) => s + o.count, 0));
  const own = loaded.layers.layers;
  const paramsUnder = [...loaded.layers.paramLayer].filter(([p, l]) => (l === 'features.3' || l.startsWith('features.3.')) && own.get(l)!.params.includes(p));
  assert.equal(g.group.params.length, paramsUnder.length);

  const s = vm.search('batchnormalization');
  assert.equal(s.total, loaded.model.graph.nodes.filter((n) => n.opType === 'BatchNormalization').length);
  for (const m of s.matches) assert.ok(vm.visible(m.path).items.some((i) => i.id === m.id), `${m.id} visible once its path is open`);

  const where = vm.locateLayer('features.3.conv.1')!;
  assert.ok(vm.visible(where.path).items.some((i) => i.id === where.id));
  assert.deepEqual(vm.summary().paramCount, 408938);
});

test('a flat graph of 2000 unscoped operators is split into artificial groups of at most MAX_GROUP_ITEMS', () => {
  const n = 2000;
  const values = new Map<string, { name: string; type: { dtype: 'float32'; shape: number[] } }>();
  const nodes: Node[] = [];
  for (let i = 0; i <= n; i++) values.set(`v${i}`, { name: `v${i}`, type: { dtype: 'float32', shape: [1, 8] } });
  for (let i = 0; i < n; i++) nodes.push({ id: `Relu_${i}`, name: `Relu_${i}`, opType: 'Relu', domain: '', inputs: [`v${i}`], outputs: [`v${i + 1}`], attrs: {}, layer: '' });
  const model: Model = {
    path: '', irVersion: 8, opsets: { '': 17 }, producerName: 't', producerVersion: '', modelVersion: 1, docString: '', metadata: {}, warnings: [],
    graph: { name: 'flat', nodes, values, inputs: ['v0'], outputs: [`v${n}`], initializers: new Map(), docString: '' },
  };
  const vm = createGraphViewModel({ model, layers: buildLayerTree(model.graph) });
  const top = vm.visible([]);
  assert.ok(top.items.length <= MAX_GROUP_ITEMS + 2);
  for (const g of vm.index.groups.values()) {
    assert.ok(g.members.length <= MAX_GROUP_ITEMS, `${g.id} has ${g.members.length} members`);
    assert.ok(g.artificial);
  }
  const full = vm.visible(allGroups(vm));
  assert.equal(full.items.filter((i) => i.kind === 'op').length, n);
  assert.equal(full.edges.length, n + 1);
  // Chunks keep graph order: consecutive operators, so the chain crosses each chunk boundary once.
  assert.equal(top.edges.length, top.items.length - 1);
});

test('LLaMA-2-7B-shaped graph: index, collapsed view and one decoder layer in milliseconds', () => {
  const model = buildLlama();
  // Through the file, as the editor loads it (the external weights are never read).
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pockengine-7b-'));
  try {
    const file = path.join(dir, 'llama7b.onnx');
    fs.writeFileSync(file, encodeModel(model));
    const loaded: LoadedModel = loadModel(file);
    const t0 = performance.now();
    const vm = createGraphViewModel(loaded);
    const collapsed = vm.visible([]);
    const t1 = performance.now();
    const layer = vm.locateLayer('layers.7')!;
    const open = vm.visible([...layer.path, layer.id]);
    const t2 = performance.now();
    checkEdges(open);
    assert.equal(collapsed.items.filter((i) => i.kind === 'group' && i.label === 'layers').length, 1);
    assert.ok(open.items.some((i) => i.parent === layer.id));
    assert.equal(vm.index.groups.get('g:layers')!.members.filter((m) => m.startsWith('g:layers.')).length, 32);
    for (const g of vm.index.groups.values()) assert.ok(g.members.length <= MAX_GROUP_ITEMS);
    console.log(`# 7B-shaped (${loaded.model.graph.nodes.length} nodes): index + collapsed view ${(t1 - t0).toFixed(1)} ms (${collapsed.items.length} boxes); open layers.7 ${(t2 - t1).toFixed(1)} ms (${open.items.length} boxes)`);
    assert.ok(t1 - t0 < 1000 && t2 - t1 < 300, 'fast enough for the editor to answer without a visible wait');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
