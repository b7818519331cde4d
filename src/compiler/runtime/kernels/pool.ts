// MaxPool (with its Indices output), AveragePool and the global pools, over 1 to 3 spatial dims.

import { attrInt, attrInts, attrString, type Node } from '../../ir/graph';
import type { Tensor } from '../../ir/tensor';
import { samePads } from '../im2col';
import { registerKernel } from '../kernel';
import { make, need, type AnyArray } from './util';

export interface PoolGeometry {
  inSpatial: number[];
  kernel: number[];
  strides: number[];
  dilations: number[];
  padsBegin: number[];
  padsEnd: number[];
  outSpatial: number[];
}

export function poolGeometry(node: Node, inSpatial: number[]): PoolGeometry {
  const r = inSpatial.length;
  const kernel = attrInts(node, 'kernel_shape');
  if (!kernel || kernel.length !== r) throw new Error(`kernel_shape must list ${r} sizes`);
  const strides = attrInts(node, 'strides') ?? new Array<number>(r).fill(1);
  const dilations = attrInts(node, 'dilations') ?? new Array<number>(r).fill(1);
  const pads = attrInts(node, 'pads') ?? new Array<number>(2 * r).fill(0);
  const autoPad = attrString(node, 'auto_pad', 'NOTSET');
  const ceil = attrInt(node, 'ceil_mode', 0) !== 0;
  const g: PoolGeometry = { inSpatial, kernel, strides, dilations, padsBegin: [], padsEnd: [], outSpatial: [] };
  for (let i = 0; i < r; i++) {
    const ek = (kernel[i] - 1) * dilations[i] + 1;
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
      const [b, e, o] = samePads(inSpatial[i], kernel[i], strides[i], dilations[i], autoPad === 'SAME_UPPER');
      g.padsBegin.push(b);
      g.padsEnd.push(e);
      g.outSpatial.push(o);
      continue;
    }
    const b = autoPad === 'VALID' ? 0 : pads[i], e = autoPad === 'VALID' ? 0 : pads[i + r];
    const span = inSpatial[i] + b + e - ek;
    let o = (ceil ? Math.ceil(span / strides[i]) : Math.floor(span / strides[i])) + 1;
    // In ceil mode a last window that would start inside the end padding is dropped (PyTorch, ONNX).
    if (ceil && (o - 1) * strides[i] >= inSpatial[i] + b) o--;
    g.padsBegin.push(b);
    g.padsEnd.push(e);
    g.outSpatial.push(o);
  }
  return g;
}

/** The geometry as three spatial dims (leading ones of size 1). */
export function lift(g: PoolGeometry): PoolGeometry {
  const r = g.inSpatial.length;
  if (r > 3) throw new Error(`pooling over ${r} spatial dims is not supported (at most 3)`);
  const p = <T>(xs: T[], v: T): T[] => [...new Array<T>(3 - r).fill(v), ...xs];
  return {
    inSpatial: p(g.inSpatial, 1), kernel: p(g.kernel, 1), strides: p(g.strides, 1), dilations: p(g.dilations, 1),
    padsBegin: p(g.padsBegin, 0), padsEnd: p(g.padsEnd, 0), outSpatial: p(g.outSpatial, 1),
  };
}

/** Calls visit(outIndex, inputOffsets, countWithPads) for every output position of one channel. */
export function forEachWindow(g: PoolGeometry, visit: (o: number, offsets: number[], padCount: number) => void): void {
  const [D, H, W] = g.inSpatial, [KD, KH, KW] = g.kernel, [sd, sh, sw] = g.strides, [dd, dh, dw] = g.dilations;
  const [pd, ph, pw] = g.padsBegin, [ed, eh, ew] = g.padsEnd, [OD, OH, OW] = g.outSpatial;
  const offs: number[] = [];
  let o = 0;
  for (let od = 0; od < OD; od++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++, o++) {
    offs.length = 0;
    let padCount = 0;
    for (let kd = 0; kd < KD; kd++) {
      const id = od * sd - pd + kd * dd;
      if (id < -pd || id >= D + ed) continue;
      for (let kh = 0; kh < KH; kh++) {
        const ih = oh * sh - ph + kh * dh;
        if (ih < -ph || ih >= H + eh) continue;
        for (let kw = 0; kw < KW; kw++) {
          const iw = ow * sw - pw + kw * dw;
          if (iw < -pw || iw >= W + ew) continue;
          padCount++;
          if (id >= 0 && id < D && ih >= 0 && ih < H && iw >= 0 && iw < W) offs.push((id * H + ih) * W + iw);
        }
      }
    }
    visit(o, offs, padCount);
  }
}

registerKernel('MaxPool', (inputs, node) => {
  const x = need(inputs, 0, 'X');
  const [N, C] = x.dims;
  const geo = poolGeometry(node, x.dims.slice(2));
  const g3 = lift(geo);
  const inS = geo.inSpatial.reduce((p, d) => p * d, 1), outS = geo.outSpatial.reduce((p, d) => p * d, 1);
  const out = make(x.dtype, [N, C, ...geo.outSpatial]);
  const wantIdx = node.outputs.length > 1 && node.outputs[1] !== '';
  const idx = wantIdx ? make('int64', [N, C, ...geo.outSpatial]) : undefined;
  const colMajor = attrInt(node, 'storage_order', 0) === 1;
  const xd = x.data as AnyArray, yd = out.data as AnyArray, id = idx?.data as BigInt64Array | undefined;
  // Window offsets are the same for every channel: compute them once.
  const windows: number[][] = [];
  forEachWindow(g3, (o, offs) => (windows[o] = offs.slice()));
  const [D, H, W] = g3.inSpatial;
  for (let nc = 0; nc < N * C; nc++) {
    const base = nc * inS, ob = nc * outS;
    for (let o = 0; o < outS; o++) {
      const win = windows[o];
      let best = -Infinity, at = -1;
      for (const off of win) {
        const v = xd[base + off];
        if (v > best || at < 0) { best = v; at = off; }
      }
      yd[ob + o] = at < 0 ? 0 : best;
      if (id) {
        let flat = at;
        if (colMajor && at >= 0) {
          const w = at % W, h = Math.floor(at / W) % H, d = Math.floor(at / (W * H));
          flat = (w * H + h) * D + d;
        }
        id[ob + o] = BigInt(base + flat);
      }
    }
  }
  return idx ? [out, idx] : [out];
});

registerKernel('AveragePool', (inputs, node) => {
  const x = need(inputs, 0, 'X');
  const [N, C] = x.dims;
  const geo = poolGeometry(node, x.dims.slice(2));
  const includePad = attrInt(node, 'count_include_pad', 0) !== 0;
  const inS = geo.inSpatial.reduce((p, d) => p * d, 1), outS = geo.outSpatial.reduce((p, d) => p * d, 1);
  const out = make(x.dtype, [N, C, ...geo.outSpatial]);
  const windows: number[][] = [], counts: number[] = [];
  forEachWindow(lift(geo), (o, offs, padCount) => {
    windows[o] = offs.slice();
    counts[o] = includePad ? padCount : offs.length;
  });
  const xd = x.data as Float32Array, yd = out.data as Float32Array;
  for (let nc = 0; nc < N * C; nc++) {
    const base = nc * inS, ob = nc * outS;
    for (let o = 0; o < outS; o++) {
      let s = 0;
      for (const off of windows[o]) s += xd[base + off];
      yd[ob + o] = counts[o] > 0 ? s / counts[o] : 0;
    }
  }
  return [out];
});

function globalPool(max: boolean) {
  return (inputs: (Tensor | undefined)[]): Tensor[] => {
    const x = need(inputs, 0, 'X');
    const [N, C] = x.dims;
    const S = x.dims.slice(2).reduce((p, d) => p * d, 1);
    const out = make(x.dtype, [N, C, ...x.dims.slice(2).map(() => 1)]);
    const xd = x.data as Float32Array, yd = out.data as Float32Array;
    for (let nc = 0; nc < N * C; nc++) {
      let s = max ? -Infinity : 0;
      for (let i = nc * S, e = i + S; i < e; i++) s = max ? Math.max(s, xd[i]) : s + xd[i];
      yd[nc] = max ? s : s / S;
    }
    return [out];
  };
}
registerKernel('GlobalAveragePool', globalPool(false));
registerKernel('GlobalMaxPool', globalPool(true));
