// Workspace: scratch memory an operator needs only while it runs. Convolutions that are neither depthwise
// nor pointwise unfold one image of one group into columns (im2col) for the forward pass, and the same
// column buffer serves the weight gradient (im2col of x) and the input gradient (col2im of Wᵀ·dY) — the
// scheme of the C kernels (codegen/kernels/conv.ts). Sizes come from the forward convolution's shapes.

import type { Graph, Node } from '../ir/graph';
import type { TrainingAnnotations } from '../train/builder';
import type { ValueSizer } from './bytes';

const CONV_FAMILY = new Set(['Conv', 'ConvGradInput', 'ConvGradWeight']);

export function im2colBytes(graph: Graph, conv: Node, sizer: ValueSizer): number {
  const typeOf = (v: string) => graph.values.get(v)?.type ?? (graph.initializers.get(v) ? { dtype: graph.initializers.get(v)!.dtype, shape: graph.initializers.get(v)!.dims } : null);
  const x = typeOf(conv.inputs[0]), w = typeOf(conv.inputs[1]), y = typeOf(conv.outputs[0]);
  if (!x?.shape || !w?.shape || !y?.shape) return 0;
  const num = (d: number | string): number => (typeof d === 'number' ? d : 1);
  const C = num(x.shape[1]), M = num(w.shape[0]), cg = num(w.shape[1]);
  const group = cg > 0 ? Math.round(C / cg) : 1;
  if (group === C && M === group) return 0; // depthwise: direct loops
  const kernel = w.shape.slice(2).map(num);
  const inSp = x.shape.slice(2).map(num), outSp = y.shape.slice(2).map(num);
  const pointwise = kernel.every((k) => k === 1) && inSp.every((d, i) => d === outSp[i]);
  if (pointwise) return 0;
  const elem = sizer.elementsOf(conv.inputs[0]) > 0 ? sizer.bytesOf(conv.inputs[0]) / sizer.elementsOf(conv.inputs[0]) : 4;
  return cg * kernel.reduce((a, k) => a * k, 1) * outSp.reduce((a, d) => a * d, 1) * elem;
}

/** Workspace bytes of a node of the training graph (0 for most operators). */
export function workspaceBytes(graph: Graph, ann: TrainingAnnotations, n: Node, sizer: ValueSizer, byId: Map<string, Node>): number {
  if (!CONV_FAMILY.has(n.opType)) return 0;
  const conv = n.opType === 'Conv' ? n : byId.get(ann.forwardOf.get(n.id) ?? '');
  if (!conv || conv.opType !== 'Conv') return 0;
  return im2colBytes(graph, conv, sizer);
}
