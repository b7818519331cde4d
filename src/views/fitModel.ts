// The Fit panel's data without VS Code: a fit result as the panel's Init message (the browser test and the
// extension build it the same way).

import { FitMessageType, type FitInitMessage } from '../protocol';
import type { FitResult } from '../compiler/fit/fit';
import type { FitPoint } from '../compiler/fit/search';

/** The Init message plus the compiler's points, which the host keeps to apply (never the webview's copy). */
export type FitInitWithPoints = FitInitMessage & { pointsFull: FitPoint[] };

/** Each unit's best option by the analysis (diverged options, scored -Infinity, never win), highest first. */
export function bestPerUnit(r: Pick<FitResult, 'contributions'>): { unit: string; option: string; score: number }[] {
  const out: { unit: string; option: string; score: number }[] = [];
  for (const u of r.contributions.units) {
    const best = u.options.filter((o) => Number.isFinite(o.score)).reduce<(typeof u.options)[number] | null>((a, o) => (!a || o.score > a.score ? o : a), null);
    if (best) out.push({ unit: u.unit, option: best.option, score: best.score });
  }
  return out.sort((a, b) => b.score - a.score);
}

/** The panel's Init message for a fit: the curve (the requested budget's point included) and the chosen point. */
export function fitInitMessage(model: string, profile: string, r: FitResult): FitInitWithPoints {
  const pts = r.curve.length ? r.curve : [r.best];
  let chosen = pts.findIndex((p) => p.budgetBytes === r.budgetBytes);
  if (chosen < 0) chosen = pts.length - 1;
  return {
    type: FitMessageType.Init, model, profile, budgetBytes: r.budgetBytes, frozenPeakBytes: r.frozenPeakBytes, fullPeakBytes: r.fullPeakBytes,
    method: r.contributions.method, fromCache: r.fromCache, chosen,
    points: pts.map((p) => ({ budgetBytes: p.budgetBytes, peakBytes: p.peakBytes, contribution: p.contribution, scheme: p.scheme, choices: p.choices.map((c) => ({ unit: c.unit, option: c.option, score: c.score })) })),
    layers: bestPerUnit(r),
    pointsFull: pts,
  };
}

