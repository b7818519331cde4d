// Backward pruning: from a training graph in which every parameter trains (`full`), the step that trains
// only some. A backward or optimizer node stays iff a trainable parameter's gradient (or its update) is
// computed from it; forward and loss nodes all stay. Kept nodes keep their ids, so a view can grey the
// pruned nodes of `full` and show the kept ones of the result. Values that only pruned nodes read (e.g.
// the activations of a frozen prefix) are then read by no node of the result: nothing saves them.

import type { Graph, Node, Value } from '../ir/graph';
import type { Phase, TrainingAnnotations } from '../train/builder';
import type { TrainingGraph } from '../train/trainingGraph';

export interface PruneResult {
  tg: TrainingGraph;
  /** Pruned backward/optimizer node id -> why it is dead. */
  pruned: Map<string, string>;
}

/** Why a parameter does not train, for the reasons: e.g. "features.3.conv.0 (frozen)". */
export type FrozenLabel = (param: string) => string;

const isStepNode = (phase: Phase | undefined): boolean => phase === 'backward' || phase === 'optimizer';

/** Nodes whose outputs the listed values are computed from, walking back through backward/optimizer nodes only. */
function neededNodes(full: TrainingGraph, roots: string[], producer: Map<string, Node>): Set<string> {
  const needed = new Set<string>();
  const stack: Node[] = [];
  const visitValue = (v: string): void => {
    const p = producer.get(v);
    if (p && !needed.has(p.id) && isStepNode(full.ann.phase.get(p.id))) {
      needed.add(p.id);
      stack.push(p);
    }
  };
  for (const r of roots) visitValue(r);
  while (stack.length) for (const i of stack.pop()!.inputs) if (i) visitValue(i);
  return needed;
}

/** Values each trainable parameter's gradient or update ends in (the roots of what must be kept). */
function rootsOf(full: TrainingGraph, trainable: Set<string>): string[] {
  const roots: string[] = [];
  const withOptimizer = full.updated.size > 0;
  for (const [p, g] of full.grads) {
    if (!trainable.has(p)) continue;
    roots.push(withOptimizer ? full.updated.get(p) ?? g : g);
    for (const s of full.state) if (s.param === p) roots.push(s.next);
  }
  // The shared step counter advances when any parameter updates with stateful optimizers.
  if (roots.length > 0) for (const s of full.state) if (s.param === '') roots.push(s.next);
  return roots;
}

/**
 * For every backward/optimizer node, the parameters whose gradient or update it feeds, as a bitset over
 * `params` (reverse graph order visits consumers before producers).
 */
function servedParams(full: TrainingGraph, params: string[]): Map<string, Uint32Array> {
  const words = Math.max(1, Math.ceil(params.length / 32));
  const index = new Map(params.map((p, i) => [p, i]));
  const endsIn = new Map<string, number[]>();
  const mark = (v: string | undefined, p: string): void => {
    if (!v) return;
    const list = endsIn.get(v) ?? [];
    list.push(index.get(p)!);
    endsIn.set(v, list);
  };
  for (const p of params) {
    mark(full.grads.get(p), p);
    mark(full.updated.get(p), p);
  }
  for (const s of full.state) if (s.param) mark(s.next, s.param);
  const byValue = new Map<string, Uint32Array>();
  const served = new Map<string, Uint32Array>();
  const nodes = full.graph.nodes;
  for (let k = nodes.length - 1; k >= 0; k--) {
    const n = nodes[k];
    if (!isStepNode(full.ann.phase.get(n.id))) continue;
    const bits = new Uint32Array(words);
    for (const o of n.outputs) {
      if (!o) continue;
      const b = byValue.get(o);
      if (b) for (let w = 0; w < words; w++) bits[w] |= b[w];
      for (const i of endsIn.get(o) ?? []) bits[i >>> 5] |= 1 << (i & 31);
    }
    served.set(n.id, bits);
    for (const i of n.inputs) {
      if (!i) continue;
      const b = byValue.get(i);
      if (b) for (let w = 0; w < words; w++) b[w] |= bits[w];
      else byValue.set(i, bits.slice());
    }
  }
  return served;
}

/** Reasons from bitsets of served parameters; nodes of one frozen stretch share a bitset, so texts are cached. */
function reasonMaker(params: string[], label: FrozenLabel): (bits: Uint32Array | undefined, phase: Phase) => string {
  const labelOf = params.map((p) => label(p));
  const cache = new Map<string, string>();
  return (bits, phase) => {
    const key = `${phase}:${bits ? bits.join(',') : ''}`;
    const hit = cache.get(key);
    if (hit !== undefined) return hit;
    const labels = new Set<string>();
    if (bits) {
      for (let w = 0; w < bits.length; w++) {
        for (let x = bits[w]; x !== 0; x &= x - 1) labels.add(labelOf[w * 32 + (31 - Math.clz32(x & -x))]);
      }
    }
    const list = [...labels];
    const shown = list.length > 4 ? `${list.slice(0, 2).join(', ')} … ${list.slice(-2).join(', ')} (${list.length} layers)` : list.join(', ');
    const text = list.length === 0
      ? 'no parameter gradient is computed from it'
      : phase === 'optimizer'
        ? `updates a parameter that does not train: ${shown}`
        : `only gradients of parameters that do not train need it: ${shown}`;
    cache.set(key, text);
    return text;
  };
}

export function pruneTrainingGraph(full: TrainingGraph, trainableList: string[], label: FrozenLabel): PruneResult {
  const trainable = new Set(trainableList);
  const g = full.graph;
  const producer = new Map<string, Node>();
  for (const n of g.nodes) for (const o of n.outputs) if (o) producer.set(o, n);
  const needed = neededNodes(full, rootsOf(full, trainable), producer);

  const kept = g.nodes.filter((n) => !isStepNode(full.ann.phase.get(n.id)) || needed.has(n.id));
  const pruned = new Map<string, string>();
  if (kept.length < g.nodes.length) {
    const served = servedParams(full, full.params);
    const reason = reasonMaker(full.params, label);
    for (const n of g.nodes) {
      const phase = full.ann.phase.get(n.id)!;
      if (isStepNode(phase) && !needed.has(n.id)) pruned.set(n.id, reason(served.get(n.id), phase));
    }
  }

  const grads = new Map([...full.grads].filter(([p]) => trainable.has(p)));
  const updated = new Map([...full.updated].filter(([p]) => trainable.has(p) && grads.has(p)));
  const stepAlive = updated.size > 0;
  const state = full.state.filter((s) => (s.param === '' ? stepAlive : updated.has(s.param))).map((s) => ({ ...s, dims: s.dims.slice() }));
  const stateNames = new Set(state.map((s) => s.name));
  const droppedState = new Set(full.state.filter((s) => !stateNames.has(s.name)).map((s) => s.name));

  const outputs = full.updated.size > 0
    ? [full.loss.loss, ...updated.values(), ...state.map((s) => s.next), ...full.bufferUpdates.values()]
    : [full.loss.loss, ...grads.values()];

  // A kept multi-output backward node whose other outputs fed only pruned nodes (e.g. BatchNormGrad's dX
  // under a frozen prefix) leaves them unnamed: nothing computes or stores them.
  const read = new Set<string>(outputs);
  for (const n of kept) for (const i of n.inputs) if (i) read.add(i);
  const nodes = kept.map((n): Node => {
    if (!isStepNode(full.ann.phase.get(n.id)) || n.outputs.length < 2 || n.outputs.every((o) => !o || read.has(o))) return n;
    const outputs = n.outputs.map((o) => (o && read.has(o) ? o : ''));
    // BatchNorm with running statistics reads its input only for dScale: without it, the input is not saved.
    const frozenBn = n.opType === 'BatchNormGrad' && n.attrs.training_mode?.value === 0 && outputs[1] === '';
    return { ...n, outputs, inputs: frozenBn ? n.inputs.map((v, i) => (i === 1 ? '' : v)) : n.inputs };
  });

  const produced = new Set<string>();
  for (const n of nodes) for (const o of n.outputs) if (o) produced.add(o);
  const readInFull = new Set<string>();
  for (const n of g.nodes) for (const i of n.inputs) if (i) readInFull.add(i);
  // Constants the backward made for pruned nodes go with them; initializers nothing read before stay.
  const initializers = new Map([...g.initializers].filter(([k]) => read.has(k) || !readInFull.has(k)));
  const values = new Map<string, Value>();
  for (const [k, v] of g.values) {
    const orphan = producer.has(k) ? !produced.has(k) : g.initializers.has(k) ? !initializers.has(k) : droppedState.has(k);
    if (!orphan) values.set(k, { ...v, type: v.type ? { ...v.type, shape: v.type.shape ? v.type.shape.slice() : null } : null });
  }
  const graph: Graph = { ...g, nodes, values, initializers, inputs: g.inputs.filter((i) => !droppedState.has(i)), outputs };

  const keptIds = new Set(nodes.map((n) => n.id));
  const ann: TrainingAnnotations = { phase: new Map(), backwardOf: new Map(), forwardOf: new Map() };
  for (const [id, ph] of full.ann.phase) if (keptIds.has(id)) ann.phase.set(id, ph);
  for (const [id, f] of full.ann.forwardOf) if (keptIds.has(id)) ann.forwardOf.set(id, f);
  for (const [f, list] of full.ann.backwardOf) {
    const l = list.filter((id) => keptIds.has(id));
    if (l.length) ann.backwardOf.set(f, l);
  }
  const nodeCount: Record<Phase, number> = { forward: 0, loss: 0, backward: 0, optimizer: 0 };
  for (const n of nodes) nodeCount[ann.phase.get(n.id) ?? 'forward']++;
  const issues = full.issues
    .map((i) => ({ ...i, params: i.params.filter((p) => trainable.has(p)) }))
    .filter((i) => i.params.length > 0);

  const tg: TrainingGraph = {
    graph, opsets: { ...full.opsets }, ann, params: full.params.slice(), trainable: full.params.filter((p) => trainable.has(p)),
    grads, loss: full.loss, dataInputs: full.dataInputs.slice(), updated, state, bufferUpdates: new Map(full.bufferUpdates),
    issues, nodeCount,
  };
  return { tg, pruned };
}

/** Forward (or loss) values that backward nodes of `tg` read: the activations saved for backward. */
export function savedForBackward(tg: TrainingGraph): Set<string> {
  const fromForward = new Set<string>();
  for (const n of tg.graph.nodes) if (!isStepNode(tg.ann.phase.get(n.id))) for (const o of n.outputs) if (o) fromForward.add(o);
  const saved = new Set<string>();
  for (const n of tg.graph.nodes) {
    if (tg.ann.phase.get(n.id) !== 'backward') continue;
    for (const i of n.inputs) if (i && fromForward.has(i)) saved.add(i);
  }
  return saved;
}
