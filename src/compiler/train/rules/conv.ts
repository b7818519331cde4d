// Convolutions (any groups, strides, dilations, pads; depthwise is groups = channels). Their gradients are
// the 'pockengine' ConvGradInput / ConvGradWeight / ConvGradBias operators, which carry the forward node's
// attributes: later passes prune them one by one (a frozen layer drops ConvGradWeight, a frozen prefix drops
// ConvGradInput) and the C back end has one kernel for each.

import type { AttrValue } from '../../ir/graph';
import { PE, type GradRule } from './types';

const CONV_ATTRS = ['auto_pad', 'dilations', 'group', 'kernel_shape', 'pads', 'strides'];

function convAttrs(a: Record<string, AttrValue>): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  for (const k of CONV_ATTRS) if (a[k]) out[k] = a[k];
  return out;
}

export const convRules: Record<string, GradRule> = {
  Conv: {
    grad: (c) => {
      const g = c.gy()!;
      const a = convAttrs(c.node.attrs);
      return [
        c.needs(0) ? c.emit1('ConvGradInput', [g, c.x(1), c.shapeOf(c.x(0))], 'input', { domain: PE, attrs: a, like: [c.x(0)] }) : undefined,
        c.needs(1) ? c.emit1('ConvGradWeight', [c.x(0), g, c.x(1)], 'weight', { domain: PE, attrs: a, like: [c.x(1)] }) : undefined,
        c.node.inputs[2] && c.needs(2) ? c.emit1('ConvGradBias', [g], 'bias', { domain: PE, like: [c.x(2)] }) : undefined,
      ];
    },
  },
  ConvTranspose: {
    // ConvTranspose(x, W) is ConvGradInput(x, W): so dx = Conv(dy, W) and dW = ConvGradWeight(dy, x).
    grad: (c) => {
      if (c.node.attrs.output_shape || (c.node.attrs.auto_pad && c.node.attrs.auto_pad.value !== 'NOTSET')) {
        throw new Error(`ConvTranspose node "${c.node.name || c.node.id}": gradients with output_shape or auto_pad are not supported; export with explicit pads`);
      }
      const g = c.gy()!;
      const a = convAttrs(c.node.attrs);
      return [
        c.needs(0) ? c.emit1('Conv', [g, c.x(1)], 'input', { attrs: a, like: [c.x(0)] }) : undefined,
        c.needs(1) ? c.emit1('ConvGradWeight', [g, c.x(0), c.x(1)], 'weight', { domain: PE, attrs: a, like: [c.x(1)] }) : undefined,
        c.node.inputs[2] && c.needs(2) ? c.emit1('ConvGradBias', [g], 'bias', { domain: PE, like: [c.x(2)] }) : undefined,
      ];
    },
  },
};
