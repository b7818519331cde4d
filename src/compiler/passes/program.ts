// What the passes work on: the training step as an ordered list of nodes plus what each pass did to it.
// Passes never edit the TrainingGraph; they return a new StepProgram, so any subset can run and the
// report can show what each one changes.

import type { Node } from '../ir/graph';
import type { TrainingGraph } from '../train/trainingGraph';
import type { ValueSizer } from '../plan/bytes';

export const PASS_NAMES = ['dead-code', 'fold-frozen', 'reorder-weight-grad-first', 'reorder-optimizer-updates'] as const;
export type PassName = (typeof PASS_NAMES)[number];

export interface StepProgram {
  tg: TrainingGraph;
  /** The step's nodes in run order. */
  order: Node[];
  /** Nodes evaluated once when the program is built (folded constants), in run order; not part of a step. */
  prologue: Node[];
  /** Node id -> the pass that moved it away from its place in the default schedule. */
  movedBy: Map<string, PassName>;
  /** Node id -> why a pass took it out of the step (dead code, folded). */
  removed: Map<string, string>;
  /** Sizes of values (symbolic dimensions bound by the compile options); follows `tg` when a pass replaces it. */
  sizer: ValueSizer;
}

export interface Pass {
  name: PassName;
  summary: string;
  run(p: StepProgram): StepProgram;
}

/** Values the step hands back: loss, updated parameters, next optimizer state, BatchNorm buffer updates. */
export function stepOutputs(tg: TrainingGraph): string[] {
  return tg.graph.outputs.filter((o) => o !== '');
}

/** Map from value name to the node producing it. */
export function producers(nodes: readonly Node[]): Map<string, Node> {
  const m = new Map<string, Node>();
  for (const n of nodes) for (const o of n.outputs) if (o !== '') m.set(o, n);
  return m;
}

/** Node -> nodes reading any of its outputs (a node reading two outputs appears once). */
export function consumers(nodes: readonly Node[]): Map<Node, Node[]> {
  const prod = producers(nodes);
  const m = new Map<Node, Node[]>(nodes.map((n) => [n, []]));
  for (const n of nodes) {
    const seen = new Set<Node>();
    for (const i of n.inputs) {
      const p = i === '' ? undefined : prod.get(i);
      if (p && !seen.has(p)) { seen.add(p); m.get(p)!.push(n); }
    }
  }
  return m;
}

/**
 * Reorders by sort keys: each node gets [anchor position, sequence]; nodes keep their place unless a pass
 * anchors them right after an earlier node. Throws when the result would read a value before it is made,
 * which would be a bug in a pass.
 */
export function sortByKeys(order: readonly Node[], keys: Map<Node, [number, number]>): Node[] {
  const out = order.slice().sort((a, b) => {
    const ka = keys.get(a)!, kb = keys.get(b)!;
    return ka[0] - kb[0] || ka[1] - kb[1];
  });
  assertTopological(out);
  return out;
}

type Key = [number, number];
const later = (a: Key, b: Key): boolean => a[0] > b[0] || (a[0] === b[0] && a[1] > b[1]);

/**
 * Anchors each of `movable` (in run order) right after the latest of its dependencies, keeping everything
 * else in place; `deps` lists what must run first (producers of its inputs and any extra constraint).
 * Returns the new order and the nodes that moved earlier.
 */
export function hoist(order: readonly Node[], movable: (n: Node) => boolean, deps: (n: Node) => Iterable<Node>, accept: (n: Node) => boolean = () => true): { order: Node[]; moved: Node[] } {
  const keys = new Map<Node, Key>(order.map((n, i) => [n, [i, 0]]));
  let seq = 1;
  const moved: Node[] = [];
  for (const n of order) {
    if (!movable(n)) continue;
    let anchor: Key = [-1, 0];
    for (const d of deps(n)) if (d !== n && later(keys.get(d)!, anchor)) anchor = keys.get(d)!;
    const k: Key = [anchor[0], seq++];
    if (later(keys.get(n)!, k) && k[0] < keys.get(n)![0] && accept(n)) {
      keys.set(n, k);
      moved.push(n);
    }
  }
  return { order: moved.length ? sortByKeys(order, keys) : order.slice(), moved };
}

export function assertTopological(order: readonly Node[]): void {
  const prod = producers(order);
  const pos = new Map(order.map((n, i) => [n, i]));
  order.forEach((n, i) => {
    for (const x of n.inputs) {
      const p = x === '' ? undefined : prod.get(x);
      if (p && pos.get(p)! >= i) throw new Error(`internal: schedule runs ${n.id} before ${p.id}, which makes its input ${x}`);
    }
  });
}

/** The training graph with its nodes in the program's run order (folded prologue first): what runs. */
export function scheduledGraph(p: StepProgram): import('../ir/graph').Graph {
  return { ...p.tg.graph, nodes: [...p.prologue, ...p.order] };
}
