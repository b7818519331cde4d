// The training tabs' view models (no browser): counts equal the compiler's report, backward nodes sit under
// their forward layer, pruned overlays are exactly applyScheme's pruned nodes, links go both ways, and a
// toggle that only changes pruning reuses the indexes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { loadModel } from '../../src/compiler/loadModel';
import { applyScheme } from '../../src/compiler/sparse/applyScheme';
import { presetScheme } from '../../src/compiler/sparse/presets';
import { buildTrainingViews, linkedItems, TRAINING_GRAPHS } from '../../src/compiler/view/trainingView';
import { createGraphViewModel } from '../../src/compiler/view';
import { hidePruned } from '../../src/views/graphSession';
import { VIEW_OPTIMIZER } from '../../src/views/trainingState';

const mobilenet = path.resolve(__dirname, '..', '..', '..', 'shared', 'fixtures', 'mobilenetv2_035', 'model.onnx');
const loaded = loadModel(mobilenet);

test('MobileNetV2 training tabs: counts, grouping, pruned overlay, links, reuse', () => {
  const full = applyScheme(loaded, presetScheme('full', loaded.model.graph, loaded.layers)!, { optimizer: VIEW_OPTIMIZER });
  const v0 = buildTrainingViews(loaded, full);
  assert.equal(v0.counts.forward.nodes, full.report.forward.nodes);
  assert.equal(v0.counts.backward.nodes, full.report.backward.nodes);
  assert.equal(v0.counts.optimizer.nodes, full.report.optimizer.nodes);
  assert.equal(v0.counts.step.nodes, full.tg.graph.nodes.length);
  for (const g of TRAINING_GRAPHS) assert.deepEqual(v0.pruned[g].items, [], `${g}: nothing pruned under full`);

  // Every backward node is drawn inside the group of its forward node's layer (or is that layer's only op).
  const bwd = v0.models.backward.index;
  const byId = new Map(full.full.graph.nodes.map((n) => [n.id, n]));
  let checked = 0;
  for (const [b, f] of full.full.ann.forwardOf) {
    const leaf = bwd.leaves.get(`n:${b}`);
    const fl = byId.get(f)?.layer;
    if (!leaf || !fl) continue;
    const groupLayers: string[] = [];
    for (let g = leaf.parent; g !== null; g = bwd.groups.get(g)!.parent) groupLayers.push(bwd.groups.get(g)!.layer);
    assert.ok(groupLayers.some((l) => l === fl || fl.startsWith(l + '.')) || leaf.sublabel === fl, `${b} under ${fl}`);
    checked++;
  }
  assert.ok(checked > 100);

  // last-2: the pruned overlay is exactly the pruned backward nodes, with their reasons.
  const sparse = applyScheme(loaded, presetScheme('last-2', loaded.model.graph, loaded.layers)!, { optimizer: VIEW_OPTIMIZER });
  const v1 = buildTrainingViews(loaded, sparse, v0);
  assert.equal(v1.models.backward, v0.models.backward, 'same nodes: the index is reused');
  const prunedBackward = [...sparse.pruned.keys()].filter((id) => sparse.full.ann.phase.get(id) === 'backward' && bwd.leaves.has(`n:${id}`));
  assert.deepEqual(v1.pruned.backward.items.slice().sort(), prunedBackward.map((id) => `n:${id}`).sort());
  for (const id of prunedBackward) assert.match(v1.prunedReason(id)!, /features|\(/);
  assert.equal(v1.counts.backward.nodes, sparse.report.backward.nodes);
  assert.equal(v1.counts.backward.pruned, sparse.report.backward.prunedNodes);

  // Hide pruned: what remains is exactly the unpruned items (fully expanded view).
  const all = v1.models.backward.visible([...bwd.groups.keys()]);
  const shown = hidePruned(all, v1.pruned.backward);
  assert.deepEqual(shown.items.filter((i) => i.kind !== 'group').map((i) => i.id).sort(),
    all.items.filter((i) => i.kind !== 'group' && !v1.pruned.backward.items.includes(i.id)).map((i) => i.id).sort());
  assert.ok(shown.edges.every((e) => shown.items.some((i) => i.id === e.source) && shown.items.some((i) => i.id === e.target)));

  // Links: a forward Conv -> its backward nodes; one of those -> the Conv.
  const conv = loaded.model.graph.nodes.find((n) => n.opType === 'Conv')!;
  const back = sparse.full.ann.backwardOf.get(conv.id)!;
  const model = createGraphViewModel(loaded).index;
  const fromFwd = linkedItems(v1, sparse, model, `n:${conv.id}`);
  assert.deepEqual(fromFwd.backward!.map((i) => i.id).sort(), back.map((b) => `n:${b}`).sort());
  assert.deepEqual(fromFwd.model!.map((i) => i.id), [`n:${conv.id}`]);
  const fromBwd = linkedItems(v1, sparse, model, `n:${back[0]}`);
  assert.deepEqual(fromBwd.forward!.map((i) => i.id), [`n:${conv.id}`]);
  for (const i of fromBwd.backward!) assert.deepEqual(i.path, (() => {
    const out: string[] = [];
    for (let g = bwd.leaves.get(i.id)!.parent; g !== null; g = bwd.groups.get(g)!.parent) out.unshift(g);
    return out;
  })());
});
