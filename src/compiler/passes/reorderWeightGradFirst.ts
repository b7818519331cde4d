// Tiny Training Engine's GraphReorder: within backward, a layer's weight-gradient chain runs as soon as
// its inputs exist, ahead of the input-gradient chain, where that frees memory earlier. Then the same for
// any other backward chain that ends only in parameter gradients (below the last trainable weight of a
// sparse update, the input-gradient chain that only the biases still need). Each move is tried on its own and kept only when
// the step's live-byte peak does not grow and the bytes x steps held (the area under the timeline) shrink:
// hoisting a weight gradient frees the activation it read for the last time sooner, but its result then
// waits longer for the update, so the move pays only where the activation is the larger of the two.

import type { Node } from '../ir/graph';
import { producers, type Pass, type StepProgram } from './program';
import { HoistCost } from './hoistCost';

/**
 * Backward nodes on the weight side of their layer: each result is a parameter gradient or is read only
 * by optimizer updates and other weight-side nodes of the same forward operator (or of a forward operator
 * that computes from parameters alone, like the Transpose of a weight). An input gradient feeds the next
 * layer's backward, so it is not weight-side even though parameter gradients are computed from it later.
 */
export function weightSideNodes(p: StepProgram): Set<Node> {
  const g = p.tg.graph;
  const phase = (n: Node) => p.tg.ann.phase.get(n.id);
  // Forward nodes computing from parameters and constants alone.
  const paramOnly = new Set<string>();
  const paramValue = new Set<string>(g.initializers.keys());
  for (const n of g.nodes) {
    if (phase(n) !== 'forward') continue;
    if (n.inputs.every((i) => !i || paramValue.has(i))) {
      paramOnly.add(n.id);
      for (const o of n.outputs) if (o) paramValue.add(o);
    }
  }
  const fwd = (n: Node) => p.tg.ann.forwardOf.get(n.id);
  return gradientSide(p, (r, n) => {
    const f = fwd(r);
    return f === undefined || f === fwd(n) || paramOnly.has(f);
  });
}

/**
 * Backward nodes, walked from the end, whose every result is a parameter gradient or is read only by
 * optimizer updates and by nodes already in the set that `sameSide(reader, node)` accepts.
 */
function gradientSide(p: StepProgram, sameSide: (reader: Node, node: Node) => boolean): Set<Node> {
  const grads = new Set(p.tg.grads.values());
  const readers = new Map<string, Node[]>();
  for (const n of p.order) for (const i of n.inputs) if (i) (readers.get(i) ?? readers.set(i, []).get(i)!).push(n);
  const phase = (n: Node) => p.tg.ann.phase.get(n.id);
  const side = new Set<Node>();
  for (let k = p.order.length - 1; k >= 0; k--) {
    const n = p.order[k];
    if (phase(n) !== 'backward') continue;
    let used = false;
    const ok = n.outputs.every((o) => {
      if (!o) return true;
      const rs = readers.get(o) ?? [];
      if (grads.has(o) || rs.length) used = true;
      return rs.every((r) => phase(r) === 'optimizer' || (side.has(r) && sameSide(r, n)));
    });
    if (ok && used) side.add(n);
  }
  return side;
}

/**
 * Backward nodes whose results end only in parameter gradients and updates, through any chain: in a
 * sparse update the input-gradient chain below the last trainable weight is such a chain too, and moving
 * it up frees its inputs just as early. A superset of weightSideNodes.
 */
export function paramGradOnlyNodes(p: StepProgram): Set<Node> {
  return gradientSide(p, () => true);
}

export const reorderWeightGradFirst: Pass = {
  name: 'reorder-weight-grad-first',
  summary: "runs a layer's weight gradient before its input gradient where that frees memory earlier",
  run(p: StepProgram): StepProgram {
    // Weight-side nodes first (TTE's GraphReorder), then the other chains that end in parameter gradients.
    const narrow = weightSideNodes(p);
    const broad = paramGradOnlyNodes(p);
    const live = new HoistCost(p.order, p.sizer.bytesOf, new Set(p.tg.graph.outputs));
    const index = new Map(p.order.map((n, i) => [n, i]));
    const prod = producers(p.order);
    let cost = live.cost;
    const moved: Node[] = [];
    const candidates = p.order.filter((n) => broad.has(n) || narrow.has(n));
    for (const w of candidates) {
      const wi = index.get(w)!;
      const at = live.positionOf(wi);
      let anchor = -1;
      for (const i of w.inputs) {
        const d = i ? prod.get(i) : undefined;
        if (d) anchor = Math.max(anchor, live.positionOf(index.get(d)!));
      }
      if (anchor + 1 >= at) continue;
      const c = live.trial(wi, anchor + 1);
      if (c.peak < cost.peak || (c.peak === cost.peak && c.area < cost.area)) {
        live.accept();
        cost = c;
        moved.push(w);
      }
    }
    if (!moved.length) return p;
    const newOrder = Array.from(live.order, (i) => p.order[i]);
    const movedBy = new Map(p.movedBy);
    for (const n of moved) movedBy.set(n.id, 'reorder-weight-grad-first');
    return { ...p, order: newOrder, movedBy };
  },
};
