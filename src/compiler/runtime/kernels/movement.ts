// Data movement: Reshape, Flatten, Squeeze/Unsqueeze, Transpose, Concat, Split, Slice, Gather, Expand,
// Tile, Pad. Reshape-like ops share the input's data (kernels never write to their inputs).

import { attr, attrInt, attrInts, attrString } from '../../ir/graph';
import type { Tensor } from '../../ir/tensor';
import { sizeOf } from '../../ir/tensor';
import { registerKernel } from '../kernel';
import { axesFrom, broadcastDims, broadcastTo, ints, make, need, normAxis, stridesOf, type AnyArray } from './util';

const view = (t: Tensor, dims: number[]): Tensor => {
  if (sizeOf(dims) !== t.data.length) throw new Error(`cannot view [${t.dims}] as [${dims}]`);
  return { dtype: t.dtype, dims, data: t.data };
};

export function reshapeDims(inDims: number[], shape: number[], allowZero: boolean): number[] {
  const out = shape.map((d, i) => (d === 0 && !allowZero ? inDims[i] : d));
  const unknown = out.indexOf(-1);
  if (unknown >= 0) {
    const known = out.reduce((p, d, i) => (i === unknown ? p : p * d), 1);
    const total = sizeOf(inDims);
    if (known === 0 || total % known !== 0) throw new Error(`cannot reshape [${inDims}] to [${shape}]`);
    out[unknown] = total / known;
  }
  if (sizeOf(out) !== sizeOf(inDims)) throw new Error(`cannot reshape [${inDims}] (${sizeOf(inDims)} elements) to [${shape}]`);
  return out;
}

registerKernel('Reshape', (inputs, node, ctx) => {
  const x = need(inputs, 0, 'data');
  const shape = ctx.opset >= 5 ? ints(need(inputs, 1, 'shape')) : attrInts(node, 'shape') ?? [];
  return [view(x, reshapeDims(x.dims, shape, attrInt(node, 'allowzero', 0) !== 0))];
});

registerKernel('Flatten', (inputs, node) => {
  const x = need(inputs, 0, 'input');
  const r = x.dims.length;
  let axis = attrInt(node, 'axis', 1);
  if (axis < 0) axis += r;
  if (axis < 0 || axis > r) throw new Error(`axis ${attrInt(node, 'axis', 1)} is out of range for rank ${r}`);
  return [view(x, [sizeOf(x.dims.slice(0, axis)), sizeOf(x.dims.slice(axis))])];
});

registerKernel('Squeeze', (inputs, node) => {
  const x = need(inputs, 0, 'data');
  const axes = axesFrom(node, inputs, 1);
  const r = x.dims.length;
  const drop = new Set(axes ? axes.map((a) => normAxis(a, r)) : x.dims.flatMap((d, i) => (d === 1 ? [i] : [])));
  for (const a of drop) if (x.dims[a] !== 1) throw new Error(`cannot squeeze axis ${a} of size ${x.dims[a]}`);
  return [view(x, x.dims.filter((_, i) => !drop.has(i)))];
});

registerKernel('Unsqueeze', (inputs, node) => {
  const x = need(inputs, 0, 'data');
  const axes = axesFrom(node, inputs, 1);
  if (!axes) throw new Error('axes are required');
  const r = x.dims.length + axes.length;
  const ins = new Set(axes.map((a) => normAxis(a, r)));
  const dims: number[] = [];
  let k = 0;
  for (let i = 0; i < r; i++) dims.push(ins.has(i) ? 1 : x.dims[k++]);
  return [view(x, dims)];
});

export function transpose(x: Tensor, perm: number[]): Tensor {
  const r = x.dims.length;
  const outDims = perm.map((p) => x.dims[p]);
  const out = make(x.dtype, outDims);
  const src = x.data as AnyArray, dst = out.data as AnyArray;
  const n = src.length;
  if (n === 0) return out;
  if (r === 2 && perm[0] === 1) {
    const [R, C] = x.dims;
    for (let i = 0; i < R; i++) for (let j = 0; j < C; j++) dst[j * R + i] = src[i * C + j];
    return out;
  }
  // Walk the output in order; the input offset advances by the permuted strides.
  const inStr = stridesOf(x.dims);
  const st = perm.map((p) => inStr[p]);
  const idx = new Array<number>(r).fill(0);
  const last = r - 1, lastLen = outDims[last], lastStr = st[last];
  let off = 0;
  for (let o = 0; o < n; o += lastLen) {
    for (let j = 0, s = off; j < lastLen; j++, s += lastStr) dst[o + j] = src[s];
    for (let d = last - 1; d >= 0; d--) {
      idx[d]++;
      off += st[d];
      if (idx[d] < outDims[d]) break;
      off -= st[d] * outDims[d];
      idx[d] = 0;
    }
  }
  return out;
}

registerKernel('Transpose', (inputs, node) => {
  const x = need(inputs, 0, 'data');
  const perm = attrInts(node, 'perm') ?? x.dims.map((_, i) => x.dims.length - 1 - i);
  return [transpose(x, perm)];
});

export function concat(ts: Tensor[], axisIn: number): Tensor {
  const r = ts[0].dims.length;
  const axis = normAxis(axisIn, r);
  const dims = ts[0].dims.slice();
  dims[axis] = ts.reduce((s, t) => s + t.dims[axis], 0);
  const out = make(ts[0].dtype, dims);
  const outer = sizeOf(dims.slice(0, axis)), inner = sizeOf(dims.slice(axis + 1));
  const dst = out.data as AnyArray;
  const rowLen = dims[axis] * inner;
  let at = 0;
  for (const t of ts) {
    const len = t.dims[axis] * inner;
    const src = t.data as AnyArray;
    for (let o = 0; o < outer; o++) for (let i = 0; i < len; i++) dst[o * rowLen + at + i] = src[o * len + i];
    at += len;
  }
  return out;
}

registerKernel('Concat', (inputs, node) => {
  const ts = inputs.filter((t): t is Tensor => !!t);
  if (ts.length === 0) throw new Error('needs at least one input');
  return [concat(ts, attrInt(node, 'axis', 0))];
});

/** Copies x[..., start:start+len, ...] along axis. */
export function sliceAxis(x: Tensor, axis: number, start: number, len: number): Tensor {
  const dims = x.dims.slice();
  dims[axis] = len;
  const out = make(x.dtype, dims);
  const outer = sizeOf(x.dims.slice(0, axis)), inner = sizeOf(x.dims.slice(axis + 1));
  const src = x.data as AnyArray, dst = out.data as AnyArray;
  const n = len * inner, rowIn = x.dims[axis] * inner;
  for (let o = 0; o < outer; o++) for (let i = 0; i < n; i++) dst[o * n + i] = src[o * rowIn + start * inner + i];
  return out;
}

registerKernel('Split', (inputs, node, ctx) => {
  const x = need(inputs, 0, 'input');
  const axis = normAxis(attrInt(node, 'axis', 0), x.dims.length);
  const dim = x.dims[axis];
  const nOut = node.outputs.length;
  let sizes = ctx.opset >= 13 ? (inputs[1] ? ints(inputs[1]) : undefined) : attrInts(node, 'split');
  if (!sizes) {
    const parts = attr(node, 'num_outputs', 'int') ?? nOut;
    // Opset 18: uneven splits give ceil(dim/parts) to all but the last.
    const each = Math.ceil(dim / parts);
    sizes = Array.from({ length: parts }, (_, i) => Math.max(0, Math.min(each, dim - i * each)));
  }
  if (sizes.reduce((s, d) => s + d, 0) !== dim) throw new Error(`split sizes [${sizes}] do not add up to ${dim}`);
  let at = 0;
  return sizes.map((len) => {
    const t = sliceAxis(x, axis, at, len);
    at += len;
    return t;
  });
});

registerKernel('Slice', (inputs, node, ctx) => {
  const x = need(inputs, 0, 'data');
  const r = x.dims.length;
  let starts: number[], ends: number[], axes: number[] | undefined, steps: number[] | undefined;
  if (ctx.opset >= 10) {
    starts = ints(need(inputs, 1, 'starts'));
    ends = ints(need(inputs, 2, 'ends'));
    axes = inputs[3] ? ints(inputs[3]) : undefined;
    steps = inputs[4] ? ints(inputs[4]) : undefined;
  } else {
    starts = attrInts(node, 'starts') ?? [];
    ends = attrInts(node, 'ends') ?? [];
    axes = attrInts(node, 'axes');
  }
  const ax = axes ? axes.map((a) => normAxis(a, r)) : starts.map((_, i) => i);
  const start = x.dims.map(() => 0), step = x.dims.map(() => 1), count = x.dims.slice();
  ax.forEach((a, i) => {
    const d = x.dims[a];
    const s = steps ? steps[i] : 1;
    if (s === 0) throw new Error('slice step cannot be 0');
    let b = starts[i], e = ends[i];
    if (b < 0) b += d;
    if (e < 0) e += d;
    if (s > 0) {
      b = Math.max(0, Math.min(b, d));
      e = Math.max(0, Math.min(e, d));
      count[a] = Math.max(0, Math.ceil((e - b) / s));
    } else {
      b = Math.max(-1, Math.min(b, d - 1));
      e = Math.max(-1, Math.min(e, d - 1));
      count[a] = Math.max(0, Math.ceil((b - e) / -s));
    }
    start[a] = b;
    step[a] = s;
  });
  const out = make(x.dtype, count);
  const n = out.data.length;
  if (n === 0) return [out];
  const inStr = stridesOf(x.dims);
  const st = inStr.map((s, i) => s * step[i]);
  let off = start.reduce((p, b, i) => p + b * inStr[i], 0);
  const src = x.data as AnyArray, dst = out.data as AnyArray;
  const idx = new Array<number>(r).fill(0);
  const last = r - 1;
  for (let o = 0; o < n; o += count[last]) {
    for (let j = 0, s = off; j < count[last]; j++, s += st[last]) dst[o + j] = src[s];
    for (let d = last - 1; d >= 0; d--) {
      idx[d]++;
      off += st[d];
      if (idx[d] < count[d]) break;
      off -= st[d] * count[d];
      idx[d] = 0;
    }
  }
  return [out];
});

registerKernel('Gather', (inputs, node) => {
  const x = need(inputs, 0, 'data'), indices = need(inputs, 1, 'indices');
  const axis = normAxis(attrInt(node, 'axis', 0), x.dims.length);
  const d = x.dims[axis];
  const outer = sizeOf(x.dims.slice(0, axis)), inner = sizeOf(x.dims.slice(axis + 1));
  const idx = ints(indices);
  const out = make(x.dtype, [...x.dims.slice(0, axis), ...indices.dims, ...x.dims.slice(axis + 1)]);
  const src = x.data as AnyArray, dst = out.data as AnyArray;
  const K = idx.length;
  for (let k = 0; k < K; k++) {
    let j = idx[k];
    if (j < 0) j += d;
    if (j < 0 || j >= d) throw new Error(`index ${idx[k]} is out of range for axis ${axis} of size ${d}`);
    idx[k] = j;
  }
  for (let o = 0; o < outer; o++) for (let k = 0; k < K; k++) {
    const s = (o * d + idx[k]) * inner, t = (o * K + k) * inner;
    for (let i = 0; i < inner; i++) dst[t + i] = src[s + i];
  }
  return [out];
});

registerKernel('Expand', (inputs) => {
  const x = need(inputs, 0, 'input');
  const shape = ints(need(inputs, 1, 'shape'));
  return [broadcastTo(x, broadcastDims(x.dims, shape))];
});

registerKernel('Tile', (inputs) => {
  const x = need(inputs, 0, 'input');
  const reps = ints(need(inputs, 1, 'repeats'));
  if (reps.length !== x.dims.length) throw new Error(`repeats has ${reps.length} entries for rank ${x.dims.length}`);
  const outDims = x.dims.map((d, i) => d * reps[i]);
  const out = make(x.dtype, outDims);
  const src = x.data as AnyArray, dst = out.data as AnyArray;
  const inStr = stridesOf(x.dims), r = x.dims.length;
  const idx = new Array<number>(r).fill(0);
  for (let o = 0; o < dst.length; o++) {
    let s = 0;
    for (let k = 0; k < r; k++) s += (idx[k] % x.dims[k]) * inStr[k];
    dst[o] = src[s];
    for (let k = r - 1; k >= 0; k--) {
      if (++idx[k] < outDims[k]) break;
      idx[k] = 0;
    }
  }
  return [out];
});

registerKernel('Pad', (inputs, node, ctx) => {
  const x = need(inputs, 0, 'data');
  const r = x.dims.length;
  const mode = attrString(node, 'mode', 'constant');
  let pads: number[];
  let value: number | bigint = 0;
  if (ctx.opset >= 11) {
    pads = ints(need(inputs, 1, 'pads'));
    if (inputs[2] && inputs[2].data.length > 0) value = inputs[2].data[0] as number | bigint;
    const axes = inputs[3] ? ints(inputs[3]).map((a) => normAxis(a, r)) : undefined;
    if (axes) {
      const full = new Array<number>(2 * r).fill(0);
      axes.forEach((a, i) => { full[a] = pads[i]; full[a + r] = pads[i + axes.length]; });
      pads = full;
    }
  } else {
    pads = attrInts(node, 'pads') ?? attrInts(node, 'paddings') ?? [];
    value = attr(node, 'value', 'float') ?? 0;
  }
  if (pads.length !== 2 * r) throw new Error(`pads has ${pads.length} entries; rank ${r} needs ${2 * r}`);
  const outDims = x.dims.map((d, i) => d + pads[i] + pads[i + r]);
  const out = make(x.dtype, outDims);
  const src = x.data as AnyArray, dst = out.data as AnyArray;
  const inStr = stridesOf(x.dims);
  if (typeof value === 'number' && (x.dtype === 'int64' || x.dtype === 'uint64')) value = BigInt(value);
  const idx = new Array<number>(r).fill(0);
  for (let o = 0; o < dst.length; o++) {
    let s = 0, inside = true;
    for (let k = 0; k < r; k++) {
      let i = idx[k] - pads[k];
      const d = x.dims[k];
      if (i < 0 || i >= d) {
        if (mode === 'constant') { inside = false; break; }
        if (mode === 'edge') i = i < 0 ? 0 : d - 1;
        else if (mode === 'reflect') {
          const period = 2 * (d - 1);
          if (period === 0) i = 0;
          else {
            i = ((i % period) + period) % period;
            if (i >= d) i = period - i;
          }
        } else if (mode === 'wrap') i = ((i % d) + d) % d;
        else throw new Error(`pad mode "${mode}" is not supported`);
      }
      s += i * inStr[k];
    }
    dst[o] = inside ? src[s] : value;
    for (let k = r - 1; k >= 0; k--) {
      if (++idx[k] < outDims[k]) break;
      idx[k] = 0;
    }
  }
  return [out];
});
