// Pooling gradients over 1 to 3 spatial dims, with the forward kernels' geometry (pads, strides,
// dilations, ceil_mode, auto_pad).
//   MaxPoolGrad(dY, X): dY routed to the first maximum of each window (PyTorch's tie rule).
//   AveragePoolGrad(dY, shape(X)), GlobalAveragePoolGrad(dY, shape(X)): dY spread evenly.

import { attrInt } from '../../ir/graph';
import type { Node } from '../../ir/graph';
// The window walk is the forward kernels' own, so forward and backward agree on every edge case.
import { forEachWindow as windows, lift, poolGeometry } from '../kernels/pool';
import { dimsOf, f32, floatTensor, register } from './common';

function planes(xDims: number[]): { planes: number; inS: number } {
  return { planes: xDims[0] * xDims[1], inS: xDims.slice(2).reduce((p, d) => p * d, 1) };
}

register('MaxPoolGrad', (inputs, node: Node) => {
  const dyT = inputs[0]!, xT = inputs[1]!;
  const dy = f32(dyT, 'dY'), x = f32(xT, 'X');
  const geo = poolGeometry(node, xT.dims.slice(2));
  const g3 = lift(geo);
  const { planes: P, inS } = planes(xT.dims);
  const outS = geo.outSpatial.reduce((p, d) => p * d, 1);
  const dx = new Float32Array(x.length);
  for (let p = 0; p < P; p++) {
    const xo = p * inS, yo = p * outS;
    windows(g3, (o, ins) => {
      let best = -1, bv = -Infinity;
      for (const i of ins) {
        const v = x[xo + i];
        if (best < 0 || v > bv) {
          best = i;
          bv = v;
        }
      }
      if (best >= 0) dx[xo + best] += dy[yo + o];
    });
  }
  return [floatTensor(xT.dims, dx)];
});

register('AveragePoolGrad', (inputs, node: Node) => {
  const dy = f32(inputs[0], 'dY');
  const xDims = dimsOf(inputs[1], 'shape(X)');
  const geo = poolGeometry(node, xDims.slice(2));
  const includePad = attrInt(node, 'count_include_pad', 0) !== 0;
  const { planes: P, inS } = planes(xDims);
  const outS = geo.outSpatial.reduce((p, d) => p * d, 1);
  const dx = new Float32Array(P * inS);
  // The window lists are the same for every plane: compute them once.
  const wins: { ins: number[]; div: number }[] = [];
  windows(lift(geo), (_o, ins, padded) => wins.push({ ins: ins.slice(), div: includePad ? padded : ins.length }));
  for (let p = 0; p < P; p++) {
    const xo = p * inS, yo = p * outS;
    for (let o = 0; o < outS; o++) {
      const { ins, div } = wins[o];
      if (div === 0) continue;
      const v = dy[yo + o] / div;
      for (const i of ins) dx[xo + i] += v;
    }
  }
  return [floatTensor(xDims, dx)];
});

register('GlobalAveragePoolGrad', (inputs) => {
  const dy = f32(inputs[0], 'dY');
  const xDims = dimsOf(inputs[1], 'shape(X)');
  const { planes: P, inS } = planes(xDims);
  const dx = new Float32Array(P * inS);
  for (let p = 0; p < P; p++) dx.fill(dy[p] / inS, p * inS, (p + 1) * inS);
  return [floatTensor(xDims, dx)];
});
