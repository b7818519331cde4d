// Elementwise unary operators and activations (Relu, Sigmoid, Clip, Gelu, ...).

import { attrFloat, attrString, type Node } from '../../ir/graph';
import type { Tensor } from '../../ir/tensor';
import { registerKernel } from '../kernel';
import { isBig, make, need, scalar, type AnyArray } from './util';

/** erf to about 1e-7 relative: a series near 0, Numerical Recipes' erfc Chebyshev fit elsewhere. */
export function erf(x: number): number {
  const z = Math.abs(x);
  if (z < 0.5) {
    // Maclaurin series: exact to float64 rounding here, where the fit's absolute error would be large relative to erf.
    const x2 = x * x;
    return 1.1283791670955126 * x * (1 - x2 / 3 + (x2 * x2) / 10 - (x2 * x2 * x2) / 42 + (x2 * x2 * x2 * x2) / 216 - (x2 * x2 * x2 * x2 * x2) / 1320 + (x2 * x2 * x2 * x2 * x2 * x2) / 9360);
  }
  const t = 1 / (1 + 0.5 * z);
  const r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? 1 - r : r - 1;
}

function unary(f: (x: number, node: Node) => number, opts: { ints?: boolean } = {}) {
  return (inputs: (Tensor | undefined)[], node: Node): Tensor[] => {
    const x = need(inputs, 0, 'X');
    if (isBig(x.dtype)) {
      if (!opts.ints) throw new Error(`${x.dtype} input is not supported`);
      const out = make(x.dtype, x.dims.slice());
      const s = x.data as BigInt64Array, o = out.data as BigInt64Array;
      for (let i = 0; i < s.length; i++) o[i] = BigInt(f(Number(s[i]), node));
      return [out];
    }
    if (x.dtype !== 'float32' && x.dtype !== 'float64' && !opts.ints) throw new Error(`${x.dtype} input is not supported`);
    const out = make(x.dtype, x.dims.slice());
    const s = x.data as Float32Array, o = out.data as Float32Array;
    for (let i = 0; i < s.length; i++) o[i] = f(s[i], node);
    return [out];
  };
}

registerKernel('Relu', unary((x) => Math.max(x, 0), { ints: true }));
registerKernel('Neg', unary((x) => -x, { ints: true }));
registerKernel('Abs', unary((x) => Math.abs(x), { ints: true }));
registerKernel('Sign', unary((x) => Math.sign(x), { ints: true }));
registerKernel('Sigmoid', unary((x) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)))));
registerKernel('Tanh', unary((x) => Math.tanh(x)));
registerKernel('Exp', unary((x) => Math.exp(x)));
registerKernel('Log', unary((x) => Math.log(x)));
registerKernel('Sqrt', unary((x) => Math.sqrt(x)));
registerKernel('Reciprocal', unary((x) => 1 / x));
registerKernel('Floor', unary((x) => Math.floor(x)));
registerKernel('Ceil', unary((x) => Math.ceil(x)));
registerKernel('Cos', unary((x) => Math.cos(x)));
registerKernel('Sin', unary((x) => Math.sin(x)));
registerKernel('Erf', unary((x) => erf(x)));
registerKernel('Softplus', unary((x) => (x > 20 ? x : Math.log1p(Math.exp(x)))));
registerKernel('LeakyRelu', unary((x, n) => (x >= 0 ? x : attrFloat(n, 'alpha', 0.01) * x)));
registerKernel('Elu', unary((x, n) => (x >= 0 ? x : attrFloat(n, 'alpha', 1) * (Math.exp(x) - 1))));
registerKernel('HardSigmoid', (inputs, node) => {
  const alpha = attrFloat(node, 'alpha', 0.2), beta = attrFloat(node, 'beta', 0.5);
  return unary((x) => Math.max(0, Math.min(1, alpha * x + beta)))(inputs, node);
});
registerKernel('HardSwish', unary((x) => x * Math.max(0, Math.min(1, x / 6 + 0.5))));
registerKernel('Gelu', (inputs, node) => {
  const approx = attrString(node, 'approximate', 'none');
  if (approx === 'tanh') {
    const c = Math.sqrt(2 / Math.PI);
    return unary((x) => 0.5 * x * (1 + Math.tanh(c * (x + 0.044715 * x * x * x))))(inputs, node);
  }
  return unary((x) => 0.5 * x * (1 + erf(x / Math.SQRT2)))(inputs, node);
});

// Clip: bounds are attributes before opset 11, optional scalar inputs since; any numeric type.
registerKernel('Clip', (inputs, node, ctx) => {
  const x = need(inputs, 0, 'input');
  const out = make(x.dtype, x.dims.slice());
  const s = x.data as AnyArray, o = out.data as AnyArray;
  if (isBig(x.dtype)) {
    const lo = inputs[1] ? (inputs[1].data[0] as bigint) : undefined;
    const hi = inputs[2] ? (inputs[2].data[0] as bigint) : undefined;
    for (let i = 0; i < s.length; i++) {
      let v = s[i] as bigint;
      if (lo !== undefined && v < lo) v = lo;
      if (hi !== undefined && v > hi) v = hi;
      o[i] = v;
    }
    return [out];
  }
  let lo = -Infinity, hi = Infinity;
  if (ctx.opset < 11) {
    lo = attrFloat(node, 'min', -Infinity);
    hi = attrFloat(node, 'max', Infinity);
  } else {
    if (inputs[1]) lo = scalar(inputs[1]);
    if (inputs[2]) hi = scalar(inputs[2]);
  }
  // Min then max, as the spec and numpy.clip do when min > max (everything becomes max); NaN stays NaN.
  if (x.dtype === 'float32') {
    // The hot case (ReLU6 in MobileNets): a monomorphic loop.
    const sf = x.data as Float32Array, of = out.data as Float32Array;
    // Math.min/max compile to branch-free min/max instructions: about 2x faster than compares on
    // activations, whose signs the branch predictor cannot guess.
    for (let i = 0; i < sf.length; i++) of[i] = Math.min(Math.max(sf[i], lo), hi);
    return [out];
  }
  for (let i = 0; i < s.length; i++) {
    const v = s[i] as number;
    o[i] = v !== v ? v : Math.min(Math.max(v, lo), hi);
  }
  return [out];
});
