// FLOPs of a training step's nodes for the sparse report: the cost model's figures (cost/flops.ts), with
// what a sparse step changes about them: ConvGradWeight with `channels` k computes k of the forward
// convolution's C_out channels, an optimizer update under `channel_axis` touches only its gradient's
// elements, and MatMulT (autodiff's transposing MatMul) costs 2·M·N·K from its own shapes (a sliced dY
// makes it smaller than the forward MatMul it differentiates).

import { attrInt, type Node } from '../ir/graph';
import { graphTypeOf, opCost, type TypeOf } from '../cost/flops';
import type { Phase } from '../train/builder';
import type { TrainingGraph } from '../train/trainingGraph';

const prod = (xs: readonly (number | string)[]): number => xs.reduce<number>((p, d) => p * (typeof d === 'number' ? d : 1), 1);

function dims(typeOf: TypeOf, v: string | undefined): (number | string)[] | null {
  return v ? typeOf(v)?.shape ?? null : null;
}

export function nodeFlops(node: Node, typeOf: TypeOf, forward?: Node): number {
  const c = opCost(node, typeOf, { forward });
  if (node.opType === 'ConvGradWeight' && node.attrs.channels) {
    // The cost model prices it as its forward convolution (all C_out channels); k of them are computed.
    const w = dims(typeOf, node.inputs[2]);
    const fwd = forward ? opCost(forward, typeOf).flops : NaN;
    if (w && typeof w[0] === 'number' && c.flops === fwd) return (c.flops * attrInt(node, 'channels', w[0])) / w[0];
    return c.flops;
  }
  if (node.opType === 'MatMulT' && node.domain === 'pockengine') {
    // From its own operand shapes, not its forward MatMul's: a sliced dY makes it smaller.
    const a = dims(typeOf, node.inputs[0]);
    const y = dims(typeOf, node.outputs[0]);
    if (!a || !y) return c.flops;
    const K = attrInt(node, 'transA', 0) ? a[a.length - 2] : a[a.length - 1];
    return 2 * prod(y) * (typeof K === 'number' ? K : 1);
  }
  if ((node.opType === 'SGD' || node.opType === 'Adam') && node.attrs.channel_axis) {
    const p = dims(typeOf, node.inputs[0]), g = dims(typeOf, node.inputs[1]);
    if (p && g && prod(p) > 0) return (c.flops * prod(g)) / prod(p);
  }
  return c.flops;
}

/**
 * FLOPs per node id of a training graph. `reuse`: the figures of another step whose node objects this
 * one shares (a pruned step and its full step): a shared node keeps its figure, only changed ones are costed.
 */
export function stepFlops(tg: TrainingGraph, reuse?: { graph: TrainingGraph; flops: Map<string, number> }): Map<string, number> {
  const typeOf = graphTypeOf(tg.graph);
  const byId = new Map(tg.graph.nodes.map((n) => [n.id, n]));
  const same = reuse ? new Set(reuse.graph.graph.nodes) : undefined;
  const out = new Map<string, number>();
  for (const n of tg.graph.nodes) {
    const known = same?.has(n) ? reuse!.flops.get(n.id) : undefined;
    if (known !== undefined) {
      out.set(n.id, known);
      continue;
    }
    const f = tg.ann.forwardOf.get(n.id);
    out.set(n.id, nodeFlops(n, typeOf, f ? byId.get(f) : undefined));
  }
  return out;
}

/** Node count and FLOPs per phase (the loss counts with the forward). */
export function phaseTotals(tg: TrainingGraph, flops = stepFlops(tg)): Record<'forward' | 'backward' | 'optimizer', { nodes: number; flops: number }> {
  const t = { forward: { nodes: 0, flops: 0 }, backward: { nodes: 0, flops: 0 }, optimizer: { nodes: 0, flops: 0 } };
  for (const n of tg.graph.nodes) {
    const ph: Phase = tg.ann.phase.get(n.id) ?? 'forward';
    const bucket = ph === 'loss' ? t.forward : t[ph];
    bucket.nodes++;
    bucket.flops += flops.get(n.id) ?? 0;
  }
  return t;
}
