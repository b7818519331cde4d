// Conv and ConvTranspose on float32: im2col + GEMM per image and group, with a direct loop for depthwise
// convolutions (MobileNet's 3×3 layers), where im2col would copy K² times the input for a tiny GEMM.

import { attrInts, attrInt, attrString, type Node } from '../../ir/graph';
import type { Tensor } from '../../ir/tensor';
import { gemm } from '../gemm';
import { col2im, convGeometry, im2col, lift3, type ConvGeometry } from '../im2col';
import { registerKernel } from '../kernel';
import { make, need } from './util';

function f32(t: Tensor, what: string): Float32Array {
  if (t.dtype !== 'float32') throw new Error(`${what} must be float32, got ${t.dtype}`);
  return t.data as Float32Array;
}

export function convAttrs(node: Node, spatial: number) {
  const pads = attrInts(node, 'pads');
  return {
    strides: attrInts(node, 'strides') ?? new Array<number>(spatial).fill(1),
    dilations: attrInts(node, 'dilations') ?? new Array<number>(spatial).fill(1),
    pads: pads ?? new Array<number>(2 * spatial).fill(0),
    autoPad: attrString(node, 'auto_pad', 'NOTSET'),
    group: attrInt(node, 'group', 1),
  };
}

function addBias(out: Float32Array, bias: Float32Array, N: number, M: number, S: number): void {
  for (let n = 0; n < N; n++) for (let m = 0; m < M; m++) {
    const b = bias[m], o = (n * M + m) * S;
    for (let i = 0; i < S; i++) out[o + i] += b;
  }
}

/** One channel of a depthwise convolution: y[od,oh,ow] = Σ w[kd,kh,kw]·x[id,ih,iw]. */
function depthwiseChannel(x: Float32Array, xo: number, w: Float32Array, wo: number, y: Float32Array, yo: number, g: ConvGeometry): void {
  const [D, H, W] = g.inSpatial, [KD, KH, KW] = g.kernel, [sd, sh, sw] = g.strides, [dd, dh, dw] = g.dilations;
  const [pd, ph, pw] = g.padsBegin, [OD, OH, OW] = g.outSpatial;
  for (let od = 0; od < OD; od++) for (let oh = 0; oh < OH; oh++) {
    const yr = yo + (od * OH + oh) * OW;
    for (let kd = 0; kd < KD; kd++) {
      const id = od * sd - pd + kd * dd;
      if (id < 0 || id >= D) continue;
      for (let kh = 0; kh < KH; kh++) {
        const ih = oh * sh - ph + kh * dh;
        if (ih < 0 || ih >= H) continue;
        const xr = xo + (id * H + ih) * W;
        for (let kw = 0; kw < KW; kw++) {
          const wv = w[wo + (kd * KH + kh) * KW + kw];
          const off = kw * dw - pw;
          const lo = Math.max(0, Math.ceil(-off / sw));
          const hi = Math.min(OW, Math.floor((W - 1 - off) / sw) + 1);
          const base = xr + off;
          if (sw === 1) for (let ow = lo; ow < hi; ow++) y[yr + ow] += wv * x[base + ow];
          else for (let ow = lo; ow < hi; ow++) y[yr + ow] += wv * x[base + ow * sw];
        }
      }
    }
  }
}

export function conv(x: Tensor, w: Tensor, b: Tensor | undefined, node: Node): Tensor {
  const xd = f32(x, 'X'), wd = f32(w, 'W');
  const spatial = x.dims.length - 2;
  if (spatial < 1) throw new Error(`X must have rank 3 or more, got [${x.dims}]`);
  const a = convAttrs(node, spatial);
  const [N, C] = x.dims;
  const M = w.dims[0];
  const group = a.group;
  const Cg = C / group, Mg = M / group;
  if (w.dims[1] !== Cg || !Number.isInteger(Mg)) throw new Error(`W [${w.dims}] does not fit X [${x.dims}] with group ${group}`);
  const kernel = attrInts(node, 'kernel_shape') ?? w.dims.slice(2);
  const geo = convGeometry(x.dims.slice(2), kernel, a);
  const inS = geo.inSpatial.reduce((p, d) => p * d, 1);
  const outS = geo.outSpatial.reduce((p, d) => p * d, 1);
  const kk = kernel.reduce((p, d) => p * d, 1);
  const out = make('float32', [N, M, ...geo.outSpatial]);
  const yd = out.data as Float32Array;
  const g3 = lift3(geo);
  if (Cg === 1 && Mg === 1) {
    for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) depthwiseChannel(xd, (n * C + c) * inS, wd, c * kk, yd, (n * M + c) * outS, g3);
  } else {
    const pointwise = kk === 1 && geo.strides.every((s) => s === 1) && geo.padsBegin.every((p) => p === 0) && geo.padsEnd.every((p) => p === 0);
    const col = pointwise ? undefined : new Float32Array(Cg * kk * outS);
    for (let n = 0; n < N; n++) for (let g = 0; g < group; g++) {
      const xo = (n * C + g * Cg) * inS;
      let B: Float32Array;
      if (col) {
        im2col(xd, xo, Cg, geo, col);
        B = col;
      } else B = xd.subarray(xo, xo + Cg * inS);
      gemm(Mg, outS, Cg * kk, wd.subarray(g * Mg * Cg * kk), B, yd.subarray((n * M + g * Mg) * outS), false, false, 1, 0);
    }
  }
  if (b) addBias(yd, f32(b, 'B'), N, M, outS);
  return out;
}

registerKernel('Conv', (inputs, node) => [conv(need(inputs, 0, 'X'), need(inputs, 1, 'W'), inputs[2], node)]);

export function convTranspose(x: Tensor, w: Tensor, b: Tensor | undefined, node: Node): Tensor {
  const xd = f32(x, 'X'), wd = f32(w, 'W');
  const spatial = x.dims.length - 2;
  const a = convAttrs(node, spatial);
  const [N, C] = x.dims;
  const group = a.group;
  const Cg = C / group, Mg = w.dims[1], M = Mg * group;
  if (w.dims[0] !== C) throw new Error(`W [${w.dims}] does not fit X [${x.dims}]`);
  const kernel = attrInts(node, 'kernel_shape') ?? w.dims.slice(2);
  const outputPadding = attrInts(node, 'output_padding') ?? new Array<number>(spatial).fill(0);
  let outputShape = attrInts(node, 'output_shape');
  if (outputShape && outputShape.length === spatial + 2) outputShape = outputShape.slice(2);
  const inSp = x.dims.slice(2);
  const padsBegin: number[] = [], padsEnd: number[] = [], outSp: number[] = [];
  const same = a.autoPad === 'SAME_UPPER' || a.autoPad === 'SAME_LOWER';
  for (let i = 0; i < spatial; i++) {
    const ek = (kernel[i] - 1) * a.dilations[i] + 1;
    const full = a.strides[i] * (inSp[i] - 1) + outputPadding[i] + ek;
    if (outputShape || same) {
      const target = outputShape ? outputShape[i] : inSp[i] * a.strides[i];
      const total = full - target;
      const half = Math.floor(total / 2);
      if (a.autoPad === 'SAME_UPPER') { padsBegin.push(half); padsEnd.push(total - half); } else { padsBegin.push(total - half); padsEnd.push(half); }
      outSp.push(target);
    } else {
      const pb = a.autoPad === 'VALID' ? 0 : a.pads[i], pe = a.autoPad === 'VALID' ? 0 : a.pads[i + spatial];
      padsBegin.push(pb);
      padsEnd.push(pe);
      outSp.push(full - pb - pe);
    }
  }
  // The transposed convolution scatters each input pixel: col = Wᵀ·x, then col2im onto the output, whose
  // geometry is that of the forward convolution from the output back to the input.
  const geo: ConvGeometry = { inSpatial: outSp, kernel, strides: a.strides, dilations: a.dilations, padsBegin, padsEnd, outSpatial: inSp };
  const inS = inSp.reduce((p, d) => p * d, 1);
  const outS = outSp.reduce((p, d) => p * d, 1);
  const kk = kernel.reduce((p, d) => p * d, 1);
  const out = make('float32', [N, M, ...outSp]);
  const yd = out.data as Float32Array;
  const col = new Float32Array(Mg * kk * inS);
  for (let n = 0; n < N; n++) for (let g = 0; g < group; g++) {
    const xo = (n * C + g * Cg) * inS;
    gemm(Mg * kk, inS, Cg, wd.subarray(g * Cg * Mg * kk), xd.subarray(xo), col, true, false, 1, 0);
    col2im(col, Mg, geo, yd, (n * M + g * Mg) * outS);
  }
  if (b) addBias(yd, f32(b, 'B'), N, M, outS);
  return out;
}

registerKernel('ConvTranspose', (inputs, node) => [convTranspose(need(inputs, 0, 'X'), need(inputs, 1, 'W'), inputs[2], node)]);
