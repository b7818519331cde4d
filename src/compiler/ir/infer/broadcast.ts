// Multidirectional (numpy) broadcasting of shapes, and of the small constants that shape computations
// carry, so that `Where(Equal(shape, -1), 1, shape)` folds as well as `Add`.

import type { DType } from '../dtype';
import type { Dim, Shape } from '../shape';
import { type ConstVal, type Elem, type InferCtx, MAX_CONST_ELEMS, fail, numel } from './context';

/**
 * The broadcast of several shapes. A numeric dim other than 1 wins over a symbolic one (the symbol must
 * equal it at run time); two different symbols keep the first, which is the usual PyTorch-export case of
 * the same axis named twice.
 */
export function broadcastShapes(shapes: readonly Shape[]): Shape {
  let rank = 0;
  for (const s of shapes) {
    if (s === null) return null;
    if (s.length > rank) rank = s.length;
  }
  const out: Dim[] = new Array(rank);
  for (let i = 0; i < rank; i++) {
    let num: number | null = null;
    let sym: string | null = null;
    for (const s of shapes as Dim[][]) {
      const j = s.length - rank + i;
      if (j < 0) continue;
      const d = s[j];
      if (typeof d === 'number') {
        if (d === 1) continue;
        if (num !== null && num !== d) fail(`cannot broadcast dimension ${num} with ${d} (shapes ${shapes.map((x) => `[${x}]`).join(' and ')})`);
        num = d;
      } else if (sym === null) sym = d;
    }
    out[i] = num ?? sym ?? 1;
  }
  return out;
}

const INT_TYPES = new Set<DType>(['int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64', 'bool']);

export function isIntType(d: DType): boolean {
  return INT_TYPES.has(d);
}

/** Whether folding a result of this dtype and size is worth it: integer shape math, or a few floats. */
export function foldable(dtype: DType, n: number): boolean {
  return n <= (isIntType(dtype) ? MAX_CONST_ELEMS : 64);
}

/**
 * Element-wise fold of the inputs listed in `which` (all of them by default) when every one is a known
 * constant; the result is broadcast. `fn` gets one element per input and returns the output element.
 */
export function foldElementwise(c: InferCtx, outDtype: DType, fn: (xs: Elem[]) => Elem, which?: number[]): ConstVal | undefined {
  const idx = which ?? [...Array(c.numInputs).keys()].filter((i) => c.has(i));
  if (idx.length === 0) return undefined;
  for (const i of idx) if (!c.maybeValue(i)) return undefined;
  const vals: ConstVal[] = [];
  for (const i of idx) {
    const v = c.value(i);
    if (!v) return undefined;
    vals.push(v);
  }
  const shape = broadcastShapes(vals.map((v) => v.dims)) as number[];
  const n = numel(shape);
  if (!foldable(outDtype, n)) return undefined;
  const rank = shape.length;
  // Per input: the stride of each output axis in that input (0 where it broadcasts).
  const strides = vals.map((v) => {
    const st = new Array<number>(rank).fill(0);
    let s = 1;
    for (let a = v.dims.length - 1; a >= 0; a--) {
      const oa = rank - v.dims.length + a;
      st[oa] = v.dims[a] === 1 ? 0 : s;
      s *= v.dims[a];
    }
    return st;
  });
  const data: Elem[] = new Array(n);
  const idxs = new Array<number>(rank).fill(0);
  const args: Elem[] = new Array(vals.length);
  for (let e = 0; e < n; e++) {
    for (let k = 0; k < vals.length; k++) {
      let off = 0;
      for (let a = 0; a < rank; a++) off += idxs[a] * strides[k][a];
      args[k] = vals[k].data[off];
    }
    data[e] = fn(args);
    for (let a = rank - 1; a >= 0; a--) {
      if (++idxs[a] < shape[a]) break;
      idxs[a] = 0;
    }
  }
  return { dims: shape, data: isIntType(outDtype) ? data.map((x) => (typeof x === 'number' ? Math.trunc(x) : x)) : data };
}
