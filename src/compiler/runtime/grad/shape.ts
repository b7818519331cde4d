// Gradients of broadcasting and data movement: sum a broadcast gradient back to an input's shape, spread a
// reduction's gradient, and scatter slices, splits and gathers back to where they came from.

import { attr, attrInt, type Node } from '../../ir/graph';
import type { Tensor } from '../../ir/tensor';
import { broadcastPlan, broadcastTo, forEachRun, normAxis, stridesOf } from '../kernels/util';
import { dimsOf, f32, floatTensor, register, sameDims } from './common';
import { sliceIndices } from '../../ir/slice';

/** ReduceToShape(G, shape): sums G over the axes where `shape` was broadcast (numpy rules). */
export function reduceToShape(g: Tensor, target: number[]): Tensor {
  if (sameDims(g.dims, target)) return g;
  const gd = f32(g, 'G');
  const rank = g.dims.length;
  if (target.length > rank) throw new Error(`cannot reduce [${g.dims}] to the larger rank of [${target}]`);
  const padded = [...new Array<number>(rank - target.length).fill(1), ...target];
  padded.forEach((d, i) => {
    if (d !== 1 && d !== g.dims[i]) throw new Error(`[${target}] does not broadcast to [${g.dims}]`);
  });
  const out = new Float64Array(target.reduce((p, d) => p * d, 1));
  forEachRun(broadcastPlan(g.dims, [padded]), (start, len, offs, inner) => {
    const s = inner[0];
    let j = offs[0];
    for (let i = 0; i < len; i++, j += s) out[j] += gd[start + i];
  });
  return floatTensor(target, Float32Array.from(out));
}

register('ReduceToShape', (inputs) => [reduceToShape(inputs[0]!, dimsOf(inputs[1], 'shape'))]);

/** ReduceGrad(dY, shape(X), axes?): dY broadcast back over the reduced axes, divided by their size if mean. */
register('ReduceGrad', (inputs, node) => {
  const dy = inputs[0]!;
  const xDims = dimsOf(inputs[1], 'shape');
  const rank = xDims.length;
  let axes = inputs[2] ? dimsOf(inputs[2], 'axes') : attr(node, 'axes', 'ints') ?? [];
  if (axes.length === 0) {
    if (attrInt(node, 'noop_with_empty_axes', 0)) return [floatTensor(xDims, Float32Array.from(f32(dy, 'dY')))];
    axes = xDims.map((_, i) => i);
  }
  const norm = new Set(axes.map((a) => normAxis(a, rank)));
  const kept = xDims.map((d, i) => (norm.has(i) ? 1 : d));
  const shaped: Tensor = { ...dy, dims: kept };
  const out = broadcastTo(shaped, xDims);
  if (attrInt(node, 'mean', 0)) {
    let count = 1;
    for (const a of norm) count *= xDims[a];
    const d = out.data as Float32Array;
    for (let i = 0; i < d.length; i++) d[i] /= count;
  }
  return [out];
});

/** SplitLike(G, shape_0, ..., shape_k-1): G cut along `axis` into pieces of the given shapes (Concat's gradient). */
register('SplitLike', (inputs, node) => {
  const g = inputs[0]!;
  const gd = f32(g, 'G');
  const axis = normAxis(attrInt(node, 'axis', 0), g.dims.length);
  const outer = g.dims.slice(0, axis).reduce((p, d) => p * d, 1);
  const inner = g.dims.slice(axis + 1).reduce((p, d) => p * d, 1);
  const total = g.dims[axis];
  let at = 0;
  return inputs.slice(1).map((s) => {
    const dims = dimsOf(s, 'shape');
    const len = dims[axis];
    const out = new Float32Array(outer * len * inner);
    for (let o = 0; o < outer; o++) out.set(gd.subarray((o * total + at) * inner, (o * total + at + len) * inner), o * len * inner);
    at += len;
    return floatTensor(dims, out);
  });
});

/** SliceGrad(dY, shape(X), starts, ends, axes?, steps?) (or attributes, Slice-1): dY scattered into zeros. */
register('SliceGrad', (inputs, node: Node) => {
  const dy = f32(inputs[0], 'dY');
  const xDims = dimsOf(inputs[1], 'shape');
  const rank = xDims.length;
  const big = (v: number): number => (v > 2 ** 52 ? Infinity : v < -(2 ** 52) ? -Infinity : v);
  const starts = (inputs[2] ? dimsOf(inputs[2], 'starts') : attr(node, 'starts', 'ints') ?? []).map(big);
  const ends = (inputs[3] ? dimsOf(inputs[3], 'ends') : attr(node, 'ends', 'ints') ?? []).map(big);
  const axes = inputs[4] ? dimsOf(inputs[4], 'axes') : attr(node, 'axes', 'ints') ?? starts.map((_, i) => i);
  const steps = inputs[5] ? dimsOf(inputs[5], 'steps') : starts.map(() => 1);
  const ranges = xDims.map((d) => Array.from({ length: d }, (_, i) => i));
  axes.forEach((a, k) => {
    const ax = normAxis(a, rank);
    ranges[ax] = sliceIndices(xDims[ax], starts[k], ends[k], steps[k]);
  });
  const strides = stridesOf(xDims);
  const out = new Float32Array(xDims.reduce((p, d) => p * d, 1));
  let j = 0;
  const walk = (d: number, off: number): void => {
    if (d === rank) {
      out[off] += dy[j++];
      return;
    }
    for (const i of ranges[d]) walk(d + 1, off + i * strides[d]);
  };
  if (ranges.every((r) => r.length > 0)) walk(0, 0);
  if (j !== dy.length) throw new Error(`dY has ${dy.length} elements but the slice selects ${j}`);
  return [floatTensor(xDims, out)];
});

/** GatherGrad(dY, indices, shape(X)): rows of dY added into zeros at their indices (repeats accumulate). */
register('GatherGrad', (inputs, node) => {
  const dy = f32(inputs[0], 'dY');
  const idxT = inputs[1]!;
  const xDims = dimsOf(inputs[2], 'shape');
  const axis = normAxis(attrInt(node, 'axis', 0), xDims.length);
  const outer = xDims.slice(0, axis).reduce((p, d) => p * d, 1);
  const inner = xDims.slice(axis + 1).reduce((p, d) => p * d, 1);
  const n = xDims[axis];
  const idx = Array.from(idxT.data as ArrayLike<number | bigint>, (v) => {
    const i = Number(v);
    return i < 0 ? i + n : i;
  });
  const out = new Float64Array(outer * n * inner);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < idx.length; j++) {
      const src = (o * idx.length + j) * inner;
      const dst = (o * n + idx[j]) * inner;
      for (let i = 0; i < inner; i++) out[dst + i] += dy[src + i];
    }
  }
  return [floatTensor(xDims, Float32Array.from(out))];
});

/** Per-axis begin pads of Pad (pads input from opset 11, attribute before; optional axes input from 18). */
function padBegins(inputs: (Tensor | undefined)[], node: Node, rank: number): number[] {
  const pads = inputs[2] ? dimsOf(inputs[2], 'pads') : attr(node, 'pads', 'ints') ?? [];
  const axes = inputs[3] ? dimsOf(inputs[3], 'axes').map((a) => normAxis(a, rank)) : Array.from({ length: rank }, (_, i) => i);
  const begins = new Array<number>(rank).fill(0);
  axes.forEach((a, k) => (begins[a] = pads[k] ?? 0));
  return begins;
}

/** PadGrad(dY, shape(X), pads?, axes?) for constant-mode Pad: the un-padded window of dY (zeros where X was cropped). */
register('PadGrad', (inputs, node) => {
  const dyT = inputs[0]!;
  const dy = f32(dyT, 'dY');
  const xDims = dimsOf(inputs[1], 'shape(X)');
  const rank = xDims.length;
  const begin = padBegins(inputs, node, rank);
  const ys = stridesOf(dyT.dims);
  const out = new Float32Array(xDims.reduce((p, d) => p * d, 1));
  const idx = new Array<number>(rank).fill(0);
  for (let i = 0; i < out.length; i++) {
    let off = 0, inside = true;
    for (let d = 0; d < rank; d++) {
      const y = idx[d] + begin[d];
      if (y < 0 || y >= dyT.dims[d]) { inside = false; break; }
      off += y * ys[d];
    }
    if (inside) out[i] = dy[off];
    for (let d = rank - 1; d >= 0; d--) {
      if (++idx[d] < xDims[d]) break;
      idx[d] = 0;
    }
  }
  return [floatTensor(xDims, out)];
});

/** TileGrad(dY, shape(X)): every tile of dY summed back onto X. */
register('TileGrad', (inputs) => {
  const dyT = inputs[0]!;
  const dy = f32(dyT, 'dY');
  const xDims = dimsOf(inputs[1], 'shape(X)');
  const rank = xDims.length;
  const xs = stridesOf(xDims);
  const out = new Float64Array(xDims.reduce((p, d) => p * d, 1));
  const idx = new Array<number>(rank).fill(0);
  for (let i = 0; i < dy.length; i++) {
    let off = 0;
    for (let d = 0; d < rank; d++) off += (idx[d] % xDims[d]) * xs[d];
    out[off] += dy[i];
    for (let d = rank - 1; d >= 0; d--) {
      if (++idx[d] < dyT.dims[d]) break;
      idx[d] = 0;
    }
  }
  return [floatTensor(xDims, Float32Array.from(out))];
});
