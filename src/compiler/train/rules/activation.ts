// Pointwise activations. Their gradients are dedicated 'pockengine' operators (ReluGrad(dy, y), ...): one
// node per activation reads better in the backward view than the three or four ONNX nodes each would take,
// and the C back end emits one loop for each.

import { attr } from '../../ir/graph';
import { attrs } from '../builder';
import { PE, type GradRule } from './types';

const fromOutput = (op: string): GradRule => ({
  grad: (c) => [c.emit1(op, [c.gy()!, c.y()], 'input', { domain: PE, like: [c.x(0)] })],
});

const fromInput = (op: string, copy: string[] = []): GradRule => ({
  grad: (c) => {
    const a: Record<string, ReturnType<typeof attrs.int>> = {};
    for (const k of copy) if (c.node.attrs[k]) a[k] = c.node.attrs[k];
    return [c.emit1(op, [c.gy()!, c.x(0)], 'input', { domain: PE, attrs: a, like: [c.x(0)] })];
  },
});

export const activationRules: Record<string, GradRule> = {
  Relu: fromOutput('ReluGrad'),
  Sigmoid: fromOutput('SigmoidGrad'),
  Tanh: fromOutput('TanhGrad'),
  LeakyRelu: fromInput('LeakyReluGrad', ['alpha']),
  HardSigmoid: fromInput('HardSigmoidGrad', ['alpha', 'beta']),
  HardSwish: fromInput('HardSwishGrad'),
  Gelu: fromInput('GeluGrad', ['approximate']),
  Erf: fromInput('ErfGrad'),
  Softplus: fromInput('SoftplusGrad'),
  Clip: {
    // min and max (inputs 1, 2 from opset 11, attributes before) are bounds, not trained.
    differentiable: () => [0],
    grad: (c) => {
      const a: Record<string, ReturnType<typeof attrs.float>> = {};
      const lo = attr(c.node, 'min', 'float');
      const hi = attr(c.node, 'max', 'float');
      if (lo !== undefined) a.min = attrs.float(lo);
      if (hi !== undefined) a.max = attrs.float(hi);
      const bounds = [c.node.inputs[1] ?? '', c.node.inputs[2] ?? ''];
      while (bounds.length && bounds[bounds.length - 1] === '') bounds.pop();
      return [c.emit1('ClipGrad', [c.gy()!, c.x(0), ...bounds], 'input', { domain: PE, attrs: a, like: [c.x(0)] })];
    },
  },
};
