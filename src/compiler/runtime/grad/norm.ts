// Normalization gradients, statistics recomputed from the saved input in float64:
//   BatchNormGrad(dY, X, scale[, mean, var]) -> dX, dScale, dBias   (training_mode 1: batch statistics)
//   LayerNormGrad(dY, X, scale) -> dX, dScale, dBias                 (normalized over axis..end)
//   InstanceNormGrad(dY, X, scale) -> dX, dScale, dBias              (per sample and channel)
// With batch statistics: dX = scale·invstd/m · (m·dY − ΣdY − x̂·Σ(dY·x̂)).

import { attrFloat, attrInt } from '../../ir/graph';
import { normAxis } from '../kernels/util';
import { f32, floatTensor, register } from './common';

/** Gradient of one normalized group of m values (indices from `at`), given the affine scale g. */
function groupGrad(
  x: Float32Array, dy: Float32Array, dx: Float32Array, at: (k: number) => number, m: number, eps: number,
  scaleAt: (k: number) => number, dScale: Float64Array, dBias: Float64Array, paramAt: (k: number) => number,
): void {
  let mean = 0;
  for (let k = 0; k < m; k++) mean += x[at(k)];
  mean /= m;
  let v = 0;
  for (let k = 0; k < m; k++) {
    const d = x[at(k)] - mean;
    v += d * d;
  }
  const invstd = 1 / Math.sqrt(v / m + eps);
  let sumG = 0, sumGX = 0;
  for (let k = 0; k < m; k++) {
    const i = at(k);
    const g = dy[i] * scaleAt(k);
    const xh = (x[i] - mean) * invstd;
    sumG += g;
    sumGX += g * xh;
    dScale[paramAt(k)] += dy[i] * xh;
    dBias[paramAt(k)] += dy[i];
  }
  for (let k = 0; k < m; k++) {
    const i = at(k);
    const xh = (x[i] - mean) * invstd;
    dx[i] = (invstd / m) * (m * dy[i] * scaleAt(k) - sumG - xh * sumGX);
  }
}

register('BatchNormGrad', (inputs, node) => {
  // With running statistics X is read only for dScale: a sparse step whose gamma is frozen omits it ('').
  const training = attrInt(node, 'training_mode', 1) !== 0;
  const dyT = inputs[0]!, xT = inputs[1] ?? (training ? undefined : dyT);
  const dy = f32(dyT, 'dY'), x = f32(xT, 'X'), scale = f32(inputs[2], 'scale');
  const hasX = inputs[1] !== undefined;
  const eps = attrFloat(node, 'epsilon', 1e-5);
  const [N, C] = xT!.dims;
  const S = xT!.dims.slice(2).reduce((p, d) => p * d, 1);
  const dx = new Float32Array(x.length);
  const dScale = new Float64Array(C), dBias = new Float64Array(C);
  if (training) {
    for (let c = 0; c < C; c++) {
      const at = (k: number): number => ((Math.floor(k / S) * C + c) * S) + (k % S);
      groupGrad(x, dy, dx, at, N * S, eps, () => scale[c], dScale, dBias, () => c);
    }
  } else {
    const mean = f32(inputs[3], 'mean'), variance = f32(inputs[4], 'var');
    for (let c = 0; c < C; c++) {
      const invstd = 1 / Math.sqrt(variance[c] + eps);
      const k = scale[c] * invstd;
      let ds = 0, db = 0;
      for (let n = 0; n < N; n++) {
        const o = (n * C + c) * S;
        for (let i = 0; i < S; i++) {
          dx[o + i] = dy[o + i] * k;
          if (hasX) ds += dy[o + i] * (x[o + i] - mean[c]) * invstd;
          db += dy[o + i];
        }
      }
      dScale[c] = ds;
      dBias[c] = db;
    }
  }
  return [floatTensor(xT!.dims, dx), floatTensor([C], Float32Array.from(dScale)), floatTensor([C], Float32Array.from(dBias))];
});

register('LayerNormGrad', (inputs, node) => {
  const xT = inputs[1]!, sT = inputs[2]!;
  const dy = f32(inputs[0], 'dY'), x = f32(xT, 'X'), scale = f32(sT, 'scale');
  const axis = normAxis(attrInt(node, 'axis', -1), xT.dims.length);
  const eps = attrFloat(node, 'epsilon', 1e-5);
  const inner = xT.dims.slice(axis).reduce((p, d) => p * d, 1);
  const outer = x.length / inner;
  const L = scale.length;
  const dx = new Float32Array(x.length);
  const dScale = new Float64Array(L), dBias = new Float64Array(L);
  for (let o = 0; o < outer; o++) {
    const base = o * inner;
    groupGrad(x, dy, dx, (k) => base + k, inner, eps, (k) => scale[k % L], dScale, dBias, (k) => k % L);
  }
  return [floatTensor(xT.dims, dx), floatTensor(sT.dims, Float32Array.from(dScale)), floatTensor(sT.dims, Float32Array.from(dBias))];
});

register('InstanceNormGrad', (inputs, node) => {
  const xT = inputs[1]!;
  const dy = f32(inputs[0], 'dY'), x = f32(xT, 'X'), scale = f32(inputs[2], 'scale');
  const eps = attrFloat(node, 'epsilon', 1e-5);
  const [N, C] = xT.dims;
  const S = xT.dims.slice(2).reduce((p, d) => p * d, 1);
  const dx = new Float32Array(x.length);
  const dScale = new Float64Array(C), dBias = new Float64Array(C);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) {
    const base = (n * C + c) * S;
    groupGrad(x, dy, dx, (k) => base + k, S, eps, () => scale[c], dScale, dBias, () => c);
  }
  return [floatTensor(xT.dims, dx), floatTensor([C], Float32Array.from(dScale)), floatTensor([C], Float32Array.from(dBias))];
});
