// The pass pipeline in its fixed order. Each pass can be switched off by name, so the report can show
// what each one saves; the default schedule (topological.ts) is always the starting point.

import type { TrainingGraph } from '../train/trainingGraph';
import type { ValueSizer } from '../plan/bytes';
import { deadCode } from './deadCode';
import { foldFrozen } from './foldFrozen';
import { reorderOptimizerUpdates } from './reorderOptimizerUpdates';
import { reorderWeightGradFirst } from './reorderWeightGradFirst';
import { defaultProgram } from './topological';
import { PASS_NAMES, type Pass, type PassName, type StepProgram } from './program';

export { PASS_NAMES, scheduledGraph, type PassName, type StepProgram } from './program';

export const PASSES: Pass[] = [deadCode, foldFrozen, reorderWeightGradFirst, reorderOptimizerUpdates];

export function isPassName(s: string): s is PassName {
  return (PASS_NAMES as readonly string[]).includes(s);
}

/** Default schedule, then every enabled pass in pipeline order. */
export function runPasses(tg: TrainingGraph, enabled: ReadonlySet<PassName>, sizer: ValueSizer): StepProgram {
  let p = defaultProgram(tg, sizer);
  for (const pass of PASSES) if (enabled.has(pass.name)) p = pass.run(p);
  return p;
}
