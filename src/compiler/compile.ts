// Model + scheme + target -> one CompileResult: the sparse training step, its schedule after the passes,
// the memory plan with its arena, the comparison plans (no reordering, full update) and the backend
// assignment. Every view, the CLI and the exporter read this object; none of them recomputes what it holds.
// `compileReport` is its JSON form (docs/compile-report.md); the rest (graphs, program, plan) is for the
// exporter and the views running in the extension host.

import type { LoadedModel } from './loadModel';
import type { Model } from './ir/graph';
import type { Dim } from './ir/shape';
import type { Scheme } from './sparse/scheme';
import { applyScheme, type SparseTraining } from './sparse/applyScheme';
import { loadScheme } from './train/options';
import type { OptimizerSpec } from './train/optimizer';
import type { LossSpec } from './train/loss';
import type { TrainingGraph } from './train/trainingGraph';
import { PASSES, runPasses, PASS_NAMES, type PassName, type StepProgram } from './passes';
import { valueSizer, type ValueSizer } from './plan/bytes';
import { planMemory, type MemoryPlan, type PlannedTensor } from './plan/memoryPlan';
import { ARENA_ALIGN } from './plan/arena';
import type { TensorCategory, TimelinePoint } from './plan/lifetimes';
import { getProfile } from './backends/profiles';
import type { DeviceProfile } from './backends/profile';
import { assignBackends, type BackendAssignment, type BackendOverrides } from './backends/assign';
import { backendsJson, scheduledOpsFromGraph } from './backends/fromGraph';
import { ModelError } from './onnx/errors';

export interface CompileOptions {
  /** A Scheme, a preset name (full, bias-only, last-N, classifier-only) or a scheme file. Default 'full'. */
  scheme?: Scheme | string;
  /** Device profile name, or a profile (e.g. hostProfile(machine)). Default 'host'. */
  target?: string | DeviceProfile;
  optimizer?: OptimizerSpec;
  loss?: LossSpec;
  /** Passes switched on or off by name; all on by default. */
  passes?: Partial<Record<PassName, boolean>>;
  /** Values of symbolic dimensions ("batch", "seq"); an unbound one counts as 1 and is warned about. */
  dims?: Record<string, number>;
  /** Bit-pack ReLU/Clip masks saved for backward (default true). */
  bitPackMasks?: boolean;
  /** Let elementwise operators write over their dying first input (default true). */
  inPlaceElementwise?: boolean;
  /**
   * Comparison plans: 'peaks' (default) plans the step without reordering and with a full update;
   * 'passes' also plans it without each enabled pass (PassReport.peakBytesWithout); 'none' skips both.
   * `true`/`false` mean 'passes'/'none'.
   */
  compare?: 'none' | 'peaks' | 'passes' | boolean;
  backendOverrides?: BackendOverrides;
}

export interface ScheduleEntry {
  step: number;
  node: string;
  op: string;
  phase: string;
  layer: string;
  unit: string;
  estMs: number;
  /** The pass that moved this operator from its place in the default schedule. */
  movedBy?: PassName;
  /** For backward nodes: the forward node they differentiate. */
  forwardOf?: string;
}

export interface RemovedNode {
  node: string;
  op: string;
  phase: string;
  reason: string;
}

export interface PassReport {
  name: PassName;
  summary: string;
  enabled: boolean;
  movedNodes: number;
  removedNodes: number;
  /** Arena of the step with this pass (alone) switched off; null unless compiled with compare 'passes'. */
  peakBytesWithout: number | null;
}

export interface PlanSummary {
  peakBytes: number;
  liveBytesPeak: number;
  steps: number;
  /** Live bytes per step (totals only: an outline for the views). */
  timeline: number[];
}

export interface MemoryReport {
  /** The arena size: what the step allocates (so peakBytes === arenaBytes by definition). */
  peakBytes: number;
  arenaBytes: number;
  /** Largest sum of live bytes over the steps: the lower bound for any allocator; the arena adds alignment and fragmentation. */
  liveBytesPeak: number;
  /** Step where the live bytes peak. */
  peakStep: number;
  peakBytesNoReorder: number | null;
  peakBytesFullUpdate: number | null;
  alignment: number;
  bitPackedMasks: boolean;
  inPlaceElementwise: boolean;
  /** Graph value -> planned tensor whose memory it uses (in-place updates and elementwise operators). */
  aliases: Record<string, string>;
  /** Forward value -> its bit-packed mask tensor, read by backward instead of the value. */
  masks: Record<string, string>;
  byCategoryAtPeak: Partial<Record<TensorCategory, number>>;
  totalsByCategory: Partial<Record<TensorCategory, number>>;
  timeline: TimelinePoint[];
  tensors: PlannedTensor[];
  compare: { noReorder: PlanSummary | null; fullUpdate: PlanSummary | null };
}

export interface CompileReport {
  model: { name: string; path: string };
  scheme: Scheme;
  target: string;
  dims: Record<string, number>;
  graphs: SparseTraining['report'];
  schedule: ScheduleEntry[];
  removed: RemovedNode[];
  pruned: { node: string; reason: string }[];
  passes: PassReport[];
  memory: MemoryReport;
  backends: ReturnType<typeof backendsJson> & { displayName: string };
  warnings: string[];
}

export interface CompileResult extends CompileReport {
  /** The sparse step (pruned graph `tg`, the full one, scheme decisions). */
  training: SparseTraining;
  /** The step as scheduled: node order, prologue of folded constants, moves. */
  program: StepProgram;
  plan: MemoryPlan;
  assignment: BackendAssignment;
}

/** The model with its symbolic dimensions replaced by the given sizes (values' inferred shapes only). */
export function bindDims(model: Model, dims: Record<string, number>): Model {
  if (Object.keys(dims).length === 0) return model;
  const bind = (d: Dim): Dim => (typeof d === 'string' && d in dims ? dims[d] : d);
  const values = new Map([...model.graph.values].map(([k, v]) => [k, v.type?.shape ? { ...v, type: { ...v.type, shape: v.type.shape.map(bind) } } : v]));
  return { ...model, graph: { ...model.graph, values } };
}

function enabledPasses(o: CompileOptions['passes']): Set<PassName> {
  for (const k of Object.keys(o ?? {})) {
    if (!(PASS_NAMES as readonly string[]).includes(k)) throw new ModelError(`unknown pass "${k}"; passes are ${PASS_NAMES.join(', ')}`);
  }
  return new Set(PASS_NAMES.filter((p) => o?.[p] !== false));
}

function planFor(tg: TrainingGraph, passes: Set<PassName>, sizer: ValueSizer, opts: CompileOptions): { program: StepProgram; plan: MemoryPlan } {
  const program = runPasses(tg, passes, sizer);
  return { program, plan: planMemory(program, { bitPackMasks: opts.bitPackMasks, inPlaceElementwise: opts.inPlaceElementwise }) };
}

const summary = (plan: MemoryPlan): PlanSummary => ({ peakBytes: plan.peakBytes, liveBytesPeak: plan.liveBytesPeak, steps: plan.steps.length, timeline: plan.timeline.map((t) => t.bytes) });

// One bound model per (model, dims), so applyScheme's cache of the full training step (keyed by the
// LoadedModel object) survives from one compile to the next: a layer toggle then rebuilds only the pruning.
const boundModels = new WeakMap<LoadedModel, Map<string, LoadedModel>>();

function bindModel(loaded: LoadedModel, dims: Record<string, number>): LoadedModel {
  let byDims = boundModels.get(loaded);
  if (!byDims) boundModels.set(loaded, (byDims = new Map()));
  const key = JSON.stringify(Object.entries(dims).sort());
  let bound = byDims.get(key);
  if (!bound) byDims.set(key, (bound = { ...loaded, model: bindDims(loaded.model, dims) }));
  return bound;
}

export function compile(loaded: LoadedModel, opts: CompileOptions = {}): CompileResult {
  const dims = opts.dims ?? {};
  const bound = bindModel(loaded, dims);
  const scheme = typeof opts.scheme === 'object' ? opts.scheme : loadScheme(opts.scheme ?? 'full', loaded);
  const profile = typeof opts.target === 'object' ? opts.target : getProfile(opts.target ?? 'host');
  const optimizer = opts.optimizer ?? { kind: 'sgd', lr: 0.01 };
  const training = applyScheme(bound, scheme, { optimizer, loss: opts.loss });
  const { tg } = training;
  const passes = enabledPasses(opts.passes);
  const sizer = valueSizer(tg.graph, dims);
  const { program, plan } = planFor(tg, passes, sizer, opts);

  const compareMode = opts.compare === true ? 'passes' : opts.compare === false ? 'none' : opts.compare ?? 'peaks';
  const compare = compareMode !== 'none';
  const passReports: PassReport[] = PASSES.map((pass) => {
    const without = new Set(passes);
    without.delete(pass.name);
    const peakWithout = compareMode !== 'passes' ? null : passes.has(pass.name) ? planFor(tg, without, sizer, opts).plan.peakBytes : plan.peakBytes;
    return {
      name: pass.name, summary: pass.summary, enabled: passes.has(pass.name),
      movedNodes: [...program.movedBy.values()].filter((p) => p === pass.name).length,
      removedNodes: pass.name === 'dead-code' ? [...program.removed.values()].filter((r) => r.startsWith('dead')).length
        : pass.name === 'fold-frozen' ? program.prologue.length : 0,
      peakBytesWithout: peakWithout,
    };
  });
  let noReorder: PlanSummary | null = null, fullUpdate: PlanSummary | null = null;
  if (compare) {
    const plain = new Set([...passes].filter((p) => !p.startsWith('reorder-')));
    noReorder = summary(planFor(tg, plain, sizer, opts).plan);
    fullUpdate = summary(planFor(training.full, passes, valueSizer(training.full.graph, dims), opts).plan);
  }

  const stepTg = program.tg; // the step as the passes left it (folding may rewrite nodes)
  const ops = scheduledOpsFromGraph(stepTg.graph, { order: program.order, phase: stepTg.ann.phase, forwardOf: stepTg.ann.forwardOf });
  const assignment = assignBackends(ops, profile, { overrides: opts.backendOverrides });
  const schedule: ScheduleEntry[] = program.order.map((n, step) => {
    const a = assignment.ops[step];
    const e: ScheduleEntry = { step, node: n.id, op: n.opType, phase: stepTg.ann.phase.get(n.id) ?? 'forward', layer: n.layer, unit: a.unit, estMs: a.estMs };
    const moved = program.movedBy.get(n.id);
    if (moved) e.movedBy = moved;
    const f = stepTg.ann.forwardOf.get(n.id);
    if (f) e.forwardOf = f;
    return e;
  });
  const byId = new Map([...tg.graph.nodes, ...stepTg.graph.nodes].map((n) => [n.id, n]));
  const removed: RemovedNode[] = [...program.removed].map(([id, reason]) => {
    const n = byId.get(id)!;
    return { node: id, op: n.opType, phase: tg.ann.phase.get(id) ?? 'forward', reason };
  });

  const totalsByCategory: Partial<Record<TensorCategory, number>> = {};
  for (const t of plan.tensors) totalsByCategory[t.category] = (totalsByCategory[t.category] ?? 0) + t.bytes;
  const warnings: string[] = [];
  if (sizer.unbound.size) warnings.push(`symbolic dimensions ${[...sizer.unbound].join(', ')} have no size; counted as 1 (bind them with --dim name=size)`);
  for (const i of tg.issues) warnings.push(i.message);
  warnings.push(...assignment.warnings);

  return {
    model: { name: loaded.model.graph.name, path: loaded.model.path },
    scheme, target: profile.name, dims,
    graphs: training.report,
    schedule, removed,
    pruned: [...training.pruned].map(([node, reason]) => ({ node, reason })),
    passes: passReports,
    memory: {
      peakBytes: plan.peakBytes, arenaBytes: plan.arenaBytes, liveBytesPeak: plan.liveBytesPeak, peakStep: plan.liveBytesPeakStep,
      peakBytesNoReorder: noReorder?.peakBytes ?? null, peakBytesFullUpdate: fullUpdate?.peakBytes ?? null,
      alignment: ARENA_ALIGN, bitPackedMasks: opts.bitPackMasks ?? true, inPlaceElementwise: opts.inPlaceElementwise ?? true,
      aliases: Object.fromEntries(plan.aliasOf), masks: Object.fromEntries(plan.masks),
      byCategoryAtPeak: plan.timeline[plan.liveBytesPeakStep]?.byCategory ?? {},
      totalsByCategory, timeline: plan.timeline, tensors: plan.tensors,
      compare: { noReorder, fullUpdate },
    },
    backends: { ...backendsJson(assignment), displayName: assignment.displayName },
    warnings,
    training, program, plan, assignment,
  };
}

/** The JSON report (`pockengine compile --json`): everything but the in-memory graphs. */
export function compileReport(r: CompileResult): CompileReport {
  const { training: _t, program: _p, plan: _pl, assignment: _a, ...report } = r;
  return report;
}

/** The planned tensors live at a step (for the memory view's hover), from the report alone. */
export function liveTensorsAt(tensors: readonly PlannedTensor[], step: number): PlannedTensor[] {
  return tensors.filter((t) => t.firstStep <= step && step <= t.lastStep);
}
