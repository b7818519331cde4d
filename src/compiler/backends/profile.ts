// Device profiles: what a target's compute units can do, as data. The numbers live in JSON files under
// profiles/ with the public specification each comes from; this module is their type and their check.
// The check insists that every number is cited, derived (with the arithmetic shown and re-done here) or
// marked as an assumption, so a profile cannot quietly gain an unexplained constant.

import { ModelError } from '../onnx/errors';
import type { OpClass } from '../cost/opClass';

export const OP_CLASSES: readonly Exclude<OpClass, 'none'>[] = ['gemm', 'conv', 'depthwise', 'elementwise', 'reduction', 'data'];

/** Which operator types a unit runs: every one, every one but a list, or only a list. */
export type OpSupport = 'all' | { allExcept: string[] } | { only: string[] };

export interface ComputeUnit {
  /** Short id used in assignments and overrides: "cpu", "gpu". */
  id: string;
  kind: 'cpu' | 'gpu';
  displayName: string;
  isa: string;
  /** CPU cores, or CUDA cores for a GPU. */
  cores: number;
  clockGHz: number;
  /** fp32 FLOP per core per cycle (an FMA counts 2). */
  flopsPerCyclePerCore: number;
  /** fp32 peak = cores x clockGHz x flopsPerCyclePerCore. */
  peakGflops: number;
  /** Theoretical memory bandwidth this unit sees. */
  bandwidthGBs: number;
  /** Sustained fraction of bandwidthGBs. */
  bandwidthEfficiency: number;
  /** Fraction of peakGflops reached per operator class. */
  efficiency: Record<Exclude<OpClass, 'none'>, number>;
  /** Fixed cost per operator (dispatch, kernel launch). */
  launchOverheadUs: number;
  ops: OpSupport;
}

/** How a tensor produced on one unit reaches another. */
export interface Link {
  between: [string, string];
  /** 'unified-memory': same DRAM, the cost is cache maintenance and a sync; 'copy': a real copy. */
  kind: 'unified-memory' | 'copy';
  bandwidthGBs: number;
  syncUs: number;
}

export interface Source {
  url: string;
  title: string;
  /** Field path (e.g. "units.cpu.clockGHz") -> what the source says. */
  gives: Record<string, string>;
}

export interface DeviceProfile {
  name: string;
  displayName: string;
  memoryBytes: number;
  memory: { type: string; busBits: number; transfersMTs: number; bandwidthGBs: number };
  units: ComputeUnit[];
  links: Link[];
  sources: Source[];
  /** Field path -> the arithmetic that gives it. */
  derived: Record<string, string>;
  /** Field path -> why this value was chosen without a public figure. */
  assumed: Record<string, string>;
}

class Checker {
  constructor(readonly file: string) {}

  fail(field: string, what: string): never {
    throw new ModelError(`device profile ${this.file}: field "${field}" ${what}; fix the profile file`, this.file);
  }

  object(v: unknown, field: string): Record<string, unknown> {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(field, 'must be an object');
    return v as Record<string, unknown>;
  }

  string(o: Record<string, unknown>, key: string, field: string): string {
    const v = o[key];
    if (typeof v !== 'string' || v === '') this.fail(field, 'must be a non-empty string');
    return v;
  }

  number(o: Record<string, unknown>, key: string, field: string, opts: { integer?: boolean; max?: number } = {}): number {
    const v = o[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) this.fail(field, `must be a positive number (got ${JSON.stringify(v)})`);
    if (opts.integer && !Number.isInteger(v)) this.fail(field, `must be an integer (got ${v})`);
    if (opts.max !== undefined && v > opts.max) this.fail(field, `must be at most ${opts.max} (got ${v})`);
    return v;
  }

  stringMap(v: unknown, field: string): Record<string, string> {
    const o = this.object(v, field);
    for (const [k, s] of Object.entries(o)) if (typeof s !== 'string' || s === '') this.fail(`${field}.${k}`, 'must be a non-empty string');
    return o as Record<string, string>;
  }

  stringList(v: unknown, field: string): string[] {
    if (!Array.isArray(v)) this.fail(field, 'must be a list of operator names');
    for (const s of v) if (typeof s !== 'string' || !/^[A-Z][A-Za-z0-9]*$/.test(s)) this.fail(field, `has ${JSON.stringify(s)}, which is not an operator type name such as "Conv"`);
    return v as string[];
  }
}

function closeTo(a: number, b: number, rel: number): boolean {
  return Math.abs(a - b) <= rel * Math.max(Math.abs(a), Math.abs(b));
}

function checkOps(c: Checker, v: unknown, field: string): OpSupport {
  if (v === 'all') return 'all';
  const o = c.object(v, field);
  const keys = Object.keys(o);
  if (keys.length !== 1 || (keys[0] !== 'allExcept' && keys[0] !== 'only')) c.fail(field, 'must be "all", {"allExcept": [...]} or {"only": [...]}');
  return keys[0] === 'allExcept' ? { allExcept: c.stringList(o.allExcept, `${field}.allExcept`) } : { only: c.stringList(o.only, `${field}.only`) };
}

function checkUnit(c: Checker, v: unknown, field: string): ComputeUnit {
  const o = c.object(v, field);
  const id = c.string(o, 'id', `${field}.id`);
  const f = `units.${id}`;
  const kind = o.kind;
  if (kind !== 'cpu' && kind !== 'gpu') c.fail(`${f}.kind`, 'must be "cpu" or "gpu"');
  const effObj = c.object(o.efficiency, `${f}.efficiency`);
  const efficiency = {} as ComputeUnit['efficiency'];
  for (const cls of OP_CLASSES) efficiency[cls] = c.number(effObj, cls, `${f}.efficiency.${cls}`, { max: 1 });
  for (const k of Object.keys(effObj)) if (!(OP_CLASSES as readonly string[]).includes(k)) c.fail(`${f}.efficiency.${k}`, `is not an operator class (${OP_CLASSES.join(', ')})`);
  const unit: ComputeUnit = {
    id, kind, displayName: c.string(o, 'displayName', `${f}.displayName`), isa: c.string(o, 'isa', `${f}.isa`),
    cores: c.number(o, 'cores', `${f}.cores`, { integer: true }),
    clockGHz: c.number(o, 'clockGHz', `${f}.clockGHz`),
    flopsPerCyclePerCore: c.number(o, 'flopsPerCyclePerCore', `${f}.flopsPerCyclePerCore`),
    peakGflops: c.number(o, 'peakGflops', `${f}.peakGflops`),
    bandwidthGBs: c.number(o, 'bandwidthGBs', `${f}.bandwidthGBs`),
    bandwidthEfficiency: c.number(o, 'bandwidthEfficiency', `${f}.bandwidthEfficiency`, { max: 1 }),
    efficiency,
    launchOverheadUs: c.number(o, 'launchOverheadUs', `${f}.launchOverheadUs`),
    ops: checkOps(c, o.ops, `${f}.ops`),
  };
  const peak = unit.cores * unit.clockGHz * unit.flopsPerCyclePerCore;
  if (!closeTo(peak, unit.peakGflops, 0.005)) {
    c.fail(`${f}.peakGflops`, `is ${unit.peakGflops} but cores x clockGHz x flopsPerCyclePerCore = ${+peak.toFixed(3)}`);
  }
  return unit;
}

/** Numeric fields of a profile, by path, each of which must be cited, derived or assumed. */
function numericPaths(p: DeviceProfile): string[] {
  const paths = ['memoryBytes', 'memory.busBits', 'memory.transfersMTs', 'memory.bandwidthGBs'];
  for (const u of p.units) {
    for (const k of ['cores', 'clockGHz', 'flopsPerCyclePerCore', 'peakGflops', 'bandwidthGBs', 'bandwidthEfficiency', 'launchOverheadUs']) paths.push(`units.${u.id}.${k}`);
    for (const cls of OP_CLASSES) paths.push(`units.${u.id}.efficiency.${cls}`);
  }
  for (const l of p.links) for (const k of ['bandwidthGBs', 'syncUs']) paths.push(`links.${l.between.join('-')}.${k}`);
  return paths;
}

const covers = (key: string, path: string) => path === key || path.startsWith(key + '.');

/** Checks a parsed profile file and returns it typed; the error names the file and the field. */
export function validateProfile(raw: unknown, file: string): DeviceProfile {
  const c: Checker = new Checker(file);
  const o = c.object(raw, '(root)');
  const name = c.string(o, 'name', 'name');
  if (!/^[a-z0-9-]+$/.test(name)) c.fail('name', 'must be lower-case letters, digits and dashes');
  const mem = c.object(o.memory, 'memory');
  const memory = {
    type: c.string(mem, 'type', 'memory.type'),
    busBits: c.number(mem, 'busBits', 'memory.busBits', { integer: true }),
    transfersMTs: c.number(mem, 'transfersMTs', 'memory.transfersMTs'),
    bandwidthGBs: c.number(mem, 'bandwidthGBs', 'memory.bandwidthGBs'),
  };
  const busGBs = (memory.transfersMTs * memory.busBits) / 8 / 1000;
  if (!closeTo(busGBs, memory.bandwidthGBs, 0.01)) c.fail('memory.bandwidthGBs', `is ${memory.bandwidthGBs} but transfersMTs x busBits / 8 = ${+busGBs.toFixed(2)} GB/s`);

  // The assignment keeps a bitmask of units per tensor; four units (CPU, GPU, two accelerators) is plenty.
  if (!Array.isArray(o.units) || o.units.length === 0 || o.units.length > 4) c.fail('units', 'must list 1 to 4 compute units');
  const units = o.units.map((u, i) => checkUnit(c, u, `units[${i}]`));
  const ids = new Set<string>();
  for (const u of units) {
    if (ids.has(u.id)) c.fail(`units.${u.id}`, 'is defined twice');
    ids.add(u.id);
    if (u.bandwidthGBs > memory.bandwidthGBs * 1.001) c.fail(`units.${u.id}.bandwidthGBs`, `exceeds the memory's ${memory.bandwidthGBs} GB/s`);
  }

  if (!Array.isArray(o.links)) c.fail('links', 'must be a list (empty for a single unit)');
  const links: Link[] = o.links.map((l, i) => {
    const lo = c.object(l, `links[${i}]`);
    const between = lo.between;
    if (!Array.isArray(between) || between.length !== 2 || !between.every((b) => typeof b === 'string' && ids.has(b)) || between[0] === between[1]) {
      c.fail(`links[${i}].between`, `must name two different units of this profile (${[...ids].join(', ')})`);
    }
    const f = `links.${between.join('-')}`;
    const kind = lo.kind;
    if (kind !== 'unified-memory' && kind !== 'copy') c.fail(`${f}.kind`, 'must be "unified-memory" or "copy"');
    return { between: [between[0], between[1]] as [string, string], kind, bandwidthGBs: c.number(lo, 'bandwidthGBs', `${f}.bandwidthGBs`), syncUs: c.number(lo, 'syncUs', `${f}.syncUs`) };
  });
  for (let i = 0; i < units.length; i++) {
    for (let j = i + 1; j < units.length; j++) {
      const a = units[i].id, b = units[j].id;
      if (!links.some((l) => (l.between[0] === a && l.between[1] === b) || (l.between[0] === b && l.between[1] === a))) {
        c.fail('links', `has no link between "${a}" and "${b}"; every pair of units needs one`);
      }
    }
  }

  if (!Array.isArray(o.sources) || o.sources.length === 0) c.fail('sources', 'must list the public specifications the numbers come from');
  const sources: Source[] = o.sources.map((s, i) => {
    const so = c.object(s, `sources[${i}]`);
    const url = c.string(so, 'url', `sources[${i}].url`);
    if (!/^https:\/\//.test(url)) c.fail(`sources[${i}].url`, 'must be an https URL');
    return { url, title: c.string(so, 'title', `sources[${i}].title`), gives: c.stringMap(so.gives, `sources[${i}].gives`) };
  });
  const profile: DeviceProfile = {
    name, displayName: c.string(o, 'displayName', 'displayName'),
    memoryBytes: c.number(o, 'memoryBytes', 'memoryBytes', { integer: true }),
    memory, units, links, sources,
    derived: c.stringMap(o.derived, 'derived'),
    assumed: c.stringMap(o.assumed, 'assumed'),
  };

  const paths = numericPaths(profile);
  const keys: [string, string][] = [
    ...sources.flatMap((s, i) => Object.keys(s.gives).map((k): [string, string] => [k, `sources[${i}].gives`])),
    ...Object.keys(profile.derived).map((k): [string, string] => [k, 'derived']),
    ...Object.keys(profile.assumed).map((k): [string, string] => [k, 'assumed']),
  ];
  for (const [k, where] of keys) if (!paths.some((p) => covers(k, p))) c.fail(`${where}.${k}`, 'names no numeric field of this profile');
  for (const p of paths) if (!keys.some(([k]) => covers(k, p))) c.fail(p, 'is neither cited in "sources", derived in "derived" nor explained in "assumed"');
  return profile;
}

export function unitRuns(unit: ComputeUnit, opType: string): boolean {
  const s = unit.ops;
  if (s === 'all') return true;
  if ('allExcept' in s) return !s.allExcept.includes(opType);
  return s.only.includes(opType);
}

export function linkBetween(profile: DeviceProfile, a: string, b: string): Link | undefined {
  return profile.links.find((l) => (l.between[0] === a && l.between[1] === b) || (l.between[0] === b && l.between[1] === a));
}
