// The optimizer updates (OPS.md: SGD, Adam) in standard ONNX, with torch.optim's semantics as the
// reference kernels (runtime/grad/optimizer.ts) have them:
//   SGD   d = g + wd·p;  buf' = step == 0 ? d : momentum·buf + (1 − dampening)·d;
//         p' = p − lr·(nesterov ? d + momentum·buf' : buf')          (momentum 0: p' = p − lr·d, no state)
//   Adam  t = step + 1;  AdamW: p ← p·(1 − lr·wd), Adam: g ← g + wd·p;  m' = β1·m + (1 − β1)·g;
//         v' = β2·v + (1 − β2)·g²;  p' = p − (lr / (1 − β1ᵗ))·m' / (√v' / √(1 − β2ᵗ) + ε)
// Tensors stay float32; the bias-correction scalars are computed in float64 from the int64 step, as the
// reference does, since 1 − β2ᵗ with β2 rounded to float32 would lose five digits at t = 1.
// A `channel_axis` update (sparse `channels: r`): g and the state cover the first k entries of p along
// the axis, so p is cut there with Slice, the first part updated and Concat puts the rest back unchanged.

import type { Node } from '../../ir/graph';
import { attrFloat, attrInt } from '../../ir/graph';
import { ModelError } from '../../onnx/errors';
import { A, ONNX_DOUBLE, ONNX_FLOAT, type Emitter } from './emitter';

interface Sliced {
  /** The part of p the update covers. */
  part: string;
  /** p' from the updated part. */
  join(updated: string, out: string): void;
}

function sliceParam(e: Emitter, n: Node, p: string, g: string): Sliced {
  const pd = e.dims(p), gd = e.dims(g);
  if (pd.length === gd.length && pd.every((d, i) => d === gd[i])) return { part: p, join: (u, out) => void e.one('Identity', [u], {}, out) };
  const a0 = attrInt(n, 'channel_axis', 0), a = a0 < 0 ? a0 + pd.length : a0;
  const fits = gd.length === pd.length && gd.every((d, i) => (i === a ? d <= pd[i] : d === pd[i]));
  if (!fits) throw new ModelError(`${n.id}: the gradient [${gd}] of "${p}" is neither its shape [${pd}] nor its first channels along axis ${a}; the step cannot be exported`);
  const k = gd[a];
  return {
    part: e.slice(p, [0], [k], [a]),
    join: (u, out) => void e.one('Concat', [u, e.slice(p, [k], [pd[a]], [a])], { axis: A.int(a) }, out),
  };
}

/** float32 scalar from a float64 one. */
const toF32 = (e: Emitter, x: string): string => e.cast(x, ONNX_FLOAT);

export function lowerSgd(e: Emitter, n: Node): void {
  const [p, g, buf, step] = n.inputs;
  const lr = attrFloat(n, 'lr', 0.01), momentum = attrFloat(n, 'momentum', 0);
  const dampening = attrFloat(n, 'dampening', 0), wd = attrFloat(n, 'weight_decay', 0);
  const nesterov = attrInt(n, 'nesterov', 0) !== 0;
  const s = sliceParam(e, n, p, g);
  const d = wd !== 0 ? e.one('Add', [g, e.one('Mul', [s.part, e.f32(wd)])]) : g;
  if (momentum === 0) {
    s.join(e.one('Sub', [s.part, e.one('Mul', [d, e.f32(lr)])]), n.outputs[0]);
    return;
  }
  if (!buf) throw new ModelError(`${n.id}: SGD with momentum ${momentum} has no momentum buffer input`);
  const later = e.one('Add', [e.one('Mul', [buf, e.f32(momentum)]), e.one('Mul', [d, e.f32(1 - dampening)])]);
  // torch starts the buffer at the first gradient (no dampening on step 0).
  const b = step ? e.one('Where', [e.one('Equal', [step, e.i64([0], true)]), d, later]) : later;
  if (n.outputs[1]) e.one('Identity', [b], {}, n.outputs[1]);
  const upd = nesterov ? e.one('Add', [d, e.one('Mul', [b, e.f32(momentum)])]) : b;
  s.join(e.one('Sub', [s.part, e.one('Mul', [upd, e.f32(lr)])]), n.outputs[0]);
}

export function lowerAdam(e: Emitter, n: Node): void {
  const [p, g, m, v, step] = n.inputs;
  if (!step) throw new ModelError(`${n.id}: Adam needs the step count input (optimizer.step)`);
  const lr = attrFloat(n, 'lr', 1e-3), b1 = attrFloat(n, 'beta1', 0.9), b2 = attrFloat(n, 'beta2', 0.999);
  const eps = attrFloat(n, 'epsilon', 1e-8), wd = attrFloat(n, 'weight_decay', 0);
  const decoupled = attrInt(n, 'decoupled', 0) !== 0;
  const s = sliceParam(e, n, p, g);
  // Bias corrections from t = step + 1, in float64.
  const t = e.one('Add', [e.cast(step, ONNX_DOUBLE), e.f64(1)]);
  const bc1 = e.one('Sub', [e.f64(1), e.one('Pow', [e.f64(b1), t])]);
  const bc2 = e.one('Sub', [e.f64(1), e.one('Pow', [e.f64(b2), t])]);
  const stepSize = toF32(e, e.one('Div', [e.f64(lr), bc1]));
  const bc2Sqrt = toF32(e, e.one('Sqrt', [bc2]));
  const pi = decoupled && wd !== 0 ? e.one('Mul', [s.part, e.f32(1 - lr * wd)]) : s.part;
  const gi = !decoupled && wd !== 0 ? e.one('Add', [g, e.one('Mul', [s.part, e.f32(wd)])]) : g;
  const mNext = e.one('Add', [e.one('Mul', [m, e.f32(b1)]), e.one('Mul', [gi, e.f32(1 - b1)])], {}, n.outputs[1] || undefined);
  const vNext = e.one('Add', [e.one('Mul', [v, e.f32(b2)]), e.one('Mul', [e.one('Mul', [gi, gi]), e.f32(1 - b2)])], {}, n.outputs[2] || undefined);
  const denom = e.one('Add', [e.one('Div', [e.one('Sqrt', [vNext]), bc2Sqrt]), e.f32(eps)]);
  s.join(e.one('Sub', [pi, e.one('Div', [e.one('Mul', [stepSize, mNext]), denom])]), n.outputs[0]);
}
