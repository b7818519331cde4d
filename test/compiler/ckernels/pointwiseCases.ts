// Pointwise family cases: Add/Sub/Mul/Div/Pow with numpy broadcasting (scalar, row, column, middle-axis
// and mutual broadcasts), every unary activation, and every activation gradient operator.

import { attrs as A } from '../../../src/compiler/train/builder';
import { binaryArgs, BINARY_OPS, CAST_TYPES, UNARY_GRAD_OPS, UNARY_OPS, whereArgs } from '../../../src/compiler/codegen/kernels/elementwise';
import type { AttrValue } from '../../../src/compiler/ir/graph';
import type { Tensor } from '../../../src/compiler/ir/tensor';
import { cf, f32, I64, oracle, rand, reseed, U, type CCase } from './harness';

const ints = (xs: number[]): string => `{${xs.join(', ')}}`;

export function cases(): CCase[] {
  reseed(33);
  const out: CCase[] = [];
  const shapes: [number[], number[]][] = [
    [[4, 7], [4, 7]], [[3, 5, 6], [1]], [[2, 3, 4, 5], [3, 1, 1]], [[6, 1], [1, 9]], [[2, 1, 5], [3, 1]], [[1], [2, 3]], [[8, 16, 3, 3], [16, 1, 1]],
  ];
  for (const [op, code] of Object.entries(BINARY_OPS)) {
    shapes.forEach(([ad, bd], k) => {
      const pos = op === 'Div' || op === 'Pow';
      const a = pos ? U(ad, 0.5, 2) : U(ad), b = pos ? U(bd, 0.5, 2) : U(bd);
      const y = oracle(op, [a, b])[0];
      const args = binaryArgs(ad, bd);
      const r = args.dims.length;
      out.push({
        name: `${op} [${ad}] [${bd}] #${k}`,
        inputs: { a: f32(a), b: f32(b) }, outputs: { y: { expect: f32(y) } },
        code: `static const int dims[] = ${ints(args.dims)}; static const ptrdiff_t as[] = ${ints(args.as)}, bs[] = ${ints(args.bs)};
    pe_binary(${code}, ${r}, dims, as, bs, a, b, y);`,
      });
    });
  }
  const dims = [3, 37];
  // name -> [ONNX op, attributes, C params, input range]
  const unary: [keyof typeof UNARY_OPS, string, Record<string, AttrValue>, [number, number], [number, number]][] = [
    ['Relu', 'Relu', {}, [0, 0], [-3, 3]], ['Neg', 'Neg', {}, [0, 0], [-3, 3]], ['Sigmoid', 'Sigmoid', {}, [0, 0], [-8, 8]],
    ['Tanh', 'Tanh', {}, [0, 0], [-4, 4]], ['Exp', 'Exp', {}, [0, 0], [-3, 3]], ['Sqrt', 'Sqrt', {}, [0, 0], [0, 4]],
    ['Erf', 'Erf', {}, [0, 0], [-3, 3]], ['Gelu', 'Gelu', {}, [0, 0], [-4, 4]], ['GeluTanh', 'Gelu', { approximate: A.string('tanh') }, [0, 0], [-4, 4]],
    ['HardSwish', 'HardSwish', {}, [0, 0], [-5, 5]], ['HardSigmoid', 'HardSigmoid', { alpha: A.float(0.25), beta: A.float(0.4) }, [0.25, 0.4], [-5, 5]],
    ['Log', 'Log', {}, [0, 0], [0.1, 5]], ['Abs', 'Abs', {}, [0, 0], [-3, 3]], ['LeakyRelu', 'LeakyRelu', { alpha: A.float(0.1) }, [0.1, 0], [-3, 3]],
    ['Reciprocal', 'Reciprocal', {}, [0, 0], [0.5, 3]], ['Softplus', 'Softplus', {}, [0, 0], [-5, 25]],
    ['Cos', 'Cos', {}, [0, 0], [-6, 6]], ['Sin', 'Sin', {}, [0, 0], [-6, 6]],
  ];
  for (const [name, op, attrs, [p0, p1], [lo, hi]] of unary) {
    const x = U(dims, lo, hi);
    const y = oracle(op, [x], attrs)[0];
    out.push({
      name, inputs: { x: f32(x) }, outputs: { y: { expect: f32(y) } },
      code: `pe_unary(${UNARY_OPS[name]}, ${x.data.length}, x, y, ${cf(p0)}, ${cf(p1)});`,
    });
  }
  {
    const lo: Tensor = { dtype: 'float32', dims: [], data: Float32Array.of(0) }, hi: Tensor = { dtype: 'float32', dims: [], data: Float32Array.of(6) };
    const x = U(dims, -3, 9);
    const y = oracle('Clip', [x, lo, hi])[0];
    out.push({ name: 'Clip 0..6', inputs: { x: f32(x) }, outputs: { y: { expect: f32(y) } }, code: `pe_unary(${UNARY_OPS.Clip}, ${x.data.length}, x, y, 0.0f, 6.0f);` });
  }
  // Gradients: saved value is the forward output for Relu/Sigmoid/Tanh, the input for the rest.
  const grads: [keyof typeof UNARY_GRAD_OPS, string, Record<string, AttrValue>, [number, number], (x: Tensor) => Tensor][] = [
    ['ReluGrad', 'ReluGrad', {}, [0, 0], (x) => oracle('Relu', [x])[0]],
    ['SigmoidGrad', 'SigmoidGrad', {}, [0, 0], (x) => oracle('Sigmoid', [x])[0]],
    ['TanhGrad', 'TanhGrad', {}, [0, 0], (x) => oracle('Tanh', [x])[0]],
    ['HardSigmoidGrad', 'HardSigmoidGrad', { alpha: A.float(0.25), beta: A.float(0.4) }, [0.25, 0.4], (x) => x],
    ['HardSwishGrad', 'HardSwishGrad', {}, [0, 0], (x) => x],
    ['GeluGrad', 'GeluGrad', {}, [0, 0], (x) => x],
    ['GeluTanhGrad', 'GeluGrad', { approximate: A.string('tanh') }, [0, 0], (x) => x],
    ['ErfGrad', 'ErfGrad', {}, [0, 0], (x) => x],
    ['LeakyReluGrad', 'LeakyReluGrad', { alpha: A.float(0.1) }, [0.1, 0], (x) => x],
    ['SoftplusGrad', 'SoftplusGrad', {}, [0, 0], (x) => x],
  ];
  for (const [name, op, attrs, [p0, p1], saved] of grads) {
    const x = U(dims, -4, 4), dy = U(dims);
    const s = saved(x);
    const dx = oracle(op, [dy, s], attrs, { domain: 'pockengine' })[0];
    out.push({
      name, inputs: { dy: f32(dy), s: f32(s) }, outputs: { dx: { expect: f32(dx) } },
      code: `pe_unary_grad(${UNARY_GRAD_OPS[name]}, ${dy.data.length}, dy, s, dx, ${cf(p0)}, ${cf(p1)});`,
    });
  }
  {
    const x = U(dims, -2, 8), dy = U(dims);
    const dx = oracle('ClipGrad', [dy, x, { dtype: 'float32', dims: [], data: Float32Array.of(0) }, { dtype: 'float32', dims: [], data: Float32Array.of(6) }], {}, { domain: 'pockengine' })[0];
    out.push({ name: 'ClipGrad', inputs: { dy: f32(dy), s: f32(x) }, outputs: { dx: { expect: f32(dx) } }, code: `pe_unary_grad(${UNARY_GRAD_OPS.ClipGrad}, ${dy.data.length}, dy, s, dx, 0.0f, 6.0f);` });
  }
  // Sum (gradient accumulation), Where with broadcasting, DropoutGrad, Cast.
  {
    const a = U([5, 7]), b = U([5, 7]), c = U([5, 7]);
    const y = oracle('Sum', [a, b, c])[0];
    out.push({ name: 'Sum of 3', inputs: { a: f32(a), b: f32(b), c: f32(c) }, outputs: { y: { expect: f32(y) } },
      code: 'const float *xs[3] = {a, b, c};\n    pe_sum_n(35, 3, xs, y);' });
  }
  {
    const cond = { dtype: 'bool' as const, dims: [4, 1, 6], data: Uint8Array.from({ length: 24 }, () => (rand() < 0.5 ? 1 : 0)) };
    const x = U([3, 6]), y = U([4, 3, 1]);
    const o = oracle('Where', [cond, x, y])[0];
    const w = whereArgs([4, 1, 6], [3, 6], [4, 3, 1]);
    out.push({ name: 'Where broadcast', inputs: { c: cond.data, x: f32(x), y: f32(y) }, outputs: { o: { expect: f32(o) } },
      code: `static const int dims[] = ${ints(w.dims)}; static const ptrdiff_t cs[] = ${ints(w.cs)}, xs[] = ${ints(w.xs)}, ys[] = ${ints(w.ys)};
    pe_where(${w.dims.length}, dims, cs, xs, ys, c, x, y, o);` });
  }
  {
    const dy = U([4, 9]);
    const mask = { dtype: 'bool' as const, dims: [4, 9], data: Uint8Array.from({ length: 36 }, () => (rand() < 0.7 ? 1 : 0)) };
    const ratio = { dtype: 'float32' as const, dims: [], data: Float32Array.of(0.25) };
    const training = { dtype: 'bool' as const, dims: [], data: Uint8Array.of(1) };
    const dx = oracle('DropoutGrad', [dy, mask, ratio, training], {}, { domain: 'pockengine' })[0];
    out.push({ name: 'DropoutGrad training', inputs: { dy: f32(dy), m: mask.data }, outputs: { dx: { expect: f32(dx) } },
      code: `pe_dropout_grad(36, dy, m, ${cf(1 / 0.75)}, dx);` });
  }
  {
    const i = I64([3, -2, 0, 7, 123456]);
    const y = oracle('Cast', [i], { to: A.int(1) })[0];
    const bo = { dtype: 'bool' as const, dims: [4], data: Uint8Array.of(1, 0, 0, 1) };
    const yb = oracle('Cast', [bo], { to: A.int(1) })[0];
    out.push({ name: 'Cast int64/bool -> float', inputs: { i: i.data as BigInt64Array, b: bo.data }, outputs: { y: { expect: f32(y) }, yb: { expect: f32(yb) } },
      code: `pe_cast(5, ${CAST_TYPES.int64}, i, ${CAST_TYPES.float32}, y);\n    pe_cast(4, ${CAST_TYPES.bool}, b, ${CAST_TYPES.float32}, yb);` });
  }
  return out;
}
