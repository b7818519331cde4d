// Gradients of pointwise activations read from the forward input X, in standard ONNX: dX = dY · f'(X),
// f' written with Where, comparisons and arithmetic, the same piecewise choices as the reference runtime's
// kernels (runtime/grad/pointwise.ts), edges included:
//   LeakyReluGrad   1 where x > 0, alpha elsewhere (x = 0 takes alpha)
//   HardSigmoidGrad alpha where 0 < alpha·x + beta < 1, else 0; the test in float64 as the reference does it,
//                   so an input at the edge of the linear part picks the same side
//   HardSwishGrad   0 below −3, 1 above 3, x/3 + 1/2 between (PyTorch's rule)
//   GeluGrad        exact: Φ(x) + x·φ(x) with Erf; 'tanh': the derivative of the tanh approximation
//   ErfGrad         2/√π · exp(−x²)
//   SoftplusGrad    Sigmoid(x)

import type { Node } from '../../ir/graph';
import { attrFloat, attrString } from '../../ir/graph';
import { ONNX_DOUBLE, type Emitter } from './emitter';

type Deriv = (e: Emitter, x: string, n: Node) => string;

/** dY · f'(X) into the node's output. */
const fromInput = (deriv: Deriv) => (e: Emitter, n: Node): void => {
  const [dy, x] = n.inputs;
  e.one('Mul', [dy, deriv(e, x, n)], {}, n.outputs[0]);
};

const leakyRelu: Deriv = (e, x, n) => e.one('Where', [e.one('Greater', [x, e.f32(0)]), e.f32(1), e.f32(attrFloat(n, 'alpha', 0.01))]);

const hardSigmoid: Deriv = (e, x, n) => {
  const a = attrFloat(n, 'alpha', 0.2), b = attrFloat(n, 'beta', 0.5);
  const t = e.one('Add', [e.one('Mul', [e.cast(x, ONNX_DOUBLE), e.f64(a)]), e.f64(b)]);
  const linear = e.one('And', [e.one('Greater', [t, e.f64(0)]), e.one('Less', [t, e.f64(1)])]);
  return e.one('Where', [linear, e.f32(a), e.f32(0)]);
};

const hardSwish: Deriv = (e, x) => {
  const mid = e.one('Add', [e.one('Div', [x, e.f32(3)]), e.f32(0.5)]);
  return e.one('Where', [e.one('Less', [x, e.f32(-3)]), e.f32(0), e.one('Where', [e.one('Greater', [x, e.f32(3)]), e.f32(1), mid])]);
};

const gelu: Deriv = (e, x, n) => {
  const x2 = e.one('Mul', [x, x]);
  if (attrString(n, 'approximate', 'none') === 'tanh') {
    // u = k(x + c·x³), t = tanh u: 0.5(1 + t) + 0.5·x·(1 − t²)·k·(1 + 3c·x²)
    const k = Math.sqrt(2 / Math.PI), c = 0.044715;
    const u = e.one('Mul', [e.one('Add', [x, e.one('Mul', [e.one('Mul', [x2, x]), e.f32(c)])]), e.f32(k)]);
    const t = e.one('Tanh', [u]);
    const half = e.one('Mul', [e.one('Add', [t, e.f32(1)]), e.f32(0.5)]);
    const sech2 = e.one('Sub', [e.f32(1), e.one('Mul', [t, t])]);
    const du = e.one('Add', [e.one('Mul', [x2, e.f32(3 * c * k)]), e.f32(k)]);
    return e.one('Add', [half, e.one('Mul', [e.one('Mul', [e.one('Mul', [x, e.f32(0.5)]), sech2]), du])]);
  }
  // Φ(x) = 0.5(1 + erf(x/√2)), φ(x) = exp(−x²/2)/√(2π)
  const cdf = e.one('Mul', [e.one('Add', [e.one('Erf', [e.one('Mul', [x, e.f32(Math.SQRT1_2)])]), e.f32(1)]), e.f32(0.5)]);
  const pdf = e.one('Mul', [e.one('Exp', [e.one('Mul', [x2, e.f32(-0.5)])]), e.f32(1 / Math.sqrt(2 * Math.PI))]);
  return e.one('Add', [cdf, e.one('Mul', [x, pdf])]);
};

const erfDeriv: Deriv = (e, x) => e.one('Mul', [e.one('Exp', [e.one('Neg', [e.one('Mul', [x, x])])]), e.f32(2 / Math.sqrt(Math.PI))]);

export const lowerLeakyReluGrad = fromInput(leakyRelu);
export const lowerHardSigmoidGrad = fromInput(hardSigmoid);
export const lowerHardSwishGrad = fromInput(hardSwish);
export const lowerGeluGrad = fromInput(gelu);
export const lowerErfGrad = fromInput(erfDeriv);
export const lowerSoftplusGrad = fromInput((e, x) => e.one('Sigmoid', [x]));
