// What each parameter is to the operators that read it. Update schemes speak of "biases" and "weights";
// eval-mode exports rename parameters ("onnx::Conv_523"), so roles come from the consuming input slot,
// not from names.

import type { Graph } from '../ir/graph';
import type { LayerTree } from '../ir/layers';

export type ParamRole = 'weight' | 'bias' | 'norm-scale' | 'norm-bias' | 'embedding' | 'other';

const NORMS = new Set(['BatchNormalization', 'LayerNormalization', 'InstanceNormalization', 'GroupNormalization']);

export function paramRoles(graph: Graph, layers: LayerTree): Map<string, ParamRole> {
  const params = new Set<string>();
  for (const l of layers.layers.values()) for (const p of l.params) params.add(p);
  const roles = new Map<string, ParamRole>();
  const set = (p: string, r: ParamRole): void => {
    // A role seen through a linear operator wins over 'other' (e.g. a weight also read by a Shape).
    if (!roles.has(p) || roles.get(p) === 'other') roles.set(p, r);
  };
  // nn.Linear exported as MatMul(x, Transpose(W)): W is a weight.
  const matmulB = new Set<string>();
  for (const n of graph.nodes) if (n.opType === 'MatMul' && n.inputs[1]) matmulB.add(n.inputs[1]);
  for (const n of graph.nodes) {
    n.inputs.forEach((name, slot) => {
      if (!params.has(name)) return;
      const rank = graph.initializers.get(name)!.dims.length;
      if (n.opType === 'Conv' || n.opType === 'ConvTranspose' || n.opType === 'Gemm') set(name, slot === 2 ? 'bias' : 'weight');
      else if (NORMS.has(n.opType)) set(name, slot === 1 ? 'norm-scale' : slot === 2 ? 'norm-bias' : 'other');
      else if (n.opType === 'MatMul') set(name, 'weight');
      else if (n.opType === 'Transpose' && matmulB.has(n.outputs[0])) set(name, 'weight');
      else if (n.opType === 'Gather' && slot === 0) set(name, 'embedding');
      else if (n.opType === 'Add' && rank === 1) set(name, 'bias');
      else if (n.opType === 'Mul' && rank === 1) set(name, 'norm-scale'); // RMSNorm's weight, as exported
      else set(name, 'other');
    });
  }
  for (const p of params) if (!roles.has(p)) roles.set(p, 'other');
  // A name that says ".bias" is a bias even where the slot is ambiguous (e.g. Add after MatMul in 3-D Linear).
  for (const p of params) if (p.endsWith('.bias') && roles.get(p) !== 'norm-bias') roles.set(p, 'bias');
  return roles;
}
