// Gradients of pointwise activations: dx = dy · f'(·), f' from the saved output or input.

import { attrFloat, attrString } from '../../ir/graph';
import { erf } from '../kernels/unary';
import { f32, floatTensor, register, sameDims } from './common';
import type { Tensor } from '../../ir/tensor';

function pointwise(op: string, deriv: (v: number, node: Parameters<Parameters<typeof register>[1]>[1]) => (v: number) => number): void {
  register(op, (inputs, node) => {
    const dy = f32(inputs[0], 'dY');
    const s = inputs[1] as Tensor;
    const sv = f32(s, 'saved value');
    if (!sameDims(inputs[0]!.dims, s.dims)) throw new Error(`dY [${inputs[0]!.dims}] and the saved value [${s.dims}] differ in shape`);
    const d = deriv(0, node);
    const out = new Float32Array(dy.length);
    for (let i = 0; i < dy.length; i++) out[i] = dy[i] * d(sv[i]);
    return [floatTensor(s.dims, out)];
  });
}

pointwise('ReluGrad', () => (y) => (y > 0 ? 1 : 0));
pointwise('SigmoidGrad', () => (y) => y * (1 - y));
pointwise('TanhGrad', () => (y) => 1 - y * y);
pointwise('LeakyReluGrad', (_, n) => {
  const a = attrFloat(n, 'alpha', 0.01);
  return (x) => (x > 0 ? 1 : a);
});
pointwise('HardSigmoidGrad', (_, n) => {
  const a = attrFloat(n, 'alpha', 0.2), b = attrFloat(n, 'beta', 0.5);
  return (x) => {
    const t = a * x + b;
    return t > 0 && t < 1 ? a : 0;
  };
});
// HardSwish(x) = x·max(0, min(1, x/6 + 1/2)); PyTorch's derivative: 0 below -3, 1 above 3, x/3 + 1/2 between.
pointwise('HardSwishGrad', () => (x) => (x < -3 ? 0 : x > 3 ? 1 : x / 3 + 0.5));
pointwise('GeluGrad', (_, n) => {
  if (attrString(n, 'approximate', 'none') === 'tanh') {
    const k = Math.sqrt(2 / Math.PI);
    return (x) => {
      const u = k * (x + 0.044715 * x * x * x);
      const t = Math.tanh(u);
      return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * 0.044715 * x * x);
    };
  }
  return (x) => 0.5 * (1 + erf(x / Math.SQRT2)) + (x * Math.exp(-0.5 * x * x)) / Math.sqrt(2 * Math.PI);
});
pointwise('ErfGrad', () => (x) => (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x));
pointwise('SoftplusGrad', () => (x) => 1 / (1 + Math.exp(-x)));

// ClipGrad(dY, X, min?, max?): the gradient passes where min <= x <= max (PyTorch's hardtanh/clamp rule).
register('ClipGrad', (inputs, node) => {
  const dy = f32(inputs[0], 'dY');
  const x = f32(inputs[1], 'X');
  const num = (t: Tensor | undefined): number | undefined => (t && t.data.length ? Number(t.data[0] as number) : undefined);
  const lo = num(inputs[2]) ?? (node.attrs.min ? attrFloat(node, 'min', -Infinity) : -Infinity);
  const hi = num(inputs[3]) ?? (node.attrs.max ? attrFloat(node, 'max', Infinity) : Infinity);
  const out = new Float32Array(dy.length);
  for (let i = 0; i < dy.length; i++) out[i] = x[i] >= lo && x[i] <= hi ? dy[i] : 0;
  return [floatTensor(inputs[1]!.dims, out)];
});

// DropoutGrad(dY, mask, ratio?, training_mode?): dY·mask/(1-ratio) in training mode, dY otherwise.
register('DropoutGrad', (inputs, node) => {
  const dy = f32(inputs[0], 'dY');
  const mask = inputs[1]!.data as Uint8Array;
  const ratio = inputs[2] ? Number(inputs[2].data[0] as number) : attrFloat(node, 'ratio', 0.5);
  // Without a training_mode input Dropout runs in inference form (identity, mask all ones).
  const training = inputs[3] ? Number(inputs[3].data[0] as number) !== 0 : false;
  const scale = training && ratio < 1 ? 1 / (1 - ratio) : 1;
  const out = new Float32Array(dy.length);
  for (let i = 0; i < dy.length; i++) out[i] = mask[i] ? dy[i] * scale : 0;
  return [floatTensor(inputs[0]!.dims, out)];
});
