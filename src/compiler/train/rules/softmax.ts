// Softmax family and the cross-entropy loss. Before opset 13 Softmax/LogSoftmax flatten the input to 2-D
// at `axis`; the gradient operators take a `legacy` flag for that form.

import { attrInt } from '../../ir/graph';
import { attrs } from '../builder';
import { PE, type GradRule } from './types';

const softmaxLike = (op: string): GradRule => ({
  grad: (c) => {
    const legacy = c.opset < 13 ? 1 : 0;
    const axis = attrInt(c.node, 'axis', legacy ? 1 : -1);
    return [c.emit1(op, [c.gy()!, c.y()], 'input', { domain: PE, attrs: { axis: attrs.int(axis), legacy: attrs.int(legacy) }, like: [c.x(0)] })];
  },
});

export const softmaxRules: Record<string, GradRule> = {
  Softmax: softmaxLike('SoftmaxGrad'),
  LogSoftmax: softmaxLike('LogSoftmaxGrad'),
  'pockengine::SoftmaxCrossEntropy': {
    differentiable: () => [0],
    grad: (c) => [c.emit1('SoftmaxCrossEntropyGrad', [c.gy()!, c.x(0), c.x(1)], 'logits', { domain: PE, like: [c.x(0)] })],
  },
};
