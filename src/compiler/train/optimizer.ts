// The optimizer graph: one update node per trainable parameter, with torch.optim's semantics. Optimizer
// state (momentum buffers, Adam moments, the step count) are graph inputs with matching "next" outputs, so
// the step is a pure function of (data, parameters, state) -> (loss, parameters', state') that the runtime,
// the memory planner and an exported binary all see the same way.

import type { GraphEditor } from './builder';
import { attrs } from './builder';
import type { AttrValue } from '../ir/graph';

export type OptimizerSpec =
  | { kind: 'sgd'; lr: number; momentum?: number; dampening?: number; nesterov?: boolean; weightDecay?: number }
  | { kind: 'adam' | 'adamw'; lr: number; beta1?: number; beta2?: number; eps?: number; weightDecay?: number };

export interface OptimizerStateValue {
  /** Graph input holding the state before the step. */
  name: string;
  /** Value holding it after the step. */
  next: string;
  /** The parameter it belongs to ('' for the shared step count). */
  param: string;
  /** torch.optim's name for it. */
  kind: 'momentum_buffer' | 'exp_avg' | 'exp_avg_sq' | 'step';
  dtype: 'float32' | 'int64';
  dims: number[];
}

export interface AppendedOptimizer {
  /** Parameter -> value of its updated tensor. */
  updated: Map<string, string>;
  state: OptimizerStateValue[];
}

/** Steps already taken is a state value: Adam's bias correction and SGD's first momentum step read it. */
const STEP = 'optimizer.step';

export function appendOptimizer(
  ed: GraphEditor,
  grads: Map<string, string>,
  spec: OptimizerSpec,
  paramInfo: (p: string) => { layer: string; dims: number[] },
): AppendedOptimizer {
  const g = ed.graph;
  const state: OptimizerStateValue[] = [];
  const updated = new Map<string, string>();
  const stateInput = (name: string, dtype: 'float32' | 'int64', dims: number[]): string => {
    const v = ed.uniqueValue(name);
    g.values.get(v)!.type = { dtype, shape: dims.slice() };
    g.inputs.push(v);
    return v;
  };
  const usesStep = spec.kind !== 'sgd' || (spec.momentum ?? 0) !== 0;
  let step = '';
  if (usesStep && grads.size > 0) {
    step = stateInput(STEP, 'int64', []);
    const one = ed.constInt64('optimizer/one', [1], []);
    const next = ed.add({ op: 'Add', inputs: [step, one], id: 'optimizer/step/Add', outputs: [`${STEP}.next`], layer: '', phase: 'optimizer', like: [step] })[0];
    state.push({ name: step, next, param: '', kind: 'step', dtype: 'int64', dims: [] });
  }
  for (const [p, grad] of grads) {
    const { layer, dims } = paramInfo(p);
    const at = { layer, phase: 'optimizer' as const, id: `optimizer/${p}/${spec.kind === 'sgd' ? 'SGD' : 'Adam'}` };
    if (spec.kind === 'sgd') {
      const momentum = spec.momentum ?? 0;
      const a: Record<string, AttrValue> = {
        lr: attrs.float(spec.lr), momentum: attrs.float(momentum), dampening: attrs.float(spec.dampening ?? 0),
        nesterov: attrs.int(spec.nesterov ? 1 : 0), weight_decay: attrs.float(spec.weightDecay ?? 0),
      };
      if (momentum === 0) {
        const [pNext] = ed.add({ op: 'SGD', domain: 'pockengine', inputs: [p, grad], outputs: [`${p}.next`], attrs: a, like: [p], ...at });
        updated.set(p, pNext);
      } else {
        const buf = stateInput(`optimizer.${p}.momentum_buffer`, 'float32', dims);
        const [pNext, bufNext] = ed.add({ op: 'SGD', domain: 'pockengine', inputs: [p, grad, buf, step], outputs: [`${p}.next`, `${buf}.next`], attrs: a, like: [p, p], ...at });
        updated.set(p, pNext);
        state.push({ name: buf, next: bufNext, param: p, kind: 'momentum_buffer', dtype: 'float32', dims });
      }
    } else {
      const a: Record<string, AttrValue> = {
        lr: attrs.float(spec.lr), beta1: attrs.float(spec.beta1 ?? 0.9), beta2: attrs.float(spec.beta2 ?? 0.999),
        epsilon: attrs.float(spec.eps ?? 1e-8), weight_decay: attrs.float(spec.weightDecay ?? (spec.kind === 'adamw' ? 0.01 : 0)),
        decoupled: attrs.int(spec.kind === 'adamw' ? 1 : 0),
      };
      const m = stateInput(`optimizer.${p}.exp_avg`, 'float32', dims);
      const v = stateInput(`optimizer.${p}.exp_avg_sq`, 'float32', dims);
      const [pNext, mNext, vNext] = ed.add({ op: 'Adam', domain: 'pockengine', inputs: [p, grad, m, v, step], outputs: [`${p}.next`, `${m}.next`, `${v}.next`], attrs: a, like: [p, p, p], ...at });
      updated.set(p, pNext);
      state.push({ name: m, next: mNext, param: p, kind: 'exp_avg', dtype: 'float32', dims });
      state.push({ name: v, next: vNext, param: p, kind: 'exp_avg_sq', dtype: 'float32', dims });
    }
  }
  return { updated, state };
}
