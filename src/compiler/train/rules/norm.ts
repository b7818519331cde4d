// Normalizations. Each gradient is one 'pockengine' operator with three outputs (input, scale, bias) that
// recomputes the statistics from the saved input, so it does not depend on which optional statistics
// outputs the exporter kept.

import { attrFloat, attrInt, type Node } from '../../ir/graph';
import { attrs } from '../builder';
import { PE, type GradRule } from './types';

/** Whether a BatchNormalization node normalizes with batch statistics (PyTorch's train()). */
export function batchNormTrains(node: Node, opset: number): boolean {
  if (opset >= 14) return attrInt(node, 'training_mode', 0) === 1;
  // BN-9 .. BN-13 has no attribute; exporters signal training mode by the extra outputs.
  return node.outputs.slice(1).some((o) => o !== '');
}

const threeWay = (op: string, extra: (c: Parameters<GradRule['grad']>[0]) => { inputs: string[]; attrs: Record<string, ReturnType<typeof attrs.int>> }): GradRule => ({
  differentiable: () => [0, 1, 2],
  grad: (c) => {
    const e = extra(c);
    const like = [c.x(0), c.x(1), c.node.inputs[2] || c.x(1)];
    const [dx, dscale, dbias] = c.emit(op, [c.gy()!, ...e.inputs], 'input_scale_bias', { domain: PE, attrs: e.attrs, outputs: 3, like });
    return [c.needs(0) ? dx : undefined, c.needs(1) ? dscale : undefined, c.node.inputs[2] && c.needs(2) ? dbias : undefined];
  },
});

export const normRules: Record<string, GradRule> = {
  BatchNormalization: threeWay('BatchNormGrad', (c) => {
    const training = batchNormTrains(c.node, c.opset);
    return {
      inputs: training ? [c.x(0), c.x(1)] : [c.x(0), c.x(1), c.x(3), c.x(4)],
      attrs: { epsilon: attrs.float(attrFloat(c.node, 'epsilon', 1e-5)), training_mode: attrs.int(training ? 1 : 0) },
    };
  }),
  LayerNormalization: threeWay('LayerNormGrad', (c) => ({
    inputs: [c.x(0), c.x(1)],
    attrs: { axis: attrs.int(attrInt(c.node, 'axis', -1)), epsilon: attrs.float(attrFloat(c.node, 'epsilon', 1e-5)) },
  })),
  InstanceNormalization: threeWay('InstanceNormGrad', (c) => ({
    inputs: [c.x(0), c.x(1)],
    attrs: { epsilon: attrs.float(attrFloat(c.node, 'epsilon', 1e-5)) },
  })),
};
