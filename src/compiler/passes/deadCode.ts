// Dead-code elimination: nodes none of whose outputs lead to what the step returns (loss, updated
// parameters, optimizer state, BatchNorm buffers) are taken out, with the reason kept for the report.

import type { Pass, StepProgram } from './program';
import { producers, stepOutputs } from './program';

export const deadCode: Pass = {
  name: 'dead-code',
  summary: 'removes operators whose results the step never uses',
  run(p: StepProgram): StepProgram {
    const prod = producers([...p.prologue, ...p.order]);
    const live = new Set<string>();
    const stack = stepOutputs(p.tg).slice();
    const liveNodes = new Set<string>();
    while (stack.length) {
      const v = stack.pop()!;
      if (live.has(v)) continue;
      live.add(v);
      const n = prod.get(v);
      if (!n || liveNodes.has(n.id)) continue;
      liveNodes.add(n.id);
      for (const i of n.inputs) if (i !== '' && !live.has(i)) stack.push(i);
    }
    const removed = new Map(p.removed);
    const keep = (list: typeof p.order) => list.filter((n) => {
      if (liveNodes.has(n.id)) return true;
      removed.set(n.id, 'dead code: no output reaches the loss, an updated parameter or optimizer state');
      return false;
    });
    return { ...p, order: keep(p.order), prologue: keep(p.prologue), removed };
  },
};
