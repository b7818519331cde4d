// `channels: r` on a weight: only its first k = ceil(r * C_out) output channels train, as the Tiny Training
// Engine's sparse update does. The weight-gradient node then computes only those channels, so the
// gradient tensor has k channels and its FLOPs are k / C_out of the full ones, and the optimizer updates
// that slice of the parameter in place (the rest stays as it is).
//
// Output-channel axis of a weight:
//   Conv / ConvTranspose weight [C_out, C_in/g, k...]  -> dim 0   (ConvGradWeight's `channels` attribute)
//   Gemm B with transB = 1 [N, K]                      -> dim 0   (Slice of dY's columns, then the Gemm)
//   Gemm B with transB = 0 [K, N]                      -> dim 1   (same)
//   MatMul x @ W, W [..., K, N]                        -> last dim (dim 1 of a 2-D W; Slice of dY, then MatMulT)
//   MatMul x @ Transpose(W), W [N, K] (nn.Linear)      -> dim 0   (same, then the Transpose back)
// Anything else (a weight read by several operators, or through a Transpose) computes its whole gradient
// and slices it: still only k channels update and the gradient tensor shrinks from there on.

import { attrInt, type Graph, type Node } from '../ir/graph';
import { attrs, GraphEditor } from '../train/builder';
import type { TrainingGraph } from '../train/trainingGraph';
import { PE } from '../train/rules/types';

export interface ChannelSlice {
  param: string;
  /** Output-channel axis of the parameter. */
  axis: number;
  /** Channels that train (the first k). */
  k: number;
  /** Channels the parameter has. */
  of: number;
  /** The weight-gradient node computes only k channels (false: the whole gradient is computed, then sliced). */
  computedSliced: boolean;
}

/** Output-channel axis of a weight, from the operator that reads it (see the table above). */
export function channelAxis(graph: Graph, param: string): number {
  const rank = graph.initializers.get(param)?.dims.length ?? 2;
  for (const n of graph.nodes) {
    const slot = n.inputs.indexOf(param);
    if (slot < 0) continue;
    if (n.opType === 'Gemm' && slot === 1) return attrInt(n, 'transB', 0) ? 0 : 1;
    if (n.opType === 'MatMul' && slot === 1) return rank - 1;
    if (n.opType === 'ConvTranspose' && slot === 1) return 1;
    if (n.opType === 'Conv') return 0;
    if (n.opType === 'Transpose' && rank === 2 && graph.nodes.some((m) => m.opType === 'MatMul' && m.inputs[1] === n.outputs[0])) return transposePerm(n)[1];
  }
  return 0;
}

function transposePerm(n: Node): number[] {
  const p = n.attrs.perm;
  return p && p.type === 'ints' ? p.value : [1, 0];
}

export function channelCount(r: number, c: number): number {
  return Math.min(c, Math.max(1, Math.ceil(r * c - 1e-9)));
}

/** Rewrites `tg` (already pruned; its nodes are shared with `full`, so changed nodes are replaced by copies). */
export function sliceChannels(tg: TrainingGraph, channels: Map<string, number>, opset: number): ChannelSlice[] {
  const g = tg.graph;
  const ed = new GraphEditor(g, tg.ann);
  const producer = new Map<string, Node>();
  for (const n of g.nodes) for (const o of n.outputs) if (o) producer.set(o, n);
  const byId = new Map(g.nodes.map((n) => [n.id, n]));
  const replace = (n: Node, changes: Partial<Node>): Node => {
    const copy: Node = { ...n, ...changes };
    g.nodes[g.nodes.indexOf(n)] = copy;
    byId.set(n.id, copy);
    for (const o of copy.outputs) if (o) producer.set(o, copy);
    return copy;
  };
  const setShape = (v: string, shape: number[]): void => {
    const t = g.values.get(v)!;
    t.type = { dtype: t.type?.dtype ?? 'float32', shape };
  };
  const dimsOf = (v: string): number[] | null => ed.staticDims(v);
  /** Slice(v)[..., :k, ...] along `axis`, placed just before `before` (at the end when null). */
  const sliceBefore = (v: string, axis: number, k: number, before: Node | null, layerOf: Node, forward: string | undefined): string => {
    const at = { layer: layerOf.layer, phase: 'backward' as const, forward };
    const base = `${layerOf.id}/channels`;
    const dims = dimsOf(v);
    const out = opset >= 10
      ? ed.add({ op: 'Slice', inputs: [v, ed.constInt64(`${base}/starts`, [0]), ed.constInt64(`${base}/ends`, [k]), ed.constInt64(`${base}/axes`, [axis])], id: base, ...at })[0]
      : ed.add({ op: 'Slice', inputs: [v], attrs: { starts: attrs.ints([0]), ends: attrs.ints([k]), axes: attrs.ints([axis]) }, id: base, ...at })[0];
    if (dims) {
      const a = axis < 0 ? dims.length + axis : axis;
      setShape(out, dims.map((d, i) => (i === a ? k : d)));
    }
    if (before) {
      const node = g.nodes.pop()!;
      g.nodes.splice(g.nodes.indexOf(byId.get(before.id)!), 0, node);
    }
    return out;
  };

  const done: ChannelSlice[] = [];
  for (const [p, r] of channels) {
    const grad = tg.grads.get(p);
    if (!grad) continue;
    const pDims = g.initializers.get(p)!.dims;
    const axis = channelAxis(g, p);
    const of = pDims[axis];
    const k = channelCount(r, of);
    const slicedDims = pDims.map((d, i) => (i === axis ? k : d));
    if (k === of) continue;
    const P = producer.get(grad)!;
    const fwd = tg.ann.forwardOf.get(P.id);
    const F = fwd ? byId.get(fwd) : undefined;
    let computedSliced = false;
    let newGrad = grad;
    if (P.domain === PE && P.opType === 'ConvGradWeight' && P.inputs[2] === p && axis === 0) {
      replace(P, { attrs: { ...P.attrs, channels: attrs.int(k) } });
      computedSliced = true;
    } else if (P.opType === 'Gemm' && P.domain === '' && F?.opType === 'Gemm' && F.inputs[1] === p && F.inputs[0] !== p) {
      const slot = P.inputs.findIndex((v) => v !== F.inputs[0]);
      const gs = sliceBefore(P.inputs[slot], 1, k, P, P, fwd);
      replace(P, { inputs: P.inputs.map((v, i) => (i === slot ? gs : v)) });
      computedSliced = true;
    } else {
      // MatMul(x, W) directly, or MatMul(x, Transpose(W)) with the Transpose's gradient on top.
      const viaT = P.opType === 'Transpose' && F?.opType === 'Transpose' && F.inputs[0] === p && axis === transposePerm(F)[1] && pDims.length === 2;
      const top = viaT ? producer.get(P.inputs[0]) : P;
      const topF = top ? byId.get(tg.ann.forwardOf.get(top.id) ?? '') : undefined;
      const w = viaT ? F!.outputs[0] : p;
      const wDims = viaT ? [slicedDims[1], slicedDims[0]] : slicedDims;
      if (top && topF?.opType === 'MatMul' && topF.inputs[1] === w && topF.inputs[0] !== w) {
        const mm = top.opType === 'ReduceToShape' ? producer.get(top.inputs[0]) : top;
        if (mm && mm.opType === 'MatMulT' && mm.inputs[0] === topF.inputs[0] && attrInt(mm, 'transA', 0) === 1) {
          const gs = sliceBefore(mm.inputs[1], -1, k, mm, mm, topF.id);
          const mmNew = replace(mm, { inputs: [mm.inputs[0], gs] });
          const mmDims = dimsOf(mmNew.outputs[0]);
          if (mmDims) setShape(mmNew.outputs[0], [...mmDims.slice(0, -1), k]);
          if (top !== mm) {
            replace(top, { inputs: [top.inputs[0], ed.constInt64(`${top.id}/channels/shape`, wDims)] });
            setShape(top.outputs[0], wDims);
          }
          // Every node whose operand shapes changed is a copy, so costs cached per node object stay valid.
          if (viaT) replace(P, {});
          computedSliced = true;
        }
      }
    }
    if (!computedSliced) newGrad = sliceBefore(grad, axis, k, g.nodes.find((n) => n.inputs.includes(grad)) ?? null, P, fwd);
    setShape(newGrad, slicedDims);
    if (newGrad !== grad) {
      tg.grads.set(p, newGrad);
      g.outputs = g.outputs.map((o) => (o === grad ? newGrad : o));
    }
    // The optimizer updates only the first k channels along `axis`; its state has the slice's shape.
    const upd = tg.updated.get(p);
    if (upd) {
      const O = producer.get(upd)!;
      replace(O, { inputs: O.inputs.map((v) => (v === grad ? newGrad : v)), attrs: { ...O.attrs, channel_axis: attrs.int(axis) } });
      for (const s of tg.state) {
        if (s.param !== p) continue;
        s.dims = slicedDims.slice();
        setShape(s.name, slicedDims);
        setShape(s.next, slicedDims);
      }
    }
    done.push({ param: p, axis, k, of, computedSliced });
  }
  return done;
}
