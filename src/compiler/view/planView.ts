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

/** Operators one unit runs inside a box of the graph, and their estimated time. */
export interface UnitShare { unit: string; ops: number; estMs: number }

/** A unit of the device as the graph's legend lists it: the drawn operators it runs and their share of compute time. */
export interface UnitLegendRow extends UnitShare {
  displayName: string;
  /** Its estimated time over the estimated compute time of every drawn operator the plan runs (0..1). */
  share: number;
}

/**
 * The unit overlay of one graph tab for one plan: per drawn operator its unit and estimated time, per group
 * box the mix of units of the operators inside it (all depths), and the legend's totals. Plain data from the
 * plan's schedule (unitOverlay) and the tab's hierarchy; the webview only colours it.
 */
export interface GraphUnitOverlay {
  graph: string;
  device: string;
  deviceName: string;
  planVersion: number;
  /** Every unit of the profile, in profile order (a unit's colour is its position here). */
  legend: UnitLegendRow[];
  /** Estimated compute time of the drawn operators the plan runs. */
  computeMs: number;
  /** Operator item id -> unit, estimated time, enclosing group item id. */
  ops: Record<string, { unit: string; estMs: number; parent: string | null }>;
  /** Group item id -> enclosing group and the units of the scheduled operators inside (largest count first). */
  groups: Record<string, { parent: string | null; mix: UnitShare[] }>;
  /** Drawn operators the plan does not run (pruned by the scheme, folded or removed by a pass). */
  notRun: number;
}

/** The hierarchy a graph tab draws (GraphIndex's leaves and groups; type-only so the webview can import this file). */
export interface UnitOverlayIndex {
  leaves: ReadonlyMap<string, { kind: string; parent: string | null }>;
  groups: ReadonlyMap<string, { parent: string | null }>;
}

export function graphUnitOverlay(plan: PlanData, index: UnitOverlayIndex, graph: string): GraphUnitOverlay {
  const unitOf = unitOverlay(plan.schedule);
  const msOf = new Map(plan.schedule.map((s) => [`n:${s.node}`, s.estMs]));
  const profile = plan.backends.profileUnits;
  const legend: UnitLegendRow[] = profile.map((u) => ({ unit: u.id, displayName: u.displayName, ops: 0, estMs: 0, share: 0 }));
  const row = new Map(legend.map((l) => [l.unit, l]));
  const ops: GraphUnitOverlay['ops'] = {};
  const mixes = new Map<string, Map<string, UnitShare>>();
  let notRun = 0;
  for (const [id, leaf] of index.leaves) {
    if (leaf.kind !== 'op') continue;
    const unit = unitOf[id];
    if (unit === undefined) {
      notRun++;
      continue;
    }
    const estMs = msOf.get(id) ?? 0;
    ops[id] = { unit, estMs, parent: leaf.parent };
    let l = row.get(unit);
    if (!l) {
      // An override naming a unit the profile lacks is refused by the assignment; kept visible all the same.
      l = { unit, displayName: unit, ops: 0, estMs: 0, share: 0 };
      row.set(unit, l);
      legend.push(l);
    }
    l.ops++;
    l.estMs += estMs;
    for (let g = leaf.parent; g !== null; g = index.groups.get(g)?.parent ?? null) {
      const m = mixes.get(g) ?? new Map<string, UnitShare>();
      mixes.set(g, m);
      const s = m.get(unit) ?? { unit, ops: 0, estMs: 0 };
      m.set(unit, s);
      s.ops++;
      s.estMs += estMs;
    }
  }
  const computeMs = legend.reduce((a, l) => a + l.estMs, 0);
  for (const l of legend) l.share = computeMs > 0 ? l.estMs / computeMs : 0;
  const groups: GraphUnitOverlay['groups'] = {};
  for (const [g, info] of index.groups) {
    const m = mixes.get(g);
    groups[g] = { parent: info.parent, mix: m ? [...m.values()].sort((a, b) => b.ops - a.ops || b.estMs - a.estMs) : [] };
  }
  return { graph, device: plan.device, deviceName: plan.deviceName, planVersion: plan.planVersion, legend, computeMs, ops, groups, notRun };
}
