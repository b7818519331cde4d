// Elementwise operators: arithmetic and comparisons with numpy broadcasting, logic, Where, Min/Max.

import type { DType } from '../../ir/dtype';
import type { Tensor } from '../../ir/tensor';
import { registerKernel } from '../kernel';
import { broadcastDims, broadcastPlan, forEachRun, isBig, make, need, type AnyArray } from './util';

type NumFn = (a: number, b: number) => number;
type BigFn = (a: bigint, b: bigint) => bigint;

/** out[i] = f(a[ia], b[ib]) over the broadcast of a and b; same-shape and scalar operands skip the index walk. */
function binaryLoop(a: Tensor, b: Tensor, outDtype: DType, f: (x: any, y: any) => any): Tensor {
  const same = a.dims.length === b.dims.length && a.dims.every((d, i) => d === b.dims[i]);
  const dims = same ? a.dims.slice() : broadcastDims(a.dims, b.dims);
  const out = make(outDtype, dims);
  const x = a.data as AnyArray, y = b.data as AnyArray, o = out.data as AnyArray;
  const n = o.length;
  if (same) {
    for (let i = 0; i < n; i++) o[i] = f(x[i], y[i]);
  } else if (y.length === 1) {
    const v = y[0];
    for (let i = 0; i < n; i++) o[i] = f(x[i], v);
  } else if (x.length === 1) {
    const v = x[0];
    for (let i = 0; i < n; i++) o[i] = f(v, y[i]);
  } else if (n > 0) {
    forEachRun(broadcastPlan(dims, [a.dims, b.dims]), (start, len, offs, inner) => {
      const sa = inner[0], sb = inner[1];
      let ia = offs[0], ib = offs[1];
      if (sb === 0) {
        const v = y[ib];
        for (let i = 0; i < len; i++, ia += sa) o[start + i] = f(x[ia], v);
      } else if (sa === 0) {
        const v = x[ia];
        for (let i = 0; i < len; i++, ib += sb) o[start + i] = f(v, y[ib]);
      } else {
        for (let i = 0; i < len; i++, ia += sa, ib += sb) o[start + i] = f(x[ia], y[ib]);
      }
    });
  }
  return out;
}

type ArithOp = 'add' | 'sub' | 'mul' | 'div';

/** One run of a float32 arithmetic op: o[start + i] = x[ia] op y[ib], stepping ia by sa and ib by sb. */
function f32Run(op: ArithOp, o: Float32Array, start: number, len: number, x: Float32Array, ia: number, sa: number, y: Float32Array, ib: number, sb: number): void {
  const end = start + len;
  switch (op) {
    case 'add': for (let i = start; i < end; i++, ia += sa, ib += sb) o[i] = x[ia] + y[ib]; break;
    case 'sub': for (let i = start; i < end; i++, ia += sa, ib += sb) o[i] = x[ia] - y[ib]; break;
    case 'mul': for (let i = start; i < end; i++, ia += sa, ib += sb) o[i] = x[ia] * y[ib]; break;
    case 'div': for (let i = start; i < end; i++, ia += sa, ib += sb) o[i] = x[ia] / y[ib]; break;
  }
}

/**
 * float32 arithmetic, the bulk of a training step's elementwise work: one loop per operator, so the
 * operation is inlined rather than called through a closure per element.
 */
function f32Arith(op: ArithOp, a: Tensor, b: Tensor): Tensor {
  const same = a.dims.length === b.dims.length && a.dims.every((d, i) => d === b.dims[i]);
  const dims = same ? a.dims.slice() : broadcastDims(a.dims, b.dims);
  const out = make('float32', dims);
  const x = a.data as Float32Array, y = b.data as Float32Array, o = out.data as Float32Array;
  if (o.length === 0) return out;
  if (same) f32Run(op, o, 0, o.length, x, 0, 1, y, 0, 1);
  else if (y.length === 1) f32Run(op, o, 0, o.length, x, 0, 1, y, 0, 0);
  else if (x.length === 1) f32Run(op, o, 0, o.length, x, 0, 0, y, 0, 1);
  else {
    forEachRun(broadcastPlan(dims, [a.dims, b.dims]), (start, len, offs, inner) => f32Run(op, o, start, len, x, offs[0], inner[0], y, offs[1], inner[1]));
  }
  return out;
}

/** Arithmetic on any numeric dtype; int64 through BigInt, narrower integers wrapped by their typed arrays. */
function arith(op: ArithOp, num: NumFn, big: BigFn, intNum?: NumFn) {
  return (inputs: (Tensor | undefined)[]): Tensor[] => {
    const a = need(inputs, 0, 'A'), b = need(inputs, 1, 'B');
    if (a.dtype !== b.dtype) throw new Error(`operand types differ (${a.dtype} and ${b.dtype})`);
    if (a.dtype === 'float32') return [f32Arith(op, a, b)];
    if (isBig(a.dtype)) return [binaryLoop(a, b, a.dtype, big)];
    if (a.dtype === 'float16' || a.dtype === 'bfloat16') throw new Error(`${a.dtype} arithmetic is not supported`);
    const isInt = a.dtype !== 'float64';
    return [binaryLoop(a, b, a.dtype, isInt && intNum ? intNum : num)];
  };
}

const truncDiv: NumFn = (x, y) => (y === 0 ? 0 : Math.trunc(x / y));
registerKernel('Add', arith('add', (x, y) => x + y, (x, y) => x + y));
registerKernel('Sub', arith('sub', (x, y) => x - y, (x, y) => x - y));
registerKernel('Mul', arith('mul', (x, y) => x * y, (x, y) => x * y, (x, y) => {
  const p = x * y;
  // 32-bit products can exceed 2^53; imul gives the wrapped result integer types expect.
  return Number.isSafeInteger(p) ? p : Math.imul(x, y);
}));
registerKernel('Div', arith('div', (x, y) => x / y, (x, y) => (y === 0n ? 0n : x / y), truncDiv));

registerKernel('Pow', (inputs) => {
  const a = need(inputs, 0, 'X'), b = need(inputs, 1, 'Y');
  // The result has the base's type; mixed exponent types are converted through numbers.
  if (isBig(a.dtype)) {
    return [binaryLoop(a, b, a.dtype, (x: bigint, y: number | bigint) => BigInt(Math.trunc(Math.pow(Number(x), Number(y)))))];
  }
  const isInt = !(a.dtype === 'float32' || a.dtype === 'float64');
  return [binaryLoop(a, b, a.dtype, (x: number, y: number | bigint) => (isInt ? Math.trunc(Math.pow(x, Number(y))) : Math.pow(x, Number(y))))];
});

function compare(f: (x: any, y: any) => boolean) {
  return (inputs: (Tensor | undefined)[]): Tensor[] => {
    const a = need(inputs, 0, 'A'), b = need(inputs, 1, 'B');
    return [binaryLoop(a, b, 'bool', (x, y) => (f(x, y) ? 1 : 0))];
  };
}
registerKernel('Equal', compare((x, y) => x === y));
registerKernel('Less', compare((x, y) => x < y));
registerKernel('LessOrEqual', compare((x, y) => x <= y));
registerKernel('Greater', compare((x, y) => x > y));
registerKernel('GreaterOrEqual', compare((x, y) => x >= y));
registerKernel('And', compare((x, y) => x !== 0 && y !== 0));
registerKernel('Or', compare((x, y) => x !== 0 || y !== 0));
registerKernel('Xor', compare((x, y) => (x !== 0) !== (y !== 0)));
registerKernel('Not', (inputs) => {
  const x = need(inputs, 0, 'X');
  const out = make('bool', x.dims.slice());
  const s = x.data as Uint8Array, o = out.data as Uint8Array;
  for (let i = 0; i < s.length; i++) o[i] = s[i] ? 0 : 1;
  return [out];
});

/** Variadic Min/Max/Sum/Mean: folds the inputs pairwise with broadcasting. NaN wins in Min/Max, as in numpy. */
function variadic(f: (x: any, y: any) => any, finish?: (t: Tensor, n: number) => void) {
  return (inputs: (Tensor | undefined)[]): Tensor[] => {
    const ts = inputs.filter((t): t is Tensor => !!t);
    if (ts.length === 0) throw new Error('needs at least one input');
    let acc = binaryLoop(ts[0], ts[0], ts[0].dtype, (x) => x);
    for (let i = 1; i < ts.length; i++) acc = binaryLoop(acc, ts[i], acc.dtype, f);
    finish?.(acc, ts.length);
    return [acc];
  };
}
const nanMin = (x: any, y: any) => (x !== x ? x : y !== y ? y : x < y ? x : y);
const nanMax = (x: any, y: any) => (x !== x ? x : y !== y ? y : x > y ? x : y);
registerKernel('Min', variadic(nanMin));
registerKernel('Max', variadic(nanMax));
registerKernel('Sum', variadic((x, y) => x + y));
registerKernel('Mean', variadic((x, y) => x + y, (t, n) => {
  const d = t.data as Float32Array;
  for (let i = 0; i < d.length; i++) d[i] /= n;
}));

registerKernel('Where', (inputs) => {
  const c = need(inputs, 0, 'condition'), x = need(inputs, 1, 'X'), y = need(inputs, 2, 'Y');
  const dims = broadcastDims(c.dims, x.dims, y.dims);
  const out = make(x.dtype, dims);
  const cd = c.data as Uint8Array, xd = x.data as AnyArray, yd = y.data as AnyArray, o = out.data as AnyArray;
  if (o.length === 0) return [out];
  forEachRun(broadcastPlan(dims, [c.dims, x.dims, y.dims]), (start, len, offs, inner) => {
    let ic = offs[0], ix = offs[1], iy = offs[2];
    for (let i = 0; i < len; i++, ic += inner[0], ix += inner[1], iy += inner[2]) o[start + i] = cd[ic] ? xd[ix] : yd[iy];
  });
  return [out];
});
