// Folding what frozen parameters make constant: an operator whose inputs are all constants (frozen
// parameters, exporter constants, outputs of other folded operators) computes the same value every step,
// so it moves to the prologue, run once when the program is built; its result is stored like a frozen
// parameter. Folding must not grow memory: an operator is folded when its result is small (shapes,
// scalars, at most FOLD_SMALL_BYTES) or when the constants it reads are read by nothing left in the step
// (a transposed copy replacing the frozen weight it came from).

import type { Node } from '../ir/graph';
import { rewriteFrozenNormGrads } from './frozenNormGrad';
import { producers, type Pass, type StepProgram } from './program';

export const FOLD_SMALL_BYTES = 16384;

/** Operators whose result depends on more than their inputs. */
const IMPURE = new Set(['RandomNormal', 'RandomUniform', 'RandomNormalLike', 'RandomUniformLike', 'Multinomial', 'Bernoulli', 'Dropout', 'If', 'Loop', 'Scan']);

export const foldFrozen: Pass = {
  name: 'fold-frozen',
  summary: 'computes once what only frozen parameters and constants feed',
  run(p0: StepProgram): StepProgram {
    const variable = new Set<string>([...p0.tg.trainable, ...p0.tg.bufferUpdates.keys(), ...p0.tg.dataInputs, ...p0.tg.state.map((s) => s.name)]);
    const isConstant = (v: string) => p0.tg.graph.initializers.has(v) && !variable.has(v);
    let p = p0;
    const rw = rewriteFrozenNormGrads(p0.tg, p0.order, isConstant);
    if (rw) {
      const removed = new Map(p0.removed);
      for (const [id, by] of rw.rewritten) removed.set(id, `folded: frozen BatchNorm gradient is a per-channel constant; replaced by ${by.join(', ') || 'nothing (no output used)'}`);
      p = { ...p0, tg: rw.tg, order: rw.order, removed, sizer: p0.sizer.forGraph(rw.tg.graph) };
    }
    const g = p.tg.graph;
    const constant = new Set<string>();
    for (const k of g.initializers.keys()) if (!variable.has(k)) constant.add(k);
    const bytes = (v: string): number => p.sizer.bytesOf(v);
    // Candidates: pure operators over constants, found in run order so chains fold together.
    const candidate = new Set<Node>();
    const cval = new Set(constant);
    for (const n of p.order) {
      if (IMPURE.has(n.opType)) continue;
      if (p.tg.ann.phase.get(n.id) === 'optimizer') continue;
      if (n.inputs.every((i) => i === '' || cval.has(i))) {
        candidate.add(n);
        for (const o of n.outputs) if (o) cval.add(o);
      }
    }
    const readersOfValue = new Map<string, Node[]>();
    for (const n of p.order) for (const i of n.inputs) if (i) (readersOfValue.get(i) ?? readersOfValue.set(i, []).get(i)!).push(n);
    const prod = producers(p.order);
    const folded = new Set<Node>();
    for (const n of p.order) {
      if (!candidate.has(n)) continue;
      if (!n.inputs.every((i) => !i || !prod.has(i) || folded.has(prod.get(i)!))) continue;
      const outBytes = n.outputs.reduce((s, o) => s + (o ? bytes(o) : 0), 0);
      const small = outBytes <= FOLD_SMALL_BYTES;
      const replaces = n.inputs.every((i) => !i || (readersOfValue.get(i) ?? []).every((r) => candidate.has(r)));
      if (small || replaces) folded.add(n);
    }
    if (folded.size === 0) return p;
    const removed = new Map(p.removed);
    for (const n of folded) removed.set(n.id, 'folded: reads only frozen parameters and constants, computed once before training');
    return {
      ...p,
      prologue: [...p.prologue, ...p.order.filter((n) => folded.has(n))],
      order: p.order.filter((n) => !folded.has(n)),
      removed,
    };
  },
};
