// The loss, appended to the forward graph as nodes of phase 'loss'. Cross-entropy is one fused
// 'pockengine' node (mean over every position, class axis last, like F.cross_entropy on logits reshaped to
// [-1, C]); mean-squared error is plain ONNX arithmetic, which autodiff differentiates like any other.

import { ModelError } from '../onnx/errors';
import { attrs, type GraphEditor } from './builder';

export type LossKind = 'cross_entropy' | 'mse';

export interface LossSpec {
  kind?: LossKind;
  /** The graph output the loss reads (default: the first). */
  output?: string;
  /** Name of the new graph input with the labels (int64 class ids) or targets (float). */
  target?: string;
}

export interface AppendedLoss {
  loss: string;
  /** The graph input to feed with labels or targets. */
  target: string;
  /** The model output the loss reads. */
  prediction: string;
  kind: LossKind;
}

export function appendLoss(ed: GraphEditor, spec: LossSpec = {}): AppendedLoss {
  const g = ed.graph;
  const kind = spec.kind ?? 'cross_entropy';
  const prediction = spec.output ?? g.outputs[0];
  if (!prediction || !g.values.has(prediction)) {
    throw new ModelError(`the loss needs a model output; "${spec.output ?? ''}" is not one (outputs: ${g.outputs.join(', ') || 'none'})`);
  }
  const target = ed.uniqueValue(spec.target ?? (kind === 'cross_entropy' ? 'labels' : 'targets'));
  const predShape = g.values.get(prediction)?.type?.shape ?? null;
  g.values.get(target)!.type = kind === 'cross_entropy'
    ? { dtype: 'int64', shape: predShape ? predShape.slice(0, -1) : null }
    : { dtype: 'float32', shape: predShape ? predShape.slice() : null };
  g.inputs.push(target);
  const at = { layer: '', phase: 'loss' as const };
  let loss: string;
  if (kind === 'cross_entropy') {
    loss = ed.add({ op: 'SoftmaxCrossEntropy', domain: 'pockengine', inputs: [prediction, target], id: 'loss/SoftmaxCrossEntropy', outputs: ['loss'], outputDtype: 'float32', ...at })[0];
  } else {
    const diff = ed.add({ op: 'Sub', inputs: [prediction, target], id: 'loss/mse/Sub', ...at })[0];
    const sq = ed.add({ op: 'Mul', inputs: [diff, diff], id: 'loss/mse/Square', ...at })[0];
    loss = ed.add({ op: 'ReduceMean', inputs: [sq], id: 'loss/mse/ReduceMean', outputs: ['loss'], attrs: { keepdims: attrs.int(0) }, outputDtype: 'float32', ...at })[0];
  }
  g.values.get(loss)!.type = { dtype: 'float32', shape: [] };
  return { loss, target, prediction, kind };
}
