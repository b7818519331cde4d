// Control flow with subgraphs: If (both branches inferred, dims that agree kept) and Loop (carried values
// keep their types, scan outputs gain a leading iteration axis). The bodies are inferred in place, with
// the enclosing graph's values in scope.

import type { Graph, ValueType } from '../graph';
import { attr } from '../graph';
import type { Dim } from '../shape';
import { type InferCtx, type ShapeRule, fail, t } from './context';

function unify(c: InferCtx, k: number, a: ValueType | null, b: ValueType | null): ValueType | null {
  if (!a || !b) return a ?? b;
  if (!a.shape || !b.shape || a.shape.length !== b.shape.length) return t(a.dtype, null);
  return t(a.dtype, a.shape.map((d, i): Dim => (d === b.shape![i] ? d : c.fresh(k, i))));
}

/** Whether a Loop body's condition output is its condition input (directly or through an Identity). */
function passesThrough(body: Graph): boolean {
  const condIn = body.inputs[1];
  const condOut = body.outputs[0];
  if (!condIn || !condOut) return false;
  if (condIn === condOut) return true;
  const producer = body.nodes.find((n) => n.outputs.includes(condOut));
  return !!producer && producer.opType === 'Identity' && producer.inputs[0] === condIn;
}

export const controlRules: Record<string, ShapeRule> = {
  If: (c) => {
    const thenG = attr(c.node, 'then_branch', 'graph');
    const elseG = attr(c.node, 'else_branch', 'graph');
    if (!thenG || !elseG) fail('If needs then_branch and else_branch');
    const a = c.subgraph(thenG, []);
    const b = c.subgraph(elseG, []);
    const cond = c.value(0);
    if (cond && typeof cond.data[0] === 'number') return cond.data[0] ? a : b;
    return c.node.outputs.map((_, k) => unify(c, k, a[k] ?? null, b[k] ?? null));
  },
  Loop: (c) => {
    const body = attr(c.node, 'body', 'graph');
    if (!body) fail('Loop needs a body');
    const carried = c.numInputs - 2;
    // Body inputs: iteration number, condition, then the carried values.
    const bodyIn: (ValueType | null)[] = [t('int64', []), t('bool', [])];
    for (let i = 0; i < carried; i++) bodyIn.push(c.type(i + 2));
    const bodyOut = c.subgraph(body, bodyIn);
    const trip = c.has(0) ? c.value(0) : undefined;
    const cond = c.has(1) ? c.value(1) : undefined;
    // The trip count is exact when the condition cannot stop the loop early: absent, or true and passed
    // through the body unchanged.
    const condFixed = !c.has(1) || (cond?.data[0] === 1 && passesThrough(body));
    const iters: Dim = cond?.data[0] === 0 ? 0 : trip && typeof trip.data[0] === 'number' && condFixed ? trip.data[0] : c.fresh(carried, 0);
    return c.node.outputs.map((_, k) => {
      if (k < carried) return c.type(k + 2) ?? bodyOut[k + 1] ?? null;
      const s = bodyOut[k + 1];
      if (!s) return null;
      return t(s.dtype, s.shape ? [iters, ...s.shape] : null);
    });
  },
};
