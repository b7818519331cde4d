// Pooling. MaxPoolGrad recomputes the arg-max from the saved input (the Indices output is optional in
// ONNX, and recomputing keeps the forward graph as the user exported it).

import type { AttrValue } from '../../ir/graph';
import { PE, type GradRule } from './types';

const POOL_ATTRS = ['auto_pad', 'ceil_mode', 'count_include_pad', 'dilations', 'kernel_shape', 'pads', 'storage_order', 'strides'];

function poolAttrs(a: Record<string, AttrValue>): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  for (const k of POOL_ATTRS) if (a[k]) out[k] = a[k];
  return out;
}

export const poolRules: Record<string, GradRule> = {
  MaxPool: {
    grad: (c) => [c.emit1('MaxPoolGrad', [c.gy()!, c.x(0)], 'input', { domain: PE, attrs: poolAttrs(c.node.attrs), like: [c.x(0)] })],
  },
  AveragePool: {
    grad: (c) => [c.emit1('AveragePoolGrad', [c.gy()!, c.shapeOf(c.x(0))], 'input', { domain: PE, attrs: poolAttrs(c.node.attrs), like: [c.x(0)] })],
  },
  GlobalAveragePool: {
    grad: (c) => [c.emit1('GlobalAveragePoolGrad', [c.gy()!, c.shapeOf(c.x(0))], 'input', { domain: PE, like: [c.x(0)] })],
  },
};
