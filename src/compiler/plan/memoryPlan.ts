// The memory plan of one scheduled training step: which tensors exist, their category, when each is live,
// and its offset in one static arena. Three things make the plan what a binary allocates rather than what
// the reference runtime does:
//  - in-place updates: an updated parameter (or optimizer state, BatchNorm buffer) takes the memory of
//    the value it replaces when its producer runs after every other reader of the old value; the runtime
//    makes new tensors, the plan aliases them;
//  - bit-packed masks: a forward value that backward reads only as a ReLU/Clip mask is saved as one bit
//    per element (TinyEngine does this); the full value lives only as long as the forward pass reads it;
//  - in-place elementwise operators: an output takes its first input's memory where the input dies there;
//  - workspace: im2col buffers of convolutions live during their operator.
// peakBytes is the arena size (offsets include 64-byte alignment and first-fit fragmentation); the
// live-byte maximum of the timeline is the lower bound any allocator needs, reported beside it.

import type { Node } from '../ir/graph';
import type { StepProgram } from '../passes/program';
import { inPlacePairs } from '../passes/reorderOptimizerUpdates';
import { computeLifetimes, liveTimeline, peakOf, type PlanStep, type TensorCategory, type TensorLife, type TimelinePoint } from './lifetimes';
import { checkArena, planArena, ARENA_ALIGN } from './arena';
import { workspaceBytes } from './workspace';

export interface PlannedTensor extends TensorLife {
  offset: number;
  /** Values of the training graph stored in this tensor besides its name (in-place results). */
  aliases?: string[];
  /** For a bit-packed mask: the value it is the sign/range mask of. */
  maskOf?: string;
}

export interface MemoryPlanOptions {
  /** Save ReLU/Clip masks as one bit per element (default true). */
  bitPackMasks?: boolean;
  /** Let elementwise operators write over their input when it dies there (default true). */
  inPlaceElementwise?: boolean;
  /** Workspace bytes of a node; defaults to the im2col buffer of convolutions. */
  workspace?: (n: Node) => number;
}

export interface MemoryPlan {
  steps: PlanStep[];
  tensors: PlannedTensor[];
  arenaBytes: number;
  /** = arenaBytes: what the step allocates. */
  peakBytes: number;
  /** The largest sum of live bytes over the steps (a lower bound for any arena), and where it is. */
  liveBytesPeak: number;
  liveBytesPeakStep: number;
  timeline: TimelinePoint[];
  /** Graph value -> the planned tensor holding it, where they differ (in-place updates and elementwise operators). */
  aliasOf: Map<string, string>;
  /** Values stored as bit-packed masks in backward: value -> mask tensor name. */
  masks: Map<string, string>;
}

/** Elementwise operators whose kernels may write their output over their first input. */
const IN_PLACE_OPS = new Set([
  ...['Relu', 'Clip', 'LeakyRelu', 'Sigmoid', 'Tanh', 'HardSigmoid', 'HardSwish', 'Neg', 'Abs', 'Exp', 'Sqrt', 'Identity', 'BatchNormalization', 'Add', 'Sub', 'Mul', 'Div'].map((o) => `::${o}`),
  // Activation gradients overwrite the incoming gradient dY (their first input).
  'pockengine::ReluGrad', 'pockengine::ClipGrad',
]);

/** Operators that read an input only through its sign or range (slot index): that input can be a bit mask. */
const MASK_SLOTS: Record<string, number> = { ReluGrad: 1, ClipGrad: 1 };

export function planMemory(p: StepProgram, opts: MemoryPlanOptions = {}): MemoryPlan {
  const { tg, sizer } = p;
  const g = tg.graph;
  const order = p.order;
  const n = order.length;
  const phase = (x: Node) => tg.ann.phase.get(x.id) ?? 'forward';
  const pos = new Map(order.map((x, i) => [x, i]));
  const producer = new Map<string, Node>();
  for (const x of order) for (const o of x.outputs) if (o) producer.set(o, x);
  const readers = new Map<string, { node: Node; slot: number }[]>();
  for (const x of order) x.inputs.forEach((i, slot) => { if (i) (readers.get(i) ?? readers.set(i, []).get(i)!).push({ node: x, slot }); });
  const outputs = new Set(g.outputs.filter((o) => o));

  // In-place results, where the producer runs after every other reader of the value it replaces.
  const aliasOf = new Map<string, string>();
  for (const [next, old] of inPlacePairs(p)) {
    const prod = producer.get(next);
    if (!prod) continue;
    const lastOther = Math.max(-1, ...(readers.get(old) ?? []).filter((r) => r.node !== prod).map((r) => pos.get(r.node)!));
    if (pos.get(prod)! >= lastOther) aliasOf.set(next, old);
  }

  // Masks: forward values that backward reads only through a mask slot.
  const masks = new Map<string, string>();
  if (opts.bitPackMasks ?? true) {
    for (const [v, rs] of readers) {
      const prod = producer.get(v);
      if (!prod || outputs.has(v) || phase(prod) === 'backward' || phase(prod) === 'optimizer') continue;
      const back = rs.filter((r) => phase(r.node) === 'backward' || phase(r.node) === 'optimizer');
      if (back.length && back.every((r) => MASK_SLOTS[r.node.opType] === r.slot)) masks.set(v, `${v}#mask`);
    }
  }

  const byId = new Map(g.nodes.map((x) => [x.id, x]));
  const ws = opts.workspace ?? ((x: Node) => workspaceBytes(g, tg.ann, x, sizer, byId));
  const rename = (v: string) => aliasOf.get(v) ?? v;
  const steps: PlanStep[] = order.map((x) => {
    const isBack = phase(x) === 'backward' || phase(x) === 'optimizer';
    const inputs = x.inputs.map((i, slot) => (i && isBack && masks.has(i) && MASK_SLOTS[x.opType] === slot ? masks.get(i)! : rename(i)));
    const outs = x.outputs.map(rename);
    for (const o of x.outputs) if (masks.has(o)) outs.push(masks.get(o)!);
    return { id: x.id, inputs, outputs: outs, workspaceBytes: ws(x) };
  });

  // In-place elementwise operators: the output takes its first input's memory when this operator is
  // that input's last reader and the sizes match (conv -> BN -> ReLU chains need one buffer, not three).
  const inPlace = new Map<string, string>();
  if (opts.inPlaceElementwise ?? true) {
    const lastRead = new Map<string, number>();
    steps.forEach((s, i) => { for (const x of s.inputs) if (x) lastRead.set(x, i); });
    const root = (v: string): string => inPlace.get(v) ?? v;
    const persistentish = (v: string) => g.initializers.has(v) || tg.dataInputs.includes(v) || !producer.has(v) || outputs.has(v);
    steps.forEach((s, i) => {
      const x = s.inputs[0], y = s.outputs[0];
      const node = order[i];
      if (!x || !y || !IN_PLACE_OPS.has(`${node.domain}::${node.opType}`) || x === y) return;
      if (persistentish(x) || persistentish(y) || lastRead.get(x) !== i || s.inputs.indexOf(x, 1) > 0) return;
      if (sizer.bytesOf(x) !== sizer.bytesOf(y) || sizer.bytesOf(y) === 0) return;
      inPlace.set(y, root(x));
    });
    if (inPlace.size) for (const s of steps) {
      s.inputs = s.inputs.map((v) => inPlace.get(v) ?? v);
      s.outputs = s.outputs.map((v) => inPlace.get(v) ?? v);
    }
  }
  const members = new Map<string, string[]>();
  for (const [v, r] of inPlace) (members.get(r) ?? members.set(r, []).get(r)!).push(v);

  const stepInputs = new Set<string>();
  for (const s of steps) for (const i of s.inputs) if (i) stepInputs.add(i);
  const prologueOut = new Set(p.prologue.flatMap((x) => x.outputs));
  const persistent = new Set<string>([...tg.dataInputs, ...tg.state.map((s) => s.name), ...tg.updated.keys()]);
  for (const i of stepInputs) if (g.initializers.has(i) || prologueOut.has(i)) persistent.add(i);
  const trainable = new Set(tg.trainable);
  const state = new Set(tg.state.map((s) => s.name));
  const dataIn = new Set(tg.dataInputs);
  const gradients = new Set(tg.grads.values());
  const maskNames = new Map([...masks].map(([v, m]) => [m, v]));
  const savedForBackward = (v: string): boolean => {
    const prod = producer.get(v);
    if (!prod || phase(prod) === 'backward' || phase(prod) === 'optimizer') return false;
    return (readers.get(v) ?? []).some((r) => (phase(r.node) === 'backward' || phase(r.node) === 'optimizer') && !(masks.has(v) && MASK_SLOTS[r.node.opType] === r.slot));
  };
  const categoryOf = (v: string): TensorCategory => {
    if (dataIn.has(v)) return 'input';
    if (state.has(v)) return 'optimizer-state';
    if (trainable.has(v)) return 'trainable-param';
    if (persistent.has(v)) return 'frozen-param';
    // A tensor holding several values (in place) takes the most telling of their categories.
    const held = [v, ...(members.get(v) ?? [])];
    if (maskNames.has(v) || held.some(savedForBackward)) return 'activation';
    if (held.some((x) => gradients.has(x))) return 'gradient';
    return 'temporary';
  };
  const bytesOf = (v: string): number => (maskNames.has(v) ? Math.ceil(sizer.elementsOf(maskNames.get(v)!) / 8) : sizer.bytesOf(v));

  const lives = computeLifetimes({ steps, bytesOf, categoryOf, persistent });
  // What the step returns stays until its end (the caller reads it after the last operator).
  for (const l of lives) if (outputs.has(l.name) && !persistent.has(l.name)) l.lastStep = Math.max(l.lastStep, n - 1);
  const arena = planArena(lives);
  const aliasesOf = new Map<string, string[]>();
  for (const [v, t] of [...aliasOf, ...inPlace]) (aliasesOf.get(t) ?? aliasesOf.set(t, []).get(t)!).push(v);
  const tensors: PlannedTensor[] = lives.map((l) => {
    const t: PlannedTensor = { ...l, offset: arena.offsets.get(l.name)! };
    const al = aliasesOf.get(l.name);
    if (al) t.aliases = al;
    if (maskNames.has(l.name)) t.maskOf = maskNames.get(l.name);
    return t;
  });
  const timeline = liveTimeline(lives, n);
  const live = peakOf(timeline);
  return {
    steps, tensors, arenaBytes: arena.arenaBytes, peakBytes: arena.arenaBytes, liveBytesPeak: live.bytes, liveBytesPeakStep: live.step,
    timeline, aliasOf: new Map([...aliasOf, ...inPlace]), masks,
  };
}

/**
 * Everything wrong with a plan (empty when valid): overlaps in the arena, an arena smaller than the live
 * peak, a tensor not living from its producer to its last reader.
 */
export function checkPlan(plan: MemoryPlan): string[] {
  const problems = checkArena(plan.tensors, { offsets: new Map(plan.tensors.map((t) => [t.name, t.offset])), arenaBytes: plan.arenaBytes });
  if (plan.arenaBytes < plan.liveBytesPeak) problems.push(`arena ${plan.arenaBytes} B is below the live peak ${plan.liveBytesPeak} B`);
  if (plan.peakBytes !== plan.arenaBytes) problems.push('peakBytes differs from arenaBytes');
  const first = new Map<string, number>(), last = new Map<string, number>();
  plan.steps.forEach((s, i) => {
    for (const o of s.outputs) if (o && !first.has(o)) first.set(o, i);
    for (const x of s.inputs) if (x) last.set(x, i);
  });
  const nSteps = plan.steps.length;
  for (const t of plan.tensors) {
    if (t.category === 'workspace') continue;
    const whole = t.firstStep === 0 && t.lastStep === nSteps - 1;
    const made = first.get(t.name);
    if (made === undefined) {
      if (!whole) problems.push(`${t.name} is made by no step but does not live through the whole step`);
      continue;
    }
    if (whole && !['trainable-param', 'frozen-param', 'optimizer-state', 'input'].includes(t.category) && t.firstStep !== made) problems.push(`${t.name} lives before its producer`);
    if (!whole && t.firstStep !== made) problems.push(`${t.name} starts at step ${t.firstStep}, its producer runs at ${made}`);
    const lastRead = last.get(t.name) ?? made;
    if (t.lastStep < lastRead) problems.push(`${t.name} dies at step ${t.lastStep} before its last reader at ${lastRead}`);
  }
  return problems;
}

export { ARENA_ALIGN };
