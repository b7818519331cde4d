// Convolution gradients, im2col/col2im + GEMM per image and group (the runtime's own helpers), with direct
// loops for depthwise convolutions as in the forward kernel.
//   ConvGradInput(dY, W, shape(X)) -> dX      ConvGradWeight(X, dY, W) -> dW (first `channels` only)      ConvGradBias(dY) -> dB
// Attributes are the forward Conv's (strides, pads, dilations, group, kernel_shape, auto_pad).

import { attrInt, attrInts, type Node } from '../../ir/graph';
import type { Tensor } from '../../ir/tensor';
import { gemm } from '../gemm';
import { col2im, convGeometry, im2col, lift3, type ConvGeometry } from '../im2col';
import { convAttrs } from '../kernels/conv';
import { dimsOf, f32, floatTensor, register } from './common';

interface Setup {
  N: number; C: number; M: number; group: number; Cg: number; Mg: number; kk: number; inS: number; outS: number;
  geo: ConvGeometry; g3: ConvGeometry; pointwise: boolean; depthwise: boolean;
}

function setup(xDims: number[], wDims: number[], node: Node): Setup {
  const spatial = xDims.length - 2;
  const a = convAttrs(node, spatial);
  const [N, C] = xDims;
  const M = wDims[0];
  const group = a.group;
  const Cg = C / group, Mg = M / group;
  if (wDims[1] !== Cg || !Number.isInteger(Mg)) throw new Error(`W [${wDims}] does not fit X [${xDims}] with group ${group}`);
  const kernel = attrInts(node, 'kernel_shape') ?? wDims.slice(2);
  const geo = convGeometry(xDims.slice(2), kernel, a);
  const prod = (xs: number[]): number => xs.reduce((p, d) => p * d, 1);
  const kk = prod(kernel);
  const pointwise = kk === 1 && geo.strides.every((s) => s === 1) && geo.padsBegin.every((p) => p === 0) && geo.padsEnd.every((p) => p === 0);
  return { N, C, M, group, Cg, Mg, kk, inS: prod(geo.inSpatial), outS: prod(geo.outSpatial), geo, g3: lift3(geo), pointwise, depthwise: Cg === 1 && Mg === 1 };
}

/** Visits (x index, y index, kernel index) of one depthwise channel; the three gradients share it. */
function depthwiseVisit(g: ConvGeometry, body: (xi: number, yi: number, ki: number) => void): void {
  const [D, H, W] = g.inSpatial, [KD, KH, KW] = g.kernel, [sd, sh, sw] = g.strides, [dd, dh, dw] = g.dilations;
  const [pd, ph, pw] = g.padsBegin, [OD, OH, OW] = g.outSpatial;
  for (let od = 0; od < OD; od++) for (let oh = 0; oh < OH; oh++) {
    const yr = (od * OH + oh) * OW;
    for (let kd = 0; kd < KD; kd++) {
      const id = od * sd - pd + kd * dd;
      if (id < 0 || id >= D) continue;
      for (let kh = 0; kh < KH; kh++) {
        const ih = oh * sh - ph + kh * dh;
        if (ih < 0 || ih >= H) continue;
        const xr = (id * H + ih) * W;
        for (let kw = 0; kw < KW; kw++) {
          const ki = (kd * KH + kh) * KW + kw;
          const off = kw * dw - pw;
          const lo = Math.max(0, Math.ceil(-off / sw));
          const hi = Math.min(OW, Math.floor((W - 1 - off) / sw) + 1);
          for (let ow = lo; ow < hi; ow++) body(xr + off + ow * sw, yr + ow, ki);
        }
      }
    }
  }
}

function depthwiseGradInput(dy: Float32Array, dyo: number, w: Float32Array, wo: number, dx: Float32Array, dxo: number, g: ConvGeometry): void {
  const [D, H, W] = g.inSpatial, [KD, KH, KW] = g.kernel, [sd, sh, sw] = g.strides, [dd, dh, dw] = g.dilations;
  const [pd, ph, pw] = g.padsBegin, [OD, OH, OW] = g.outSpatial;
  for (let od = 0; od < OD; od++) for (let oh = 0; oh < OH; oh++) {
    const yr = dyo + (od * OH + oh) * OW;
    for (let kd = 0; kd < KD; kd++) {
      const id = od * sd - pd + kd * dd;
      if (id < 0 || id >= D) continue;
      for (let kh = 0; kh < KH; kh++) {
        const ih = oh * sh - ph + kh * dh;
        if (ih < 0 || ih >= H) continue;
        const xr = dxo + (id * H + ih) * W;
        for (let kw = 0; kw < KW; kw++) {
          const wv = w[wo + (kd * KH + kh) * KW + kw];
          const off = kw * dw - pw;
          const lo = Math.max(0, Math.ceil(-off / sw));
          const hi = Math.min(OW, Math.floor((W - 1 - off) / sw) + 1);
          const base = xr + off;
          for (let ow = lo; ow < hi; ow++) dx[base + ow * sw] += wv * dy[yr + ow];
        }
      }
    }
  }
}

export function convGradInput(dyT: Tensor, wT: Tensor, xDims: number[], node: Node): Tensor {
  const dy = f32(dyT, 'dY'), w = f32(wT, 'W');
  const s = setup(xDims, wT.dims, node);
  const dx = new Float32Array(s.N * s.C * s.inS);
  if (s.depthwise) {
    for (let n = 0; n < s.N; n++) for (let c = 0; c < s.C; c++) depthwiseGradInput(dy, (n * s.M + c) * s.outS, w, c * s.kk, dx, (n * s.C + c) * s.inS, s.g3);
    return floatTensor(xDims, dx);
  }
  const col = s.pointwise ? undefined : new Float32Array(s.Cg * s.kk * s.outS);
  for (let n = 0; n < s.N; n++) for (let g = 0; g < s.group; g++) {
    const xo = (n * s.C + g * s.Cg) * s.inS;
    const wg = w.subarray(g * s.Mg * s.Cg * s.kk);
    const dyg = dy.subarray((n * s.M + g * s.Mg) * s.outS);
    // col = W_gᵀ · dY_g, then folded back onto the input grid.
    if (col) {
      gemm(s.Cg * s.kk, s.outS, s.Mg, wg, dyg, col, true, false, 1, 0);
      col2im(col, s.Cg, s.geo, dx, xo);
    } else gemm(s.Cg, s.outS, s.Mg, wg, dyg, dx.subarray(xo), true, false, 1, 0);
  }
  return floatTensor(xDims, dx);
}

/**
 * dW for the first `channels` output channels only (all when undefined): the sparse update's `channels: r`
 * computes no other channel. The result has `channels` rows.
 */
export function convGradWeight(xT: Tensor, dyT: Tensor, wDims: number[], node: Node, channels?: number): Tensor {
  const x = f32(xT, 'X'), dy = f32(dyT, 'dY');
  const s = setup(xT.dims, wDims, node);
  const K = Math.min(channels ?? s.M, s.M);
  const outDims = [K, ...wDims.slice(1)];
  const dw = new Float32Array(outDims.reduce((p, d) => p * d, 1));
  if (s.depthwise) {
    const acc = new Float64Array(s.kk);
    for (let c = 0; c < K; c++) {
      acc.fill(0);
      for (let n = 0; n < s.N; n++) {
        const xo = (n * s.C + c) * s.inS, yo = (n * s.M + c) * s.outS;
        depthwiseVisit(s.g3, (xi, yi, ki) => { acc[ki] += x[xo + xi] * dy[yo + yi]; });
      }
      for (let k = 0; k < s.kk; k++) dw[c * s.kk + k] = acc[k];
    }
    return floatTensor(outDims, dw);
  }
  const groups = Math.ceil(K / s.Mg);
  const col = s.pointwise ? undefined : new Float32Array(s.Cg * s.kk * s.outS);
  for (let n = 0; n < s.N; n++) for (let g = 0; g < groups; g++) {
    const rows = Math.min(s.Mg, K - g * s.Mg);
    const xo = (n * s.C + g * s.Cg) * s.inS;
    let B: Float32Array;
    if (col) {
      im2col(x, xo, s.Cg, s.geo, col);
      B = col;
    } else B = x.subarray(xo, xo + s.Cg * s.inS);
    // dW_g += dY_g · colᵀ, accumulated over the batch.
    gemm(rows, s.Cg * s.kk, s.outS, dy.subarray((n * s.M + g * s.Mg) * s.outS), B, dw.subarray(g * s.Mg * s.Cg * s.kk), false, true, 1, n === 0 ? 0 : 1);
  }
  return floatTensor(outDims, dw);
}

export function convGradBias(dyT: Tensor): Tensor {
  const dy = f32(dyT, 'dY');
  const [N, M] = dyT.dims;
  const S = dyT.dims.slice(2).reduce((p, d) => p * d, 1);
  const out = new Float32Array(M);
  for (let m = 0; m < M; m++) {
    let s = 0;
    for (let n = 0; n < N; n++) {
      const o = (n * M + m) * S;
      for (let i = 0; i < S; i++) s += dy[o + i];
    }
    out[m] = s;
  }
  return floatTensor([M], out);
}

register('ConvGradInput', (inputs, node) => [convGradInput(inputs[0]!, inputs[1]!, dimsOf(inputs[2], 'shape(X)'), node)]);
register('ConvGradWeight', (inputs, node) => [convGradWeight(inputs[0]!, inputs[1]!, inputs[2]!.dims, node, node.attrs.channels ? attrInt(node, 'channels', 0) : undefined)]);
register('ConvGradBias', (inputs) => [convGradBias(inputs[0]!)]);
