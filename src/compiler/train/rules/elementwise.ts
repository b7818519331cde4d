// Arithmetic with numpy broadcasting: each input's gradient is computed at the output's shape and then
// summed down to the input's own shape (ReduceToShape), as PyTorch's autograd does.

import type { GradRule } from './types';

export const elementwiseRules: Record<string, GradRule> = {
  Add: {
    grad: (c) => [c.needs(0) ? c.reduceTo(c.gy()!, 0) : undefined, c.needs(1) ? c.reduceTo(c.gy()!, 1) : undefined],
  },
  Sub: {
    grad: (c) => [
      c.needs(0) ? c.reduceTo(c.gy()!, 0) : undefined,
      c.needs(1) ? c.reduceTo(c.emit1('Neg', [c.gy()!], 'neg'), 1) : undefined,
    ],
  },
  Mul: {
    grad: (c) => [
      c.needs(0) ? c.reduceTo(c.emit1('Mul', [c.gy()!, c.x(1)], 'input0'), 0) : undefined,
      c.needs(1) ? c.reduceTo(c.emit1('Mul', [c.gy()!, c.x(0)], 'input1'), 1) : undefined,
    ],
  },
  Div: {
    // y = a / b: da = g / b, db = -g * y / b.
    grad: (c) => [
      c.needs(0) ? c.reduceTo(c.emit1('Div', [c.gy()!, c.x(1)], 'input0'), 0) : undefined,
      c.needs(1)
        ? c.reduceTo(c.emit1('Neg', [c.emit1('Div', [c.emit1('Mul', [c.gy()!, c.y()], 'input1_gy'), c.x(1)], 'input1_div')], 'input1'), 1)
        : undefined,
    ],
  },
  Neg: { grad: (c) => [c.emit1('Neg', [c.gy()!], 'input')] },
  Pow: {
    // y = a^b: da = g * b * a^(b-1), db = g * y * ln(a).
    grad: (c) => {
      const one = c.needs(0) ? c.constFloat(1) : '';
      return [
        c.needs(0)
          ? c.reduceTo(c.emit1('Mul', [c.gy()!, c.emit1('Mul', [c.x(1), c.emit1('Pow', [c.x(0), c.emit1('Sub', [c.x(1), one], 'exp_minus_1', { like: [c.x(1)] })], 'pow')], 'dpow')], 'base'), 0)
          : undefined,
        c.needs(1)
          ? c.reduceTo(c.emit1('Mul', [c.gy()!, c.emit1('Mul', [c.y(), c.emit1('Log', [c.x(0)], 'log', { like: [c.x(0)] })], 'dexp')], 'exponent'), 1)
          : undefined,
      ];
    },
  },
  Sqrt: {
    // dy/dx = 1 / (2 sqrt(x)) = 0.5 / y.
    grad: (c) => [c.emit1('Div', [c.emit1('Mul', [c.gy()!, c.constFloat(0.5)], 'half'), c.y()], 'input')],
  },
  Exp: { grad: (c) => [c.emit1('Mul', [c.gy()!, c.y()], 'input')] },
  Log: { grad: (c) => [c.emit1('Div', [c.gy()!, c.x(0)], 'input')] },
  Reciprocal: {
    grad: (c) => [c.emit1('Neg', [c.emit1('Mul', [c.gy()!, c.emit1('Mul', [c.y(), c.y()], 'square')], 'scaled')], 'input')],
  },
  Sin: { grad: (c) => [c.emit1('Mul', [c.gy()!, c.emit1('Cos', [c.x(0)], 'cos')], 'input')] },
  Cos: { grad: (c) => [c.emit1('Neg', [c.emit1('Mul', [c.gy()!, c.emit1('Sin', [c.x(0)], 'sin')], 'scaled')], 'input')] },
  Abs: { grad: (c) => [c.emit1('Mul', [c.gy()!, c.emit1('Sign', [c.x(0)], 'sign')], 'input')] },
  Sum: {
    grad: (c) => c.node.inputs.map((_, i) => (c.needs(i) ? c.reduceTo(c.gy()!, i) : undefined)),
  },
  Where: {
    // The condition is not differentiable; each branch receives the gradient where it was chosen.
    differentiable: () => [1, 2],
    grad: (c) => {
      const zero = c.constFloat(0);
      return [
        undefined,
        c.needs(1) ? c.reduceTo(c.emit1('Where', [c.x(0), c.gy()!, zero], 'then'), 1) : undefined,
        c.needs(2) ? c.reduceTo(c.emit1('Where', [c.x(0), zero, c.gy()!], 'else'), 2) : undefined,
      ];
    },
  },
};
