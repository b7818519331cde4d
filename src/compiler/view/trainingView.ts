// The Forward / Backward / Optimizer / Whole-step graphs of a sparse training step as view models, plus the
// overlays that change when the scheme changes: which items are pruned (greyed), why, and the links
// between a forward node and the backward nodes that differentiate it.
//
// Each tab draws the nodes of its phases from the *full* step (every parameter trainable), with the pruned
// step's version of a node where it has one and its extra nodes (channel slices) added: pruned nodes stay
// visible, greyed. Nodes keep the layer of the forward node they differentiate, so a tab groups backward
// nodes under their forward layer. Toggling a layer usually changes only which nodes are pruned, not which
// nodes exist; then the indexes (the expensive part) are reused and only the overlay is recomputed.

import type { Graph, Model, Node, Value } from '../ir/graph';
import type { Layer, LayerTree } from '../ir/layers';
import type { LoadedModel } from '../loadModel';
import type { Phase } from '../train/builder';
import { isKnownOp } from '../ir/inferShapes';
import type { SparseTraining } from '../sparse/applyScheme';
import { ancestorsOf, buildGraphIndex, groupItemId, nodeItemId, type GraphIndex } from './graphIndex';
import { createGraphViewModelFromIndex, type GraphViewModel } from './index';

export type TrainingGraphId = 'forward' | 'backward' | 'optimizer' | 'step';
export const TRAINING_GRAPHS: TrainingGraphId[] = ['forward', 'backward', 'optimizer', 'step'];

const PHASES: Record<TrainingGraphId, Phase[]> = {
  forward: ['forward', 'loss'],
  backward: ['backward'],
  optimizer: ['optimizer'],
  step: ['forward', 'loss', 'backward', 'optimizer'],
};

/** Node counts of a tab: what the compiled (pruned) step runs, and what was pruned from the full step. */
export interface GraphCounts {
  nodes: number;
  pruned: number;
  flops: number;
}

/**
 * Pruned items of one tab: the pruned leaf item ids (their reasons come with the details, so a toggle's
 * message stays small) and, per group item id, the fraction of its operators pruned.
 */
export interface PrunedOverlay {
  items: string[];
  groups: Record<string, number>;
}

export interface LinkedItem {
  id: string;
  /** Groups to open, outermost first, to see the item. */
  path: string[];
}

export interface TrainingViews {
  /** Same key: same nodes in every tab, so the webview can keep its layout and only restyle. */
  structureKey: Record<TrainingGraphId, string>;
  models: Record<TrainingGraphId, GraphViewModel>;
  pruned: Record<TrainingGraphId, PrunedOverlay>;
  counts: Record<TrainingGraphId, GraphCounts>;
  phaseOf(nodeId: string): Phase | undefined;
  /** Why a node is pruned (null: it runs). */
  prunedReason(nodeId: string): string | null;
}

interface Display {
  nodes: Node[];
  key: string;
}

/** The nodes a tab shows, in step order: the full step's, replaced by the pruned step's where it has them. */
function displayNodes(st: SparseTraining, phases: Set<Phase>): Display {
  const phaseOf = (id: string): Phase => st.tg.ann.phase.get(id) ?? st.full.ann.phase.get(id) ?? 'forward';
  const tgById = new Map(st.tg.graph.nodes.map((n) => [n.id, n]));
  const fullIds = new Set(st.full.graph.nodes.map((n) => n.id));
  const out: Node[] = [];
  // Extra nodes of the pruned step (channel slices) go right after the pruned-step node before them.
  const extraAfter = new Map<string, Node[]>();
  let prev = '';
  for (const n of st.tg.graph.nodes) {
    if (!fullIds.has(n.id)) {
      const list = extraAfter.get(prev) ?? [];
      list.push(n);
      extraAfter.set(prev, list);
    } else prev = n.id;
  }
  const push = (n: Node): void => {
    if (phases.has(phaseOf(n.id))) out.push(n);
  };
  for (const n of extraAfter.get('') ?? []) push(n);
  for (const n of st.full.graph.nodes) {
    push(tgById.get(n.id) ?? n);
    for (const x of extraAfter.get(n.id) ?? []) push(x);
  }
  return { nodes: out, key: out.map((n) => n.id).join('\u0000') };
}

/** A layer tree over the tab's nodes, using the layer each node carries (backward nodes: their forward layer). */
function layerTreeOf(nodes: Node[], base: LayerTree): LayerTree {
  const layers = new Map<string, Layer>();
  const ensure = (id: string): Layer => {
    let l = layers.get(id);
    if (l) return l;
    const parent = id === '' ? null : id.includes('.') ? id.slice(0, id.lastIndexOf('.')) : '';
    l = { id, name: id === '' ? '' : id.slice(id.lastIndexOf('.') + 1), parent, children: [], nodes: [], params: [], buffers: [] };
    layers.set(id, l);
    if (parent !== null) ensure(parent).children.push(id);
    return l;
  };
  ensure('');
  const nodeLayer = new Map<string, string>();
  for (const n of nodes) {
    const layer = n.layer ?? '';
    nodeLayer.set(n.id, layer);
    ensure(layer).nodes.push(n.id);
  }
  // Parameters stay with their model layer, where that layer has nodes in this tab (group details list them).
  const paramLayer = new Map<string, string>();
  for (const [p, l] of base.paramLayer) {
    paramLayer.set(p, l);
    const own = base.layers.get(l);
    const here = layers.get(l);
    if (own && here) {
      if (own.params.includes(p)) here.params.push(p);
      else here.buffers.push(p);
    }
  }
  return { layers, nodeLayer, paramLayer };
}

function tabModel(loaded: LoadedModel, st: SparseTraining, nodes: Node[], id: TrainingGraphId): Model {
  const values = new Map<string, Value>(st.full.graph.values);
  for (const [k, v] of st.tg.graph.values) values.set(k, v);
  const initializers = new Map(st.full.graph.initializers);
  for (const [k, v] of st.tg.graph.initializers) initializers.set(k, v);
  const dataInputs = st.full.dataInputs;
  const io: Pick<Graph, 'inputs' | 'outputs'> = id === 'forward' || id === 'step'
    ? { inputs: dataInputs.slice(), outputs: [st.full.loss.loss] }
    : { inputs: [], outputs: [] };
  const graph: Graph = { ...st.full.graph, nodes, values, initializers, ...io };
  return { ...loaded.model, graph };
}

/** The view models of the four training tabs; `previous` (same structure) lends its indexes. */
export function buildTrainingViews(loaded: LoadedModel, st: SparseTraining, previous?: TrainingViews): TrainingViews {
  const models = {} as Record<TrainingGraphId, GraphViewModel>;
  const structureKey = {} as Record<TrainingGraphId, string>;
  const pruned = {} as Record<TrainingGraphId, PrunedOverlay>;
  const phaseOf = (id: string): Phase | undefined => st.tg.ann.phase.get(id) ?? st.full.ann.phase.get(id);
  for (const gid of TRAINING_GRAPHS) {
    const d = displayNodes(st, new Set(PHASES[gid]));
    structureKey[gid] = d.key;
    const prev = previous && previous.structureKey[gid] === d.key ? previous.models[gid] : null;
    let vm: GraphViewModel;
    if (prev) {
      // Same nodes: the pruned step's node objects (attributes may differ, e.g. `channels`) for the details.
      for (const n of d.nodes) prev.index.nodes.set(n.id, n);
      vm = prev;
    } else {
      const model = tabModel(loaded, st, d.nodes, gid);
      // Nodes the training compiler made (gradient and optimizer operators) are known to it by construction.
      const made = new Set([...st.full.ann.phase.keys()].filter((k) => st.full.ann.phase.get(k) !== 'forward'));
      for (const [k, ph] of st.tg.ann.phase) if (ph !== 'forward') made.add(k);
      const isKnown = (n: Node): boolean => made.has(n.id) || isKnownOp(n.opType, n.domain);
      // Inputs of the whole step (model inputs, labels) and values of other phases are not "missing" here.
      const producedElsewhere = new Set<string>(st.full.dataInputs);
      for (const g of [st.full.graph, st.tg.graph]) for (const n of g.nodes) for (const o of n.outputs) if (o) producedElsewhere.add(o);
      vm = createGraphViewModelFromIndex(model, buildGraphIndex(model, layerTreeOf(d.nodes, loaded.layers), { isKnown, producedElsewhere }));
    }
    models[gid] = vm;
    pruned[gid] = prunedOverlay(vm.index, st.pruned);
  }
  const count = (phases: Phase[]): GraphCounts => {
    const want = new Set(phases);
    let nodes = 0;
    let prunedCount = 0;
    for (const n of st.tg.graph.nodes) if (want.has(st.tg.ann.phase.get(n.id) ?? 'forward')) nodes++;
    for (const id of st.pruned.keys()) if (want.has(st.full.ann.phase.get(id) ?? 'forward')) prunedCount++;
    return { nodes, pruned: prunedCount, flops: 0 };
  };
  const r = st.report;
  const counts: Record<TrainingGraphId, GraphCounts> = {
    forward: { ...count(PHASES.forward), flops: r.forward.flops },
    backward: { ...count(PHASES.backward), flops: r.backward.flops },
    optimizer: { ...count(PHASES.optimizer), flops: r.optimizer.flops },
    step: { ...count(PHASES.step), flops: r.forward.flops + r.backward.flops + r.optimizer.flops },
  };
  return { structureKey, models, pruned, counts, phaseOf, prunedReason: (id) => st.pruned.get(id) ?? null };
}

function prunedOverlay(index: GraphIndex, reasons: Map<string, string>): PrunedOverlay {
  const items: string[] = [];
  const prunedIn = new Map<string, number>();
  for (const nodeId of reasons.keys()) {
    const id = nodeItemId(nodeId);
    const leaf = index.leaves.get(id);
    if (!leaf) continue;
    items.push(id);
    for (let g = leaf.parent; g !== null; g = index.groups.get(g)?.parent ?? null) prunedIn.set(g, (prunedIn.get(g) ?? 0) + 1);
  }
  const groups: Record<string, number> = {};
  for (const [g, k] of prunedIn) {
    const total = index.groups.get(g)?.opCount ?? 0;
    if (total > 0) groups[g] = Math.min(1, k / total);
  }
  return { items, groups };
}

/**
 * The items linked to a selection, per tab: a forward node's backward nodes (and itself), a backward node's
 * forward node and its sibling backward nodes, a layer's boxes. Items a tab does not draw are left out.
 */
export function linkedItems(views: TrainingViews, st: SparseTraining, modelIndex: GraphIndex | null, itemId: string): Partial<Record<TrainingGraphId | 'model', LinkedItem[]>> {
  const indexes: [TrainingGraphId | 'model', GraphIndex][] = [
    ...TRAINING_GRAPHS.map((g): [TrainingGraphId, GraphIndex] => [g, views.models[g].index]),
    ...(modelIndex ? [['model', modelIndex] as ['model', GraphIndex]] : []),
  ];
  const ids: string[] = [];
  if (itemId.startsWith('n:')) {
    const nodeId = itemId.slice(2);
    const fwd = st.full.ann.forwardOf.get(nodeId) ?? st.tg.ann.forwardOf.get(nodeId) ?? nodeId;
    ids.push(nodeItemId(fwd));
    for (const b of st.full.ann.backwardOf.get(fwd) ?? []) ids.push(nodeItemId(b));
    for (const b of st.tg.ann.backwardOf.get(fwd) ?? []) ids.push(nodeItemId(b));
  } else if (itemId.startsWith('g:') && !itemId.includes('#')) {
    ids.push(itemId);
  } else return {};
  const out: Partial<Record<TrainingGraphId | 'model', LinkedItem[]>> = {};
  for (const [g, index] of indexes) {
    const list: LinkedItem[] = [];
    const seen = new Set<string>();
    for (const id of ids) {
      let shown = index.leaves.has(id) || index.groups.has(id) ? id : null;
      // A layer drawn as its single operator has no group box: link that operator instead.
      if (!shown && id.startsWith('g:')) shown = [...index.leaves.values()].find((l) => l.kind === 'op' && l.sublabel === id.slice(2))?.id ?? null;
      if (!shown || seen.has(shown)) continue;
      seen.add(shown);
      list.push({ id: shown, path: ancestorsOf(index, shown) });
    }
    if (list.length) out[g] = list;
  }
  return out;
}

export { groupItemId };
