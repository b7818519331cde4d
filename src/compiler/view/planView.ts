// CompileResult -> what the Schedule, Memory and Backends views draw: plain JSON, sent once per compile.
// Nothing here recomputes the plan; it only selects and flattens the report's fields (schedule rows, the
// timeline by category, the comparison outlines, the tensors for the hover and the arena picture, the
// backend totals and transfers). Type-only imports, so the webview may import it without the compiler.

import type { CompileResult, ScheduleEntry } from '../compile';
import type { TensorCategory } from '../plan/lifetimes';
import type { BackendOverrides } from '../backends/assign';

/** Fixed category order (bottom of the stack first) and colours, after PyTorch's memory profiler. */
export const CATEGORY_ORDER: TensorCategory[] = [
  'frozen-param', 'trainable-param', 'optimizer-state', 'input', 'activation', 'gradient', 'temporary', 'workspace',
];
export const CATEGORY_COLORS: Record<TensorCategory, string> = {
  'frozen-param': '#6b7a8f',
  'trainable-param': '#1f77b4',
  'optimizer-state': '#9467bd',
  input: '#8c564b',
  activation: '#d62728',
  gradient: '#2ca02c',
  temporary: '#ff7f0e',
  workspace: '#e377c2',
};
export const CATEGORY_LABELS: Record<TensorCategory, string> = {
  'frozen-param': 'frozen parameters', 'trainable-param': 'trainable parameters', 'optimizer-state': 'optimizer state',
  input: 'inputs', activation: 'activations (saved)', gradient: 'gradients', temporary: 'temporaries', workspace: 'workspace',
};
export const PHASE_COLORS: Record<string, string> = { forward: '#3b8eea', loss: '#b180d7', backward: '#e5a33b', optimizer: '#4ec98b' };

/** A schedule step as the views draw it: the compiler's entry (no forward link), plus who forced its unit. */
export interface PlanStepRow extends Omit<ScheduleEntry, 'forwardOf'> {
  /** Set when an override chose the unit. */
  forcedBy?: 'op' | 'layer';
}

export interface PlanTensorRow {
  name: string;
  category: TensorCategory;
  bytes: number;
  offset: number;
  firstStep: number;
  lastStep: number;
}

export interface PlanUnit { unit: string; displayName: string; ops: number; flops: number; estMs: number }

export interface PlanData {
  /** The TrainingInfo version it was compiled from, and a counter of plan compiles. */
  version: number;
  planVersion: number;
  device: string;
  deviceName: string;
  devices: { name: string; displayName: string }[];
  schedule: PlanStepRow[];
  passes: { name: string; summary: string; enabled: boolean; movedNodes: number; removedNodes: number }[];
  memory: {
    peakBytes: number;
    liveBytesPeak: number;
    peakStep: number;
    peakBytesNoReorder: number | null;
    peakBytesFullUpdate: number | null;
    /** Whether the comparison plans were compiled (they come in a second message on large models). */
    compared: boolean;
    /** Live bytes per step per category (CATEGORY_ORDER), as stacked columns. */
    byCategory: Record<string, number[]>;
    totals: number[];
    /** Comparison outlines: totals per step of their own schedules. */
    noReorder: number[] | null;
    fullUpdate: number[] | null;
    tensors: PlanTensorRow[];
  };
  backends: {
    units: PlanUnit[];
    /** Every unit of the profile, for the override control (a unit may have no operators). */
    profileUnits: { id: string; displayName: string }[];
    estStepMs: number;
    computeMs: number;
    transferMs: number;
    method: string;
    exact: boolean;
    transfers: { tensor: string; bytes: number; from: string; to: string; beforeOp: string; estMs: number }[];
    overrides: BackendOverrides;
  };
  compileMs: number;
  warnings: string[];
}

export interface PlanContext {
  version: number;
  planVersion: number;
  devices: { name: string; displayName: string }[];
  profileUnits: { id: string; displayName: string }[];
  overrides: BackendOverrides;
  compileMs: number;
}

export function planViewData(r: CompileResult, ctx: PlanContext): PlanData {
  const n = r.schedule.length;
  const byCategory: Record<string, number[]> = {};
  for (const c of CATEGORY_ORDER) byCategory[c] = new Array<number>(n).fill(0);
  const totals = new Array<number>(n).fill(0);
  for (const p of r.memory.timeline) {
    if (p.step >= n) continue;
    totals[p.step] = p.bytes;
    for (const [c, b] of Object.entries(p.byCategory)) (byCategory[c] ??= new Array<number>(n).fill(0))[p.step] = b ?? 0;
  }
  return {
    version: ctx.version,
    planVersion: ctx.planVersion,
    device: r.target,
    deviceName: r.backends.displayName,
    devices: ctx.devices,
    schedule: r.schedule.map((s, i) => {
      const row: PlanStepRow = { step: s.step, node: s.node, op: s.op, phase: s.phase, layer: s.layer, unit: s.unit, estMs: s.estMs };
      if (s.movedBy) row.movedBy = s.movedBy;
      const forced = r.assignment.ops[i]?.forcedBy;
      if (forced) row.forcedBy = forced;
      return row;
    }),
    passes: r.passes.map((p) => ({ name: p.name, summary: p.summary, enabled: p.enabled, movedNodes: p.movedNodes, removedNodes: p.removedNodes })),
    memory: {
      peakBytes: r.memory.peakBytes,
      liveBytesPeak: r.memory.liveBytesPeak,
      peakStep: r.memory.peakStep,
      peakBytesNoReorder: r.memory.peakBytesNoReorder,
      peakBytesFullUpdate: r.memory.peakBytesFullUpdate,
      compared: r.memory.compare.noReorder !== null || r.memory.compare.fullUpdate !== null,
      byCategory,
      totals,
      noReorder: r.memory.compare.noReorder?.timeline ?? null,
      fullUpdate: r.memory.compare.fullUpdate?.timeline ?? null,
      tensors: r.memory.tensors.map((t) => ({ name: t.name, category: t.category, bytes: t.bytes, offset: t.offset, firstStep: t.firstStep, lastStep: t.lastStep })),
    },
    backends: {
      units: r.backends.units,
      profileUnits: ctx.profileUnits,
      estStepMs: r.backends.estStepMs,
      computeMs: r.backends.computeMs,
      transferMs: r.backends.transferMs,
      method: r.backends.method,
      exact: r.backends.exact,
      transfers: r.backends.transfers,
      overrides: ctx.overrides,
    },
    compileMs: ctx.compileMs,
    warnings: r.warnings,
  };
}

/** Tensors live at a step: the same rule as compile.ts's liveTensorsAt, over the view's rows. */
export function liveRowsAt(tensors: readonly PlanTensorRow[], step: number): PlanTensorRow[] {
  return tensors.filter((t) => t.firstStep <= step && step <= t.lastStep);
}

/** Node id -> unit: the per-node overlay map the Backends view colours the graph with. */
export function unitOverlay(schedule: readonly PlanStepRow[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of schedule) out[`n:${s.node}`] = s.unit;
  return out;
}
