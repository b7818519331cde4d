// Lifetimes of the tensors of a scheduled training step. A step is one operator; a tensor lives from the
// step that writes it to the last step that reads it. Parameters, optimizer state and the step's inputs
// live across the whole step (they persist between training steps), so their interval is the full range.

export type TensorCategory =
  | 'trainable-param'
  | 'frozen-param'
  | 'input'
  | 'activation' // forward values kept for the backward pass
  | 'temporary' // values dead within their phase
  | 'gradient'
  | 'optimizer-state'
  | 'workspace';

export const CATEGORIES: TensorCategory[] = [
  'frozen-param', 'trainable-param', 'optimizer-state', 'input', 'activation', 'gradient', 'temporary', 'workspace',
];

export interface PlanStep {
  id: string;
  inputs: string[];
  outputs: string[];
  /** Scratch bytes the operator needs while it runs (im2col buffers and the like). */
  workspaceBytes?: number;
}

export interface TensorLife {
  name: string;
  bytes: number;
  category: TensorCategory;
  firstStep: number;
  lastStep: number;
}

export interface LifetimeInput {
  steps: PlanStep[];
  bytesOf: (name: string) => number;
  categoryOf: (name: string) => TensorCategory;
  /** Tensors that live for the whole step (parameters, optimizer state, inputs, labels). */
  persistent: Set<string>;
}

export function computeLifetimes(inp: LifetimeInput): TensorLife[] {
  const first = new Map<string, number>();
  const last = new Map<string, number>();
  const n = inp.steps.length;
  inp.steps.forEach((s, i) => {
    for (const o of s.outputs) if (o && !first.has(o)) { first.set(o, i); last.set(o, i); }
    for (const x of s.inputs) if (x) {
      if (!first.has(x)) first.set(x, i);
      last.set(x, i);
    }
  });
  const out: TensorLife[] = [];
  for (const name of new Set([...first.keys(), ...inp.persistent])) {
    const persistent = inp.persistent.has(name);
    out.push({
      name,
      bytes: inp.bytesOf(name),
      category: inp.categoryOf(name),
      firstStep: persistent ? 0 : first.get(name)!,
      lastStep: persistent ? Math.max(0, n - 1) : last.get(name)!,
    });
  }
  inp.steps.forEach((s, i) => {
    if (s.workspaceBytes) out.push({ name: `${s.id}#workspace`, bytes: s.workspaceBytes, category: 'workspace', firstStep: i, lastStep: i });
  });
  return out;
}

export interface TimelinePoint {
  step: number;
  bytes: number;
  byCategory: Partial<Record<TensorCategory, number>>;
}

/** Bytes live at each step, by category (a difference array, so linear in steps + tensors). */
export function liveTimeline(tensors: TensorLife[], nSteps: number): TimelinePoint[] {
  const diff = new Map<TensorCategory, Float64Array>();
  for (const t of tensors) {
    let d = diff.get(t.category);
    if (!d) diff.set(t.category, (d = new Float64Array(nSteps + 1)));
    d[t.firstStep] += t.bytes;
    d[t.lastStep + 1] -= t.bytes;
  }
  const run = new Map<TensorCategory, number>();
  const points: TimelinePoint[] = [];
  for (let s = 0; s < nSteps; s++) {
    const byCategory: Partial<Record<TensorCategory, number>> = {};
    let total = 0;
    for (const [c, d] of diff) {
      const v = (run.get(c) ?? 0) + d[s];
      run.set(c, v);
      if (v !== 0) byCategory[c] = v;
      total += v;
    }
    points.push({ step: s, bytes: total, byCategory });
  }
  return points;
}

export function peakOf(timeline: TimelinePoint[]): { bytes: number; step: number } {
  let best = { bytes: 0, step: 0 };
  for (const p of timeline) if (p.bytes > best.bytes) best = { bytes: p.bytes, step: p.step };
  return best;
}
