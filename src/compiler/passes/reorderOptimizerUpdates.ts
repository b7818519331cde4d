// PockEngine's in-place update: each parameter's optimizer update runs as soon as its gradient is
// complete, so the gradient dies at once instead of waiting for the end of backward. The update writes
// the parameter (and its optimizer state) in place, so it must also wait for every other reader of the
// old values — e.g. the input-gradient operator that still multiplies by the weight. With that wait the
// step computes exactly what the unordered step computes.

import type { Node } from '../ir/graph';
import { producers, hoist, type Pass, type StepProgram } from './program';

/** Values an optimizer node overwrites in place: parameter, state (and BatchNorm buffers) it makes anew. */
export function inPlacePairs(p: StepProgram): Map<string, string> {
  const next = new Map<string, string>();
  for (const [param, v] of p.tg.updated) next.set(v, param);
  for (const s of p.tg.state) next.set(s.next, s.name);
  for (const [b, v] of p.tg.bufferUpdates) next.set(v, b);
  return next;
}

export const reorderOptimizerUpdates: Pass = {
  name: 'reorder-optimizer-updates',
  summary: "applies each parameter's update as soon as its gradient is complete, then frees the gradient",
  run(p: StepProgram): StepProgram {
    const prod = producers(p.order);
    const readers = new Map<string, Node[]>();
    for (const n of p.order) for (const i of n.inputs) if (i) (readers.get(i) ?? readers.set(i, []).get(i)!).push(n);
    const overwrites = inPlacePairs(p);
    const isUpdate = (n: Node): boolean => p.tg.ann.phase.get(n.id) === 'optimizer';
    const deps = function* (n: Node): Iterable<Node> {
      for (const i of n.inputs) { const d = i ? prod.get(i) : undefined; if (d) yield d; }
      for (const o of n.outputs) {
        const old = overwrites.get(o);
        if (old) yield* readers.get(old) ?? [];
      }
    };
    const { order, moved } = hoist(p.order, isUpdate, deps);
    if (!moved.length) return p;
    const movedBy = new Map(p.movedBy);
    for (const n of moved) movedBy.set(n.id, 'reorder-optimizer-updates');
    return { ...p, order, movedBy };
  },
};
