// The dynamic programme behind the backend assignment (see assign.ts for the model). Its state after
// each operator is the set of units holding each live tensor; this file keeps that state small enough
// to search: slots reused along tensor lifetimes, copy-on-write blocks of slots, a Zobrist hash to merge
// equal states, a dominance test that drops states another provably beats, and a beam past maxStates.

import type { OpTime } from '../cost/roofline';
import type { DeviceProfile } from './profile';
import type { ScheduledOp, TensorRef } from './assign';

/** The assignment problem with everything the DP reads precomputed. */
export interface Prepared {
  profile: DeviceProfile;
  schedule: ScheduledOp[];
  unitIds: string[];
  /** times[i][u]: op i on unit u, null where the unit cannot run it. */
  times: (OpTime | null)[][];
  allowed: number[][];
  forcedBy: ('op' | 'layer' | undefined)[];
  /** Producer op index of each tensor made in the schedule. */
  producer: Map<string, number>;
  /** Index of the last op that reads each tensor made in the schedule. */
  lastUse: Map<string, number>;
  /** link[a][b]: hand-over cost from unit a to unit b, per byte and fixed. */
  link: { perByteMs: number; fixedMs: number }[][];
  warnings: string[];
}

export function uniqueInputs(op: ScheduledOp): TensorRef[] {
  const seen = new Set<string>();
  return op.inputs.filter((t) => t.name !== '' && !seen.has(t.name) && (seen.add(t.name), true));
}

/** Cheapest hand-over of `bytes` to unit `to` from any unit in `mask`. */
export function handOver(p: Prepared, mask: number, to: number, bytes: number): { ms: number; from: number } {
  let best = { ms: Infinity, from: -1 };
  for (let a = 0; a < p.unitIds.length; a++) {
    if (!(mask & (1 << a))) continue;
    const ms = p.link[a][to].fixedMs + bytes * p.link[a][to].perByteMs;
    if (ms < best.ms) best = { ms, from: a };
  }
  return best;
}

interface State {
  cost: number;
  /**
   * Residency bitmask per live tensor, by slot (a slot holds one tensor from its producer to its last
   * reader), in blocks of BLOCK slots shared copy-on-write with the parent state: a step changes a few
   * slots, so a new state copies a few block references instead of the whole width.
   */
  blocks: Uint8Array[];
  /** Zobrist hash of the live (tensor, mask) pairs: two 32-bit halves. */
  h1: number;
  h2: number;
  /** Index of the state it came from in the previous step, and the unit chosen. */
  prev: number;
  unit: number;
}

interface Candidate {
  cost: number;
  h1: number;
  h2: number;
  prev: number;
  unit: number;
  /** Slots whose mask changed (inputs handed over), and their new masks. */
  changedAt: number[];
  changedTo: number[];
}

/** A 32-bit integer hash (murmur3's finaliser). */
function mix(x: number, seed: number): number {
  let h = Math.imul(x ^ seed, 0x9e3779b1);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

interface LiveRef { slot: number; id: number; bytes: number }

/** Per step: the live tensors it reads, those that die after it, those it makes that live on. */
function lifetimes(p: Prepared): { reads: LiveRef[][]; dying: LiveRef[][]; births: LiveRef[][]; liveWidth: number[]; width: number; tensors: number } {
  const slotOf = new Map<string, LiveRef>();
  const free: number[] = [];
  let width = 0;
  const reads: LiveRef[][] = [], dying: LiveRef[][] = [], births: LiveRef[][] = [];
  const liveWidth: number[] = [];
  let nextId = 0;
  p.schedule.forEach((op, i) => {
    const r: LiveRef[] = [];
    const d: LiveRef[] = [];
    for (const t of uniqueInputs(op)) {
      const ref = slotOf.get(t.name);
      if (!ref) continue;
      r.push({ ...ref, bytes: t.bytes });
      if (p.lastUse.get(t.name) === i) {
        d.push(ref);
        slotOf.delete(t.name);
      }
    }
    for (const ref of d) free.push(ref.slot);
    const b: LiveRef[] = [];
    for (const t of op.outputs) {
      if (t.name === '' || (p.lastUse.get(t.name) ?? -1) <= i) continue;
      const ref = { slot: free.length ? free.pop()! : width++, id: nextId++, bytes: t.bytes };
      slotOf.set(t.name, ref);
      b.push(ref);
    }
    reads.push(r);
    dying.push(d);
    births.push(b);
    liveWidth.push(slotOf.size);
  });
  return { reads, dying, births, liveWidth, width, tensors: nextId };
}

const BLOCK = 64;

/**
 * Dominance is checked only on steps with at most this many live tensors: on wider steps the beam's
 * states differ in many blocks, the scan costs more than the pruning saves, and the beam decides anyway.
 */
const DOMINANCE_MAX_WIDTH = 256;

const maskAt = (blocks: Uint8Array[], slot: number) => blocks[slot >> 6][slot & (BLOCK - 1)];

/**
 * True when state `r` is at least as good as `s` for every continuation (same units from here on). Per
 * tensor that s holds somewhere r does not, r may pay more later: for a unit s holds it on, up to r's
 * hand-over there; for a unit neither holds it on, up to r's hand-over minus the cheapest hand-over s
 * could make (links need not obey the triangle inequality). Tensors whose copies r already covers cost
 * r nothing extra. If s's extra cost now pays for all that, s can be dropped and the DP stays exact.
 */
function dominates(p: Prepared, r: State, sBlocks: Uint8Array[], sCost: number, slotBytes: Float64Array): boolean {
  const slack = sCost - r.cost;
  if (slack < 0) return false;
  const all = (1 << p.unitIds.length) - 1;
  let bound = 0;
  for (let b = 0; b < sBlocks.length; b++) {
    const sb = sBlocks[b], rb = r.blocks[b];
    if (sb === rb) continue; // shared block: same residency
    for (let k = 0; k < BLOCK; k++) {
      const rm = rb[k];
      if (!(sb[k] & ~rm)) continue;
      for (let w = 0; w < p.unitIds.length; w++) {
        const bit = 1 << w;
        if (rm & bit) continue;
        const bytes = slotBytes[b * BLOCK + k];
        const rPays = handOver(p, rm, w, bytes).ms;
        bound += sb[k] & bit ? rPays : Math.max(0, rPays - handOver(p, all & ~bit, w, bytes).ms);
        if (bound > slack) return false;
      }
    }
  }
  return true;
}

/**
 * The DP proper: returns the chosen unit per op and whether any state was pruned. States with the same
 * residency are merged through a Zobrist hash (XOR of one random word per live (tensor, mask)), updated
 * incrementally, so a step costs O(states x units x tensors touched) plus copying the survivors' masks.
 */
export function solve(p: Prepared, maxStates: number): { choice: number[]; exact: boolean } {
  const { reads, dying, births, liveWidth, width, tensors } = lifetimes(p);
  // One random word per (tensor, mask), tabulated: the hash updates are the DP's inner loop.
  const masksPerTensor = 1 << p.unitIds.length;
  const table1 = new Uint32Array(tensors * masksPerTensor);
  const table2 = new Uint32Array(tensors * masksPerTensor);
  for (let k = 0; k < table1.length; k++) {
    table1[k] = mix(k, 0x2545f491);
    table2[k] = mix(k, 0x68e31da4);
  }
  const z1 = (t: number, m: number) => table1[t * masksPerTensor + m];
  const z2 = (t: number, m: number) => table2[t * masksPerTensor + m];
  const nBlocks = Math.ceil(width / BLOCK);
  const slotBytes = new Float64Array(nBlocks * BLOCK);
  const empty = new Uint8Array(BLOCK);
  let states: State[] = [{ cost: 0, blocks: new Array<Uint8Array>(nBlocks).fill(empty), h1: 0, h2: 0, prev: -1, unit: -1 }];
  const history: { prev: number; unit: number }[][] = [];
  let exact = true;
  p.schedule.forEach((_, i) => {
    const merged = new Map<number, Candidate>();
    states.forEach((s, si) => {
      for (const u of p.allowed[i]) {
        const bit = 1 << u;
        let cost = s.cost + p.times[i][u]!.ms;
        let h1 = s.h1, h2 = s.h2;
        const changedAt: number[] = [], changedTo: number[] = [];
        for (const t of reads[i]) {
          const m = maskAt(s.blocks, t.slot);
          if (m & bit) continue;
          cost += handOver(p, m, u, t.bytes).ms;
          h1 = (h1 ^ z1(t.id, m) ^ z1(t.id, m | bit)) >>> 0;
          h2 = (h2 ^ z2(t.id, m) ^ z2(t.id, m | bit)) >>> 0;
          changedAt.push(t.slot);
          changedTo.push(m | bit);
        }
        for (const t of dying[i]) {
          const c = changedAt.indexOf(t.slot);
          const m = c >= 0 ? changedTo[c] : maskAt(s.blocks, t.slot);
          h1 = (h1 ^ z1(t.id, m)) >>> 0;
          h2 = (h2 ^ z2(t.id, m)) >>> 0;
        }
        for (const t of births[i]) {
          h1 = (h1 ^ z1(t.id, bit)) >>> 0;
          h2 = (h2 ^ z2(t.id, bit)) >>> 0;
        }
        const key = h1 + (h2 & 0x1fffff) * 4294967296;
        const old = merged.get(key);
        if (!old || cost < old.cost) merged.set(key, { cost, h1, h2, prev: si, unit: u, changedAt, changedTo });
      }
    });
    for (const t of births[i]) slotBytes[t.slot] = t.bytes;
    const sorted = [...merged.values()].sort((a, b) => a.cost - b.cost);
    const next: State[] = [];
    for (const c of sorted) {
      const blocks = states[c.prev].blocks.slice();
      const owned = new Set<number>();
      const write = (slot: number, m: number) => {
        const b = slot >> 6;
        if (!owned.has(b)) {
          blocks[b] = blocks[b].slice();
          owned.add(b);
        }
        blocks[b][slot & (BLOCK - 1)] = m;
      };
      for (let x = 0; x < c.changedAt.length; x++) write(c.changedAt[x], c.changedTo[x]);
      for (const t of dying[i]) write(t.slot, 0);
      for (const t of births[i]) write(t.slot, 1 << c.unit);
      if (liveWidth[i] <= DOMINANCE_MAX_WIDTH && next.length > 0 && dominates(p, next[0], blocks, c.cost, slotBytes)) continue;
      if (next.length === maxStates) {
        exact = false;
        break;
      }
      next.push({ cost: c.cost, blocks, h1: c.h1, h2: c.h2, prev: c.prev, unit: c.unit });
    }
    states = next;
    history.push(states.map((s) => ({ prev: s.prev, unit: s.unit })));
  });
  if (p.schedule.length === 0) return { choice: [], exact: true };
  let best = 0;
  states.forEach((s, k) => { if (s.cost < states[best].cost) best = k; });
  const choice = new Array<number>(p.schedule.length);
  for (let i = p.schedule.length - 1, k = best; i >= 0; i--) {
    choice[i] = history[i][k].unit;
    k = history[i][k].prev;
  }
  return { choice, exact };
}
