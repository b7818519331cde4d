// Optimizer update kernels with torch.optim's semantics (single-tensor, non-foreach path). Inputs are
// never written: each returns new tensors, so the caller decides when the step takes effect.
//   SGD(p, g[, momentum_buffer, step]) -> p'[, buffer']     Adam(p, g, exp_avg, exp_avg_sq, step) -> p', m', v'
// With `channel_axis` a, g and the state may hold only the first k entries of p along a (a `channels: r`
// sparse update): those entries update, the rest of p is copied unchanged, the state keeps g's shape.

import { attrFloat, attrInt } from '../../ir/graph';
import type { Node } from '../../ir/graph';
import type { Tensor } from '../../ir/tensor';
import { f32, floatTensor, register, sameDims } from './common';

/** Index into p of each element of g, when g covers the first channels of p along `channel_axis`; null when g is p-shaped. */
function sliceIndex(pT: Tensor, gT: Tensor, node: Node): Int32Array | null {
  if (sameDims(pT.dims, gT.dims)) return null;
  const rank = pT.dims.length;
  const a0 = attrInt(node, 'channel_axis', 0);
  const a = a0 < 0 ? a0 + rank : a0;
  const ok = gT.dims.length === rank && gT.dims.every((d, i) => (i === a ? d <= pT.dims[i] : d === pT.dims[i]));
  if (!ok) throw new Error(`gradient [${gT.dims}] is neither the parameter's shape [${pT.dims}] nor its first channels along axis ${a}`);
  const inner = pT.dims.slice(a + 1).reduce((x, d) => x * d, 1);
  const k = gT.dims[a], c = pT.dims[a];
  const n = gT.dims.reduce((x, d) => x * d, 1);
  const idx = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const r = i % inner, q = Math.floor(i / inner);
    idx[i] = (Math.floor(q / k) * c + (q % k)) * inner + r;
  }
  return idx;
}

register('SGD', (inputs, node) => {
  const pT = inputs[0]!;
  const p = f32(pT, 'param'), g = f32(inputs[1], 'grad');
  const lr = attrFloat(node, 'lr', 0.01), momentum = attrFloat(node, 'momentum', 0);
  const dampening = attrFloat(node, 'dampening', 0), wd = attrFloat(node, 'weight_decay', 0);
  const nesterov = attrInt(node, 'nesterov', 0) !== 0;
  const idx = sliceIndex(pT, inputs[1]!, node);
  const out = Float32Array.from(p);
  const n = g.length;
  if (momentum === 0) {
    for (let e = 0; e < n; e++) {
      const i = idx ? idx[e] : e;
      out[i] = p[i] - lr * (g[e] + wd * p[i]);
    }
    return [floatTensor(pT.dims, out)];
  }
  const buf = f32(inputs[2], 'momentum_buffer');
  // torch initializes the buffer with the first gradient (no dampening on the first step).
  const first = inputs[3] ? Number(inputs[3].data[0] as number | bigint) === 0 : false;
  const nb = new Float32Array(n);
  for (let e = 0; e < n; e++) {
    const i = idx ? idx[e] : e;
    const d = g[e] + wd * p[i];
    const b = first ? d : momentum * buf[e] + (1 - dampening) * d;
    nb[e] = b;
    out[i] = p[i] - lr * (nesterov ? d + momentum * b : b);
  }
  return [floatTensor(pT.dims, out), floatTensor(inputs[1]!.dims, nb)];
});

register('Adam', (inputs, node) => {
  const pT = inputs[0]!;
  const p = f32(pT, 'param'), g = f32(inputs[1], 'grad'), m = f32(inputs[2], 'exp_avg'), v = f32(inputs[3], 'exp_avg_sq');
  const t = Number(inputs[4]!.data[0] as number | bigint) + 1;
  const lr = attrFloat(node, 'lr', 1e-3), b1 = attrFloat(node, 'beta1', 0.9), b2 = attrFloat(node, 'beta2', 0.999);
  const eps = attrFloat(node, 'epsilon', 1e-8), wd = attrFloat(node, 'weight_decay', 0);
  const decoupled = attrInt(node, 'decoupled', 0) !== 0;
  const bc1 = 1 - Math.pow(b1, t), bc2 = 1 - Math.pow(b2, t);
  const stepSize = lr / bc1, bc2Sqrt = Math.sqrt(bc2);
  const idx = sliceIndex(pT, inputs[1]!, node);
  const n = g.length;
  const np = Float32Array.from(p), nm = new Float32Array(n), nv = new Float32Array(n);
  for (let e = 0; e < n; e++) {
    const i = idx ? idx[e] : e;
    let pi = p[i];
    let gi = g[e];
    if (decoupled) pi *= 1 - lr * wd;
    else gi += wd * pi;
    const mi = b1 * m[e] + (1 - b1) * gi;
    const vi = b2 * v[e] + (1 - b2) * gi * gi;
    nm[e] = mi;
    nv[e] = vi;
    np[i] = pi - (stepSize * mi) / (Math.sqrt(vi) / bc2Sqrt + eps);
  }
  const gDims = inputs[1]!.dims;
  return [floatTensor(pT.dims, np), floatTensor(gDims, nm), floatTensor(gDims, nv)];
});
