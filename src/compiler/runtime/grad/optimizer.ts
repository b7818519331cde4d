// Optimizer update kernels with torch.optim's semantics (single-tensor, non-foreach path). Inputs are
// never written: each returns new tensors, so the caller decides when the step takes effect.
//   SGD(p, g[, momentum_buffer, step]) -> p'[, buffer']     Adam(p, g, exp_avg, exp_avg_sq, step) -> p', m', v'

import { attrFloat, attrInt } from '../../ir/graph';
import { f32, floatTensor, register } from './common';

register('SGD', (inputs, node) => {
  const pT = inputs[0]!;
  const p = f32(pT, 'param'), g = f32(inputs[1], 'grad');
  const lr = attrFloat(node, 'lr', 0.01), momentum = attrFloat(node, 'momentum', 0);
  const dampening = attrFloat(node, 'dampening', 0), wd = attrFloat(node, 'weight_decay', 0);
  const nesterov = attrInt(node, 'nesterov', 0) !== 0;
  const out = new Float32Array(p.length);
  if (momentum === 0) {
    for (let i = 0; i < p.length; i++) out[i] = p[i] - lr * (g[i] + wd * p[i]);
    return [floatTensor(pT.dims, out)];
  }
  const buf = f32(inputs[2], 'momentum_buffer');
  // torch initializes the buffer with the first gradient (no dampening on the first step).
  const first = inputs[3] ? Number(inputs[3].data[0] as number | bigint) === 0 : false;
  const nb = new Float32Array(p.length);
  for (let i = 0; i < p.length; i++) {
    const d = g[i] + wd * p[i];
    const b = first ? d : momentum * buf[i] + (1 - dampening) * d;
    nb[i] = b;
    out[i] = p[i] - lr * (nesterov ? d + momentum * b : b);
  }
  return [floatTensor(pT.dims, out), floatTensor(pT.dims, nb)];
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
  const np = new Float32Array(p.length), nm = new Float32Array(p.length), nv = new Float32Array(p.length);
  for (let i = 0; i < p.length; i++) {
    let pi = p[i];
    let gi = g[i];
    if (decoupled) pi *= 1 - lr * wd;
    else gi += wd * pi;
    const mi = b1 * m[i] + (1 - b1) * gi;
    const vi = b2 * v[i] + (1 - b2) * gi * gi;
    nm[i] = mi;
    nv[i] = vi;
    np[i] = pi - (stepSize * mi) / (Math.sqrt(vi) / bc2Sqrt + eps);
  }
  return [floatTensor(pT.dims, np), floatTensor(pT.dims, nm), floatTensor(pT.dims, nv)];
});
