// Which compute unit runs each operator of a training step: PockEngine's backend switching. Dynamic
// programming over the schedule, in order. The state after an operator is where each live tensor (made
// by an operator so far and still needed later) resides, as a set of units; choosing a unit for the next
// operator costs its roofline time there plus one hand-over for each input not yet resident on that unit
// (after which it is resident on both). Tensors no operator of the schedule makes (the batch, the
// parameters) sit in memory every unit reads. Operators run one after another, so the step time is the
// sum. Equal states merge (by a 53-bit hash of the residency); a state that another provably beats for
// every continuation is dropped, which keeps the DP exact for this cost model; past `maxStates` states
// per step it keeps the cheapest ones (a beam) and says so. A training step's saved activations make the
// number of undominated states grow without bound, so on real models the beam is the normal case.
//
// The input is a plain list of scheduled operators, so the scheduler can feed it whatever order it chose.

import { ModelError } from '../onnx/errors';
import { globMatches } from '../sparse/glob';
import { opTimeOnUnit, type OpTime } from '../cost/roofline';
import { classOfOpType, type OpClass } from '../cost/opClass';
import { linkBetween, unitRuns, type DeviceProfile } from './profile';
import { handOver, solve, uniqueInputs, type Prepared } from './residencyDp';

export interface TensorRef {
  name: string;
  bytes: number;
}

export interface ScheduledOp {
  id: string;
  op: string;
  /** Layer path, e.g. "features/features.3/conv"; '' at the top. */
  layer: string;
  phase?: string;
  inputs: TensorRef[];
  outputs: TensorRef[];
  flops: number;
  bytes: number;
  /** The cost model's class; from the operator type when absent (a depthwise Conv needs it given). */
  opClass?: OpClass;
}

export interface BackendOverrides {
  /** Op id -> unit id. */
  ops?: Record<string, string>;
  /** Layer globs (`*`, `?`); a glob that matches a layer matches its sub-layers; the last match wins. */
  layers?: { match: string; unit: string }[];
}

export interface AssignOptions {
  overrides?: BackendOverrides;
  /** States kept per step (after dropping dominated ones); beyond it the DP becomes a beam search. Default 32. */
  maxStates?: number;
}

export interface OpAssignment {
  id: string;
  op: string;
  layer: string;
  phase?: string;
  unit: string;
  /** The operator's own time on its unit. */
  estMs: number;
  bound: OpTime['bound'];
  /** Hand-overs of its inputs just before it. */
  transferInMs: number;
  /** 'op' or 'layer' when an override chose the unit. */
  forcedBy?: 'op' | 'layer';
}

export interface Transfer {
  tensor: string;
  bytes: number;
  from: string;
  to: string;
  /** The operator that needs it. */
  beforeOp: string;
  estMs: number;
}

export interface UnitTotal {
  unit: string;
  displayName: string;
  ops: number;
  flops: number;
  estMs: number;
}

export interface BackendAssignment {
  profile: string;
  displayName: string;
  ops: OpAssignment[];
  units: UnitTotal[];
  transfers: Transfer[];
  computeMs: number;
  transferMs: number;
  estStepMs: number;
  /** Step time with every operator on one unit, where that unit runs them all (null where it cannot). */
  singleUnitMs: Record<string, number | null>;
  /** True when no state was pruned: the assignment is optimal for the cost model. */
  exact: boolean;
  warnings: string[];
  /** One sentence saying how the numbers were estimated. */
  method: string;
}

function layerMatches(glob: string, layer: string): boolean {
  if (globMatches(glob, layer)) return true;
  const parts = layer.split('/');
  for (let k = parts.length - 1; k > 0; k--) if (globMatches(glob, parts.slice(0, k).join('/'))) return true;
  return false;
}

function prepare(schedule: ScheduledOp[], profile: DeviceProfile, opts: AssignOptions): Prepared {
  const unitIds = profile.units.map((u) => u.id);
  const unitIndex = (id: string, what: string) => {
    const k = unitIds.indexOf(id);
    if (k < 0) throw new ModelError(`backend override ${what} names unit "${id}", but ${profile.name} has: ${unitIds.join(', ')}`);
    return k;
  };
  const opOverrides = opts.overrides?.ops ?? {};
  const ids = new Set(schedule.map((o) => o.id));
  for (const id of Object.keys(opOverrides)) {
    if (!ids.has(id)) throw new ModelError(`backend override names operator "${id}", which is not in the schedule; check the id`);
  }
  const layerRules = opts.overrides?.layers ?? [];
  for (const r of layerRules) unitIndex(r.unit, `for layers "${r.match}"`);
  const warnings: string[] = [];
  const times: (OpTime | null)[][] = [];
  const allowed: number[][] = [];
  const forcedBy: ('op' | 'layer' | undefined)[] = [];
  schedule.forEach((op) => {
    const work = { flops: op.flops, bytes: op.bytes, opClass: op.opClass ?? classOfOpType(op.op) };
    const row = profile.units.map((u) => (unitRuns(u, op.op) ? opTimeOnUnit(work, u) : null));
    times.push(row);
    let choice = row.map((t, k) => (t ? k : -1)).filter((k) => k >= 0);
    if (choice.length === 0) throw new ModelError(`no unit of ${profile.name} runs operator ${op.op} (${op.id}); add it to a unit's "ops" in the profile`);
    let forced: 'op' | 'layer' | undefined;
    const byOp = opOverrides[op.id];
    if (byOp !== undefined) {
      const k = unitIndex(byOp, `for operator "${op.id}"`);
      if (!row[k]) throw new ModelError(`backend override puts ${op.op} (${op.id}) on "${byOp}", which does not run ${op.op}; choose another unit`);
      choice = [k];
      forced = 'op';
    } else {
      let rule: { match: string; unit: string } | undefined;
      for (const r of layerRules) if (layerMatches(r.match, op.layer)) rule = r;
      if (rule) {
        const k = unitIds.indexOf(rule.unit);
        if (row[k]) {
          choice = [k];
          forced = 'layer';
        } else {
          warnings.push(`override "${rule.match}" -> ${rule.unit} skipped for ${op.id}: ${rule.unit} does not run ${op.op}`);
        }
      }
    }
    allowed.push(choice);
    forcedBy.push(forced);
  });
  const producer = new Map<string, number>();
  const lastUse = new Map<string, number>();
  schedule.forEach((op, i) => {
    for (const t of uniqueInputs(op)) if (producer.has(t.name)) lastUse.set(t.name, i);
    for (const t of op.outputs) if (t.name !== '') producer.set(t.name, i);
  });
  const link = unitIds.map((a) => unitIds.map((b) => {
    if (a === b) return { perByteMs: 0, fixedMs: 0 };
    const l = linkBetween(profile, a, b)!;
    return { perByteMs: 1e3 / (l.bandwidthGBs * 1e9), fixedMs: l.syncUs / 1e3 };
  }));
  return { profile, schedule, unitIds, times, allowed, forcedBy, producer, lastUse, link, warnings };
}

/** Builds the report for a fixed assignment (unit index per op). */
function evaluate(p: Prepared, choice: number[], exact: boolean, method: string): BackendAssignment {
  const resident = new Map<string, number>();
  const ops: OpAssignment[] = [];
  const transfers: Transfer[] = [];
  const totals = p.profile.units.map((u) => ({ unit: u.id, displayName: u.displayName, ops: 0, flops: 0, estMs: 0 }));
  let computeMs = 0, transferMs = 0;
  p.schedule.forEach((op, i) => {
    const u = choice[i];
    const t = p.times[i][u];
    if (!t) throw new ModelError(`unit ${p.unitIds[u]} cannot run ${op.op} (${op.id})`);
    let inMs = 0;
    for (const x of uniqueInputs(op)) {
      const mask = resident.get(x.name);
      if (mask === undefined || mask & (1 << u)) continue;
      const h = handOver(p, mask, u, x.bytes);
      transfers.push({ tensor: x.name, bytes: x.bytes, from: p.unitIds[h.from], to: p.unitIds[u], beforeOp: op.id, estMs: h.ms });
      resident.set(x.name, mask | (1 << u));
      inMs += h.ms;
    }
    for (const y of op.outputs) if (y.name !== '') resident.set(y.name, 1 << u);
    ops.push({ id: op.id, op: op.op, layer: op.layer, phase: op.phase, unit: p.unitIds[u], estMs: t.ms, bound: t.bound, transferInMs: inMs, ...(p.forcedBy[i] ? { forcedBy: p.forcedBy[i] } : {}) });
    totals[u].ops++;
    totals[u].flops += op.flops;
    totals[u].estMs += t.ms;
    computeMs += t.ms;
    transferMs += inMs;
  });
  return {
    profile: p.profile.name, displayName: p.profile.displayName, ops, units: totals, transfers, computeMs, transferMs,
    estStepMs: computeMs + transferMs, singleUnitMs: {}, exact, warnings: p.warnings, method,
  };
}

function methodSentence(p: Prepared, exact: boolean, maxStates: number): string {
  const units = p.profile.units.map((u) => `${u.displayName}: ${u.peakGflops} GFLOP/s fp32 peak, ${u.bandwidthGBs} GB/s`).join('; ');
  const forced = p.forcedBy.filter((f) => f).length;
  const multi = p.profile.units.length > 1;
  return `Estimated for ${p.profile.displayName} with a roofline model per operator ` +
    `(time = max(FLOPs / (peak x efficiency of its class), bytes / (bandwidth x sustained fraction)) + launch overhead; ${units}; ` +
    `peaks derived from the public specifications cited in the profile, efficiencies assumed)` +
    (multi
      ? `, units chosen by dynamic programming over the schedule counting each hand-over of a tensor between units ` +
        `(${p.profile.links.map((l) => `${l.kind}: ${l.syncUs} us sync + bytes / ${l.bandwidthGBs} GB/s`).join('; ')})` +
        (exact ? ', optimal under this model' : `, a beam of the ${maxStates} cheapest states per step`)
      : '') +
    (forced ? `, ${forced} operator${forced === 1 ? '' : 's'} placed by overrides` : '') +
    '; operators run one after another, so the step time is their sum.';
}

/** Assigns every operator of the schedule to a unit of the profile. */
export function assignBackends(schedule: ScheduledOp[], profile: DeviceProfile, opts: AssignOptions = {}): BackendAssignment {
  const maxStates = opts.maxStates ?? 32;
  const p = prepare(schedule, profile, opts);
  const { choice, exact } = solve(p, maxStates);
  const result = evaluate(p, choice, exact, methodSentence(p, exact, maxStates));
  // What each unit alone would take (ignoring overrides), for the report's comparison.
  const plain = prepare(schedule, profile, {});
  plain.unitIds.forEach((id, u) => {
    result.singleUnitMs[id] = plain.times.every((row) => row[u]) ? evaluate(plain, schedule.map(() => u), true, '').estStepMs : null;
  });
  return result;
}

/** The report for an assignment given by hand (unit id per op, in schedule order); for tests and what-ifs. */
export function evaluateAssignment(schedule: ScheduledOp[], profile: DeviceProfile, units: string[]): BackendAssignment {
  if (units.length !== schedule.length) throw new ModelError(`assignment has ${units.length} units for ${schedule.length} operators`);
  const p = prepare(schedule, profile, {});
  const choice = units.map((id) => {
    const k = p.unitIds.indexOf(id);
    if (k < 0) throw new ModelError(`unit "${id}" is not in ${profile.name} (${p.unitIds.join(', ')})`);
    return k;
  });
  return evaluate(p, choice, true, 'fixed assignment');
}
