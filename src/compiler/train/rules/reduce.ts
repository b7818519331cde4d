// Reductions: the gradient spreads back over the reduced axes (divided by their size for the mean).
// Axes come from the attribute (older opsets) or the second input (ReduceSum 13+, ReduceMean 18+); the
// ReduceGrad operator takes both forms as the forward node had them.

import { attrInt } from '../../ir/graph';
import { attrs } from '../builder';
import { PE, type GradRule } from './types';

const reduceRule = (mean: number): GradRule => ({
  differentiable: () => [0],
  grad: (c) => {
    const a: Record<string, ReturnType<typeof attrs.int>> = {
      keepdims: attrs.int(attrInt(c.node, 'keepdims', 1)),
      noop_with_empty_axes: attrs.int(attrInt(c.node, 'noop_with_empty_axes', 0)),
      mean: attrs.int(mean),
    };
    if (c.node.attrs.axes) a.axes = c.node.attrs.axes;
    const ins = [c.gy()!, c.shapeOf(c.x(0))];
    if (c.node.inputs[1]) ins.push(c.node.inputs[1]);
    return [c.emit1('ReduceGrad', ins, 'input', { domain: PE, attrs: a, like: [c.x(0)] })];
  },
});

export const reduceRules: Record<string, GradRule> = {
  ReduceSum: reduceRule(0),
  ReduceMean: reduceRule(1),
};
