// Helpers shared by the kernels: reading inputs and attributes, axes, and broadcasting.

import { attr, type Node } from '../../ir/graph';
import type { DType } from '../../ir/dtype';
import { allocArray, sizeOf, type Tensor, type TensorArray } from '../../ir/tensor';

/** Any element array indexed like numbers (bigint, string and number arrays alike). */
export type AnyArray = { [i: number]: any; length: number };

export function need(inputs: (Tensor | undefined)[], i: number, what: string): Tensor {
  const t = inputs[i];
  if (!t) throw new Error(`input ${i} (${what}) is required`);
  return t;
}

export function make(dtype: DType, dims: number[], data?: TensorArray): Tensor {
  const n = sizeOf(dims);
  const d = data ?? allocArray(dtype, n);
  if (d.length !== n) throw new Error(`internal: shape [${dims}] needs ${n} elements, got ${d.length}`);
  return { dtype, dims, data: d };
}

export const isBig = (dtype: DType): boolean => dtype === 'int64' || dtype === 'uint64';

/** Integer contents of a shape/axes/index tensor as JS numbers. */
export function ints(t: Tensor): number[] {
  const out = new Array<number>(t.data.length);
  for (let i = 0; i < out.length; i++) out[i] = Number(t.data[i] as number | bigint);
  return out;
}

export function scalar(t: Tensor): number {
  if (t.data.length < 1) throw new Error('expected a scalar, got an empty tensor');
  return Number(t.data[0] as number | bigint);
}

export function normAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new Error(`axis ${axis} is out of range for rank ${rank}`);
  return a;
}

/** Axes from an input (newer opsets) or else an attribute (older ones); undefined when neither is given. */
export function axesFrom(node: Node, inputs: (Tensor | undefined)[], inputIndex: number): number[] | undefined {
  const t = inputs[inputIndex];
  if (t) return ints(t);
  return attr(node, 'axes', 'ints');
}

export function broadcastDims(...shapes: number[][]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    const off = rank - s.length;
    for (let i = 0; i < s.length; i++) {
      const d = s[i];
      const o = out[off + i];
      if (d === o || d === 1) continue;
      if (o === 1) out[off + i] = d;
      else throw new Error(`shapes ${shapes.map((x) => `[${x}]`).join(' and ')} cannot be broadcast together`);
    }
  }
  return out;
}

export function stridesOf(dims: readonly number[]): number[] {
  const s = new Array<number>(dims.length);
  let acc = 1;
  for (let i = dims.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= dims[i];
  }
  return s;
}

/**
 * Iteration plan for a broadcast of several inputs to `out`: dims collapsed where every input is either
 * contiguous or broadcast along both, with each input's stride per collapsed dim (0 where broadcast).
 */
export interface BroadcastPlan {
  dims: number[];
  strides: number[][];
}

export function broadcastPlan(out: number[], ins: number[][]): BroadcastPlan {
  const rank = out.length;
  const padded = ins.map((s) => [...new Array<number>(rank - s.length).fill(1), ...s]);
  const full = padded.map((s) => {
    const st = stridesOf(s);
    return s.map((d, i) => (d === 1 && out[i] !== 1 ? 0 : st[i]));
  });
  // Drop size-1 dims, then merge neighbours whose strides chain (stride[i] == stride[i+1] * dim[i+1]).
  const dims: number[] = [];
  const strides: number[][] = ins.map(() => []);
  for (let i = 0; i < rank; i++) {
    if (out[i] === 1) continue;
    const last = dims.length - 1;
    if (last >= 0 && full.every((st, k) => strides[k][last] === st[i] * out[i])) {
      dims[last] *= out[i];
      full.forEach((st, k) => (strides[k][last] = st[i]));
    } else {
      dims.push(out[i]);
      full.forEach((st, k) => strides[k].push(st[i]));
    }
  }
  if (dims.length === 0) {
    dims.push(1);
    strides.forEach((s) => s.push(0));
  }
  return { dims, strides };
}

/**
 * Calls body(outStart, len, offsets, innerStrides) for each run along the innermost collapsed dim;
 * offsets[k] is input k's element offset at the start of the run.
 */
export function forEachRun(
  plan: BroadcastPlan,
  body: (outStart: number, len: number, offsets: number[], inner: number[]) => void,
): void {
  const { dims, strides } = plan;
  const r = dims.length;
  const inner = strides.map((s) => s[r - 1]);
  const len = dims[r - 1];
  const outer = dims.slice(0, r - 1);
  let total = 1;
  for (const d of outer) total *= d;
  if (len === 0) return;
  const idx = new Array<number>(r - 1).fill(0);
  const offs = strides.map(() => 0);
  for (let o = 0; o < total; o++) {
    body(o * len, len, offs, inner);
    // Advance the odometer over the outer dims.
    for (let d = r - 2; d >= 0; d--) {
      idx[d]++;
      for (let k = 0; k < offs.length; k++) offs[k] += strides[k][d];
      if (idx[d] < outer[d]) break;
      for (let k = 0; k < offs.length; k++) offs[k] -= strides[k][d] * outer[d];
      idx[d] = 0;
    }
  }
}

/** Materializes `t` broadcast to `dims` (any dtype). */
export function broadcastTo(t: Tensor, dims: number[]): Tensor {
  const out = make(t.dtype, dims.slice());
  const src = t.data as AnyArray;
  const dst = out.data as AnyArray;
  if (sizeOf(dims) === 0) return out;
  forEachRun(broadcastPlan(dims, [t.dims]), (start, len, offs, inner) => {
    const s = inner[0];
    let j = offs[0];
    for (let i = 0; i < len; i++, j += s) dst[start + i] = src[j];
  });
  return out;
}
