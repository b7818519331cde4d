// Search: the scheme with the highest total contribution whose planned peak fits a budget.
// 1. Greedy multiple-choice knapsack on the cost model (estimate.ts): repeatedly take the upgrade (a unit
//    from frozen or a smaller option to a larger one) with the best contribution gained per estimated byte
//    added, while the estimate fits.
// 2. Verify with the real planner (compile(), the arena's peakBytes). On overshoot, re-run the greedy with
//    the budget lowered by the overshoot (a few times), then repair: drop the chosen unit with the worst
//    contribution per estimated byte it frees, one compile per drop, until the real peak fits.
// 3. Fill: try the best remaining upgrades one by one with the real planner, keeping those that still fit.
// The trade-off curve runs the search over budgets from the largest down and keeps the returned peak
// monotone: at a tighter budget the previous point's scheme is kept whenever the new one would plan higher.

import type { LoadedModel } from '../loadModel';
import type { Scheme } from '../sparse/scheme';
import type { DeviceProfile } from '../backends/profile';
import { compile } from '../compile';
import { ModelError } from '../onnx/errors';
import type { Contributions } from './contribution';
import { estimate, rawCosts, rawEstimate, type CostModel } from './estimate';
import { schemeOf, type FitOption, type UpdateUnit } from './units';

export interface FitChoice {
  unit: string;
  option: FitOption;
  score: number;
}

export interface FitPoint {
  budgetBytes: number;
  /** compile()'s memory.peakBytes for `scheme` (the real planner). */
  peakBytes: number;
  contribution: number;
  scheme: Scheme;
  choices: FitChoice[];
}

export interface SearchContext {
  loaded: LoadedModel;
  units: UpdateUnit[];
  /** value[u][j]: contribution of option j of unit u. */
  value: number[][];
  cost: CostModel;
  batchnorm: Scheme['batchnorm'];
  target: string | DeviceProfile;
  dims: Record<string, number>;
  /** Real planned peak of a scheme (memoised). */
  peakOf(choice: readonly number[]): number;
  /** compile() calls so far. */
  compiles: number;
  fullPeak: number;
}

export function searchContext(loaded: LoadedModel, units: UpdateUnit[], contrib: Contributions, opts: { target?: string | DeviceProfile; dims?: Record<string, number> } = {}): SearchContext {
  const byUnit = new Map(contrib.units.map((u) => [u.unit, new Map(u.options.map((o) => [o.option, o.score]))]));
  const value = units.map((u) => u.options.map((o) => {
    const s = byUnit.get(u.id)?.get(o.option);
    if (s === undefined) throw new ModelError(`the contribution analysis has no score for ${u.id} (${o.option}); it was made for another model: delete the model's .pockengine-contrib.json and run the analysis again`);
    return s;
  }));
  const batchnorm = contrib.batchnorm;
  const target = opts.target ?? 'host';
  const dims = opts.dims ?? {};
  const memo = new Map<string, number>();
  const ctx: SearchContext = {
    loaded, units, value, batchnorm, target, dims, compiles: 0, fullPeak: 0,
    cost: { ...rawCosts(loaded, units, dims), frozenPeak: 0, scale: 1 },
    peakOf(choice) {
      const key = choice.join(',');
      let p = memo.get(key);
      if (p === undefined) {
        ctx.compiles++;
        p = compile(loaded, { scheme: schemeFor(ctx, choice), target, dims, compare: 'none' }).memory.peakBytes;
        memo.set(key, p);
      }
      return p;
    },
  };
  const frozen = units.map(() => -1);
  const full = units.map((u) => u.options.length - 1);
  ctx.cost.frozenPeak = ctx.peakOf(frozen);
  ctx.fullPeak = ctx.peakOf(full);
  const raw = rawEstimate(ctx.cost, full);
  ctx.cost.scale = raw > 0 ? Math.max(ctx.fullPeak - ctx.cost.frozenPeak, 1) / raw : 1;
  return ctx;
}

function schemeFor(ctx: Pick<SearchContext, 'units' | 'batchnorm'>, choice: readonly number[]): Scheme {
  const m = new Map<string, FitOption>();
  choice.forEach((j, u) => { if (j >= 0) m.set(ctx.units[u].id, ctx.units[u].options[j].option); });
  return schemeOf(ctx.units, m, ctx.batchnorm);
}

const valueOf = (ctx: SearchContext, choice: readonly number[]): number => choice.reduce((a, j, u) => a + (j >= 0 ? ctx.value[u][j] : 0), 0);

interface Upgrade { u: number; j: number; density: number }

/** Upgrades of `choice` with positive gain, best contribution per estimated byte first (those whose estimate fits `limit`). */
function upgrades(ctx: SearchContext, choice: readonly number[], limit = Infinity): Upgrade[] {
  const base = estimate(ctx.cost, choice);
  const out: Upgrade[] = [];
  const next = choice.slice();
  for (let u = 0; u < choice.length; u++) {
    const cur = choice[u];
    const v0 = cur >= 0 ? ctx.value[u][cur] : 0;
    for (let j = cur + 1; j < ctx.units[u].options.length; j++) {
      const gain = ctx.value[u][j] - v0;
      if (!(gain > 0)) continue;
      next[u] = j;
      const e = estimate(ctx.cost, next);
      next[u] = cur;
      if (e > limit) continue;
      out.push({ u, j, density: gain / Math.max(e - base, 1) });
    }
  }
  return out.sort((a, b) => b.density - a.density || a.u - b.u || a.j - b.j);
}

function greedy(ctx: SearchContext, limit: number): number[] {
  const choice = ctx.units.map(() => -1);
  for (;;) {
    const best = upgrades(ctx, choice, limit)[0];
    if (!best) return choice;
    choice[best.u] = best.j;
  }
}

function point(ctx: SearchContext, budget: number, choice: readonly number[]): FitPoint {
  const choices: FitChoice[] = [];
  choice.forEach((j, u) => { if (j >= 0) choices.push({ unit: ctx.units[u].id, option: ctx.units[u].options[j].option, score: ctx.value[u][j] }); });
  return { budgetBytes: budget, peakBytes: ctx.peakOf(choice), contribution: valueOf(ctx, choice), scheme: schemeFor(ctx, choice), choices };
}

export interface SearchOptions {
  /** Greedy re-runs with a lowered budget before repairing one unit at a time. Default 3. */
  retries?: number;
  /** Upgrades tried with the real planner after a fit. Default 4. */
  fillTries?: number;
}

/** The best scheme found whose real planned peak is at most `budget`; a ModelError when nothing that trains fits. */
export function searchBudget(ctx: SearchContext, budget: number, opts: SearchOptions = {}): FitPoint {
  if (ctx.cost.frozenPeak > budget) {
    throw new ModelError(`a budget of ${budget} bytes is below the model's forward alone (${ctx.cost.frozenPeak} bytes planned with everything frozen); raise --budget`);
  }
  let limit = budget;
  let choice = greedy(ctx, limit);
  for (let r = 0; r < (opts.retries ?? 3) && ctx.peakOf(choice) > budget; r++) {
    limit -= ctx.peakOf(choice) - budget;
    if (limit <= ctx.cost.frozenPeak) break;
    choice = greedy(ctx, limit);
  }
  while (ctx.peakOf(choice) > budget) {
    // Drop the unit that gives the least contribution per estimated byte it frees.
    const e = estimate(ctx.cost, choice);
    let worst = -1, worstDensity = Infinity;
    choice.forEach((j, u) => {
      if (j < 0) return;
      const without = choice.slice();
      without[u] = -1;
      const d = ctx.value[u][j] / Math.max(e - estimate(ctx.cost, without), 1);
      if (d < worstDensity) { worstDensity = d; worst = u; }
    });
    if (worst < 0) break;
    choice = choice.slice();
    choice[worst] = -1;
  }
  const tried = new Set<string>();
  for (let t = 0; t < (opts.fillTries ?? 4); ) {
    const up = upgrades(ctx, choice).find((x) => !tried.has(`${x.u}:${x.j}`));
    if (!up) break;
    tried.add(`${up.u}:${up.j}`);
    const next = choice.slice();
    next[up.u] = up.j;
    t++;
    if (ctx.peakOf(next) <= budget) choice = next;
  }
  if (choice.every((j) => j < 0)) {
    throw new ModelError(`no update option fits a budget of ${budget} bytes (the forward alone plans ${ctx.cost.frozenPeak} bytes); raise --budget`);
  }
  return point(ctx, budget, choice);
}

/** Budgets for the curve: `n` evenly spaced from just above the frozen peak to the full update's peak. */
export function curveBudgets(ctx: SearchContext, n = 8): number[] {
  const lo = ctx.cost.frozenPeak, hi = ctx.fullPeak;
  return Array.from({ length: n }, (_, i) => Math.round(lo + ((hi - lo) * (i + 1)) / n));
}

/** The trade-off curve, tightest budget first; the peak never rises as the budget tightens. Budgets where nothing fits are left out. */
export function tradeOffCurve(ctx: SearchContext, budgets: readonly number[], opts: SearchOptions = {}): FitPoint[] {
  const desc = [...new Set(budgets)].sort((a, b) => b - a);
  const out: FitPoint[] = [];
  let prev: FitPoint | null = null;
  for (const b of desc) {
    let p: FitPoint;
    try {
      p = searchBudget(ctx, b, opts);
    } catch (e) {
      if (e instanceof ModelError) break; // tighter budgets fit nothing either
      throw e;
    }
    // The looser budget's scheme fits here too when its peak is lower: keep it if it is better or the new one plans higher.
    if (prev && prev.peakBytes <= b && (prev.peakBytes < p.peakBytes || prev.contribution >= p.contribution)) p = { ...prev, budgetBytes: b };
    out.push(p);
    prev = p;
  }
  return out.reverse();
}
