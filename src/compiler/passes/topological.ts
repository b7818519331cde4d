// The default schedule: the training graph's own node order (forward, loss, backward in reverse layer
// order, then every optimizer update) when it is a valid order, else a topological sort that stays as
// close to it as it can (Kahn's algorithm, ready nodes taken by their index in the graph).

import type { Node } from '../ir/graph';
import type { TrainingGraph } from '../train/trainingGraph';
import type { ValueSizer } from '../plan/bytes';
import { producers, type StepProgram } from './program';

export function topologicalOrder(nodes: readonly Node[]): Node[] {
  const prod = producers(nodes);
  const index = new Map(nodes.map((n, i) => [n, i]));
  if (nodes.every((n, i) => n.inputs.every((x) => { const p = x === '' ? undefined : prod.get(x); return !p || index.get(p)! < i; }))) return nodes.slice();
  const waiting = new Map<Node, number>();
  const readers = new Map<Node, Node[]>(nodes.map((n) => [n, []]));
  for (const n of nodes) {
    const deps = new Set(n.inputs.map((x) => (x === '' ? undefined : prod.get(x))).filter((p): p is Node => !!p && p !== n));
    waiting.set(n, deps.size);
    for (const d of deps) readers.get(d)!.push(n);
  }
  // A binary heap of ready nodes keyed by graph index.
  const heap: Node[] = [];
  const less = (a: Node, b: Node): boolean => index.get(a)! < index.get(b)!;
  const push = (n: Node): void => {
    heap.push(n);
    for (let i = heap.length - 1; i > 0;) {
      const p = (i - 1) >> 1;
      if (!less(heap[i], heap[p])) break;
      [heap[i], heap[p]] = [heap[p], heap[i]];
      i = p;
    }
  };
  const pop = (): Node => {
    const top = heap[0];
    const last = heap.pop()!;
    if (heap.length) {
      heap[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < heap.length && less(heap[l], heap[m])) m = l;
        if (r < heap.length && less(heap[r], heap[m])) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m], heap[i]];
        i = m;
      }
    }
    return top;
  };
  for (const n of nodes) if (waiting.get(n) === 0) push(n);
  const out: Node[] = [];
  while (heap.length) {
    const n = pop();
    out.push(n);
    for (const r of readers.get(n)!) {
      const w = waiting.get(r)! - 1;
      waiting.set(r, w);
      if (w === 0) push(r);
    }
  }
  if (out.length !== nodes.length) throw new Error('internal: the training graph has a cycle');
  return out;
}

export function defaultProgram(tg: TrainingGraph, sizer: ValueSizer): StepProgram {
  return { tg, order: topologicalOrder(tg.graph.nodes), prologue: [], movedBy: new Map(), removed: new Map(), sizer };
}
