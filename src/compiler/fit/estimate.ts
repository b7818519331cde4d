// A cheap, additive model of what an update option adds to the peak, used only to ORDER the search; every
// scheme the search returns is then measured with the real planner (compile()). Two terms:
//   own   — the option's gradient (its trained elements) plus, for weight options, the activation its
//           weight gradient reads (the first consumer's input);
//   depth — backward must reach the unit's first forward node, so every forward output from there to the
//           loss may be kept for backward: the suffix sum of forward output bytes from that position.
// est(S) = P_frozen + scale * (sum own + depth(min position)), with `scale` calibrated so that the all-full
// scheme's estimate equals its real planned peak.

import type { LoadedModel } from '../loadModel';
import { valueSizer } from '../plan/bytes';
import type { UpdateUnit } from './units';

export interface CostModel {
  /** own[u][j]: own bytes of option j of unit u (units as given). */
  own: number[][];
  /** Depth term of a unit's position. */
  depth: number[];
  frozenPeak: number;
  scale: number;
}

export function rawCosts(loaded: LoadedModel, units: readonly UpdateUnit[], dims: Record<string, number> = {}): { own: number[][]; depth: number[] } {
  const g = loaded.model.graph;
  const sizer = valueSizer(g, dims);
  const suffix = new Array<number>(g.nodes.length + 1).fill(0);
  for (let i = g.nodes.length - 1; i >= 0; i--) suffix[i] = suffix[i + 1] + g.nodes[i].outputs.reduce((a, v) => a + (v ? sizer.bytesOf(v) : 0), 0);
  const consumerInput = (param: string): number => {
    const n = g.nodes.find((m) => m.inputs.includes(param));
    const x = n?.inputs.find((v) => v && v !== param && !g.initializers.has(v));
    return x ? sizer.bytesOf(x) : 0;
  };
  const own = units.map((u) => u.options.map((o) => {
    const w = o.slices.filter((s) => s.role === 'weight' || s.role === 'embedding');
    return 4 * o.elements + w.reduce((a, s) => a + consumerInput(s.param), 0);
  }));
  return { own, depth: units.map((u) => suffix[u.position]) };
}

/** Raw estimate of a choice (option index per unit, -1 frozen). */
export function rawEstimate(c: Pick<CostModel, 'own' | 'depth'>, choice: readonly number[]): number {
  let own = 0;
  let depth = 0;
  choice.forEach((j, u) => {
    if (j < 0) return;
    own += c.own[u][j];
    depth = Math.max(depth, c.depth[u]);
  });
  return own + depth;
}

export function estimate(c: CostModel, choice: readonly number[]): number {
  return c.frozenPeak + c.scale * rawEstimate(c, choice);
}
