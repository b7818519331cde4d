// LayerNormalization's and InstanceNormalization's gradients in standard ONNX. Like the reference runtime
// (runtime/grad/norm.ts) the statistics are recomputed from the saved X and everything runs in float64,
// rounded once per output, so the two agree to float32 rounding:
//   x̂ = (x − mean)·invstd,  g = dY·scale,
//   dX = invstd/m · (m·g − Σg − x̂·Σ(g·x̂))   (sums over the m normalized elements of a group)
//   dScale = Σ dY·x̂, dBias = Σ dY over everything the parameter is shared across.
// LayerNormGrad normalizes over axis..end and its scale broadcasts numpy-style onto X[axis:];
// InstanceNormGrad works on X seen as [N, C, S] (S = the product of the spatial dims, 1 for rank 2).

import type { Node } from '../../ir/graph';
import { attrFloat, attrInt } from '../../ir/graph';
import { ModelError } from '../../onnx/errors';
import { numel, ONNX_DOUBLE, ONNX_FLOAT, type Emitter } from './emitter';

interface Group {
  dy: string;
  x: string;
  /** Scale in float64, broadcastable onto x. */
  scale: string;
  /** Axes of one normalized group and its element count. */
  axes: number[];
  m: number;
  eps: number;
}

/** dX (float64) and x̂ of one normalization. */
function normGrad(e: Emitter, g: Group): { dx: string; xhat: string } {
  const mean = e.reduceMean(g.x, g.axes);
  const xc = e.one('Sub', [g.x, mean]);
  const variance = e.reduceMean(e.one('Mul', [xc, xc]), g.axes);
  const inv = e.one('Div', [e.f64(1), e.one('Sqrt', [e.one('Add', [variance, e.f64(g.eps)])])]);
  const xhat = e.one('Mul', [xc, inv]);
  const gs = e.one('Mul', [g.dy, g.scale]);
  const sumG = e.reduceSum(gs, g.axes, true);
  const sumGX = e.reduceSum(e.one('Mul', [gs, xhat]), g.axes, true);
  const inner = e.one('Sub', [e.one('Sub', [e.one('Mul', [gs, e.f64(g.m)]), sumG]), e.one('Mul', [xhat, sumGX])]);
  return { dx: e.one('Mul', [e.one('Div', [inv, e.f64(g.m)]), inner]), xhat };
}

/** Axes of a rank-`rank` tensor over which a parameter of dims `p` (right-aligned, numpy broadcasting) is shared. */
function sharedAxes(xd: number[], p: number[]): number[] {
  const lead = xd.length - p.length;
  return xd.map((_, i) => i).filter((i) => i < lead || (p[i - lead] === 1 && xd[i] !== 1));
}

export function lowerLayerNormGrad(e: Emitter, n: Node): void {
  const [dyV, xV, scaleV] = n.inputs, o = n.outputs;
  const xd = e.dims(xV), sd = e.dims(scaleV);
  const r = xd.length, a0 = attrInt(n, 'axis', -1), axis = a0 < 0 ? a0 + r : a0;
  if (axis < 0 || axis >= r) throw new ModelError(`${n.id}: LayerNormGrad's axis ${a0} is outside X's rank ${r}`);
  if (sd.length > r - axis) throw new ModelError(`${n.id}: LayerNormGrad's scale [${sd}] has more dims than X[${axis}:] = [${xd.slice(axis)}]`);
  const axes = xd.slice(axis).map((_, i) => axis + i);
  const dy = e.cast(dyV, ONNX_DOUBLE), x = e.cast(xV, ONNX_DOUBLE);
  const { dx, xhat } = normGrad(e, { dy, x, scale: e.cast(scaleV, ONNX_DOUBLE), axes, m: numel(xd.slice(axis)), eps: attrFloat(n, 'epsilon', 1e-5) });
  if (o[0]) e.cast(dx, ONNX_FLOAT, o[0]);
  const shared = sharedAxes(xd, sd);
  if (o[1]) e.reshape(e.cast(e.reduceSum(e.one('Mul', [dy, xhat]), shared, true), ONNX_FLOAT), sd, o[1]);
  if (o[2]) e.reshape(e.cast(e.reduceSum(dy, shared, true), ONNX_FLOAT), sd, o[2]);
}

export function lowerInstanceNormGrad(e: Emitter, n: Node): void {
  const [dyV, xV, scaleV] = n.inputs, o = n.outputs;
  const xd = e.dims(xV);
  if (xd.length < 2) throw new ModelError(`${n.id}: InstanceNormGrad needs X of rank 2 or more ([N, C, ...]), got [${xd}]`);
  const [N, C] = xd, S = numel(xd.slice(2));
  const flat = [N, C, S];
  const dy = e.cast(e.reshape(dyV, flat), ONNX_DOUBLE), x = e.cast(e.reshape(xV, flat), ONNX_DOUBLE);
  const scale = e.cast(e.reshape(scaleV, [1, C, 1]), ONNX_DOUBLE);
  const { dx, xhat } = normGrad(e, { dy, x, scale, axes: [2], m: S, eps: attrFloat(n, 'epsilon', 1e-5) });
  if (o[0]) e.reshape(e.cast(dx, ONNX_FLOAT), xd, o[0]);
  if (o[1]) e.cast(e.reduceSum(e.one('Mul', [dy, xhat]), [0, 2], false), ONNX_FLOAT, o[1]);
  if (o[2]) e.cast(e.reduceSum(dy, [0, 2], false), ONNX_FLOAT, o[2]);
}
