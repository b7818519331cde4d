// The live-byte cost of moving one node earlier in a schedule, without walking the schedule.
//
// reorder-weight-grad-first tries thousands of single-node hoists on a 7B-shaped step (about ten thousand
// nodes, spans of a thousand positions); re-walking the order per trial made the pass quadratic (8 s
// there). Moving node w from position `at` to `to` shifts the nodes between by one: every value w does
// not touch is live at new position p exactly when it was at old position p-1, so the new live bytes are
// the old ones shifted plus a few interval corrections for w's own values. A max segment tree over the
// per-position live bytes then gives a trial's peak in O(|w's values| log n). Lifetimes are kept as nodes
// (producer, last toucher) rather than positions, so a move renumbers nothing but the span.

import type { Node } from '../ir/graph';

export interface LiveCostValue {
  /** Largest sum of live bytes at one position. */
  peak: number;
  /** Sum over positions of the live bytes (bytes x steps held). */
  area: number;
}

/** A constant change of live bytes over positions [from, to). */
interface Piece { from: number; to: number; delta: number }

interface Pending {
  w: number; at: number; to: number;
  liveTo: number; pieces: Piece[];
  /** New death position of each value whose last toucher was w. */
  deaths: Map<number, number>;
  cost: LiveCostValue;
}

export class HoistCost {
  private readonly outs: Int32Array[];
  /** Every value a node touches, once (inputs and outputs). */
  private readonly touches: Int32Array[];
  private readonly readers: Int32Array[];
  private readonly bytes: Float64Array;
  private readonly keep: Uint8Array;
  private readonly producer: Int32Array;
  /** The node that touches each value last in the current order. */
  private readonly lastNode: Int32Array;
  /** Node index at each position, and each node's position. */
  readonly order: Int32Array;
  private readonly pos: Int32Array;
  private readonly liveAt: Float64Array;
  /** Bytes of the values that die at each position (kept values never die). */
  private readonly dyingAt: Float64Array;
  private readonly tree: Float64Array;
  private readonly size: number;
  private areaNow = 0;
  private pending: Pending | null = null;

  constructor(nodes: readonly Node[], bytesOf: (v: string) => number, keep: ReadonlySet<string>) {
    const made = new Map<string, number>();
    for (const n of nodes) for (const o of n.outputs) if (o && !made.has(o)) made.set(o, made.size);
    const nv = made.size, n = nodes.length;
    this.bytes = new Float64Array(nv);
    this.keep = new Uint8Array(nv);
    for (const [v, k] of made) { this.bytes[k] = bytesOf(v); this.keep[k] = keep.has(v) ? 1 : 0; }
    const ids = (vs: string[]): Int32Array => Int32Array.from(new Set(vs.filter((v) => made.has(v)).map((v) => made.get(v)!)));
    const ins = nodes.map((x) => ids(x.inputs));
    this.outs = nodes.map((x) => ids(x.outputs));
    this.touches = nodes.map((x) => ids([...x.inputs, ...x.outputs]));
    const rs: number[][] = Array.from({ length: nv }, () => []);
    ins.forEach((xs, k) => { for (const x of xs) rs[x].push(k); });
    this.readers = rs.map((r) => Int32Array.from(r));
    this.order = Int32Array.from(nodes.map((_, i) => i));
    this.pos = Int32Array.from(nodes.map((_, i) => i));
    this.producer = new Int32Array(nv).fill(-1);
    this.lastNode = new Int32Array(nv).fill(-1);
    for (let i = 0; i < n; i++) {
      for (const o of this.outs[i]) if (this.producer[o] < 0) { this.producer[o] = i; this.lastNode[o] = i; }
      for (const x of ins[i]) if (this.producer[x] >= 0) this.lastNode[x] = i;
    }
    this.liveAt = new Float64Array(n);
    this.dyingAt = new Float64Array(n);
    const diff = new Float64Array(n + 1);
    for (let v = 0; v < nv; v++) {
      if (this.producer[v] < 0) continue;
      diff[this.firstPos(v)] += this.bytes[v];
      diff[this.lastPos(v) + 1] -= this.bytes[v];
      if (!this.keep[v]) this.dyingAt[this.lastPos(v)] += this.bytes[v];
    }
    let run = 0;
    for (let i = 0; i < n; i++) { run += diff[i]; this.liveAt[i] = run; this.areaNow += run; }
    let size = 1;
    while (size < Math.max(1, n)) size *= 2;
    this.size = size;
    this.tree = new Float64Array(2 * size);
    this.tree.set(this.liveAt, size);
    for (let i = size - 1; i >= 1; i--) this.tree[i] = Math.max(this.tree[2 * i], this.tree[2 * i + 1]);
  }

  /** Cost of the current order. */
  get cost(): LiveCostValue {
    return { peak: this.tree[1], area: this.areaNow };
  }

  /** Position of node `k` (an index into the constructor's list). */
  positionOf(k: number): number {
    return this.pos[k];
  }

  /**
   * Cost if node `w` ran at position `to` (earlier than now) with the nodes between shifted by one.
   * `to` must lie below every producer of what w reads, as a valid hoist does.
   */
  trial(w: number, to: number): LiveCostValue {
    const at = this.pos[w];
    if (to >= at) throw new Error(`hoist of node ${w} to ${to}: it is at ${at}`);
    const { bytes, keep } = this;
    const n = this.order.length;
    // Old and new lifetimes (positions) of w's values; every other value just shifts with its nodes.
    const vals = Array.from(this.touches[w], (v) => {
      const fo = this.firstPos(v), lo = this.lastPos(v);
      const fn = this.producer[v] === w ? to : fo;
      const ln = keep[v] ? n - 1 : this.lastNode[v] === w ? this.lastAfterHoist(v, w, at, to) : lo;
      return { v, b: bytes[v], fo, lo, fn, ln };
    });
    const deaths = new Map<number, number>();
    for (const x of vals) if (!keep[x.v] && this.lastNode[x.v] === w) deaths.set(x.v, x.ln);
    // Position `to`: what crosses into it from to-1, minus w's values counted there, plus those live now.
    let liveTo = to > 0 ? this.liveAt[to - 1] - this.dyingAt[to - 1] : 0;
    for (const x of vals) {
      if (to > 0 && x.fo <= to - 1 && x.lo >= to - 1) liveTo -= x.b;
      if (x.fn <= to && to <= x.ln) liveTo += x.b;
    }
    // Positions to+1..at: liveAt[p-1] plus, for each of w's values, [new interval] - [old interval shifted].
    const cuts = new Set<number>([to + 1, at + 1]);
    for (const x of vals) for (const c of [x.fn, x.ln + 1, x.fo + 1, x.lo + 2]) if (c > to + 1 && c < at + 1) cuts.add(c);
    const points = [...cuts].sort((a, b) => a - b);
    const pieces: Piece[] = [];
    let peakIn = liveTo, deltaSum = 0;
    for (let i = 0; i + 1 < points.length; i++) {
      const from = points[i], end = points[i + 1];
      let delta = 0;
      for (const x of vals) {
        if (x.fn <= from && from <= x.ln) delta += x.b;
        if (x.fo <= from - 1 && from - 1 <= x.lo) delta -= x.b;
      }
      pieces.push({ from, to: end, delta });
      peakIn = Math.max(peakIn, this.rangeMax(from - 1, end - 2) + delta);
      deltaSum += delta * (end - from);
    }
    const peak = Math.max(peakIn, this.rangeMax(0, to - 1), this.rangeMax(at + 1, n - 1));
    // Sum over to..at of the new live bytes minus the old: the shifted part drops liveAt[at] and gains liveTo.
    const cost = { peak, area: this.areaNow + liveTo - this.liveAt[at] + deltaSum };
    this.pending = { w, at, to, liveTo, pieces, deaths, cost };
    return cost;
  }

  /** Makes the last trial's move the current order. */
  accept(): void {
    const t = this.pending;
    if (!t) throw new Error('accept() without a trial');
    this.pending = null;
    const { w, at, to } = t;
    this.order.copyWithin(to + 1, to, at);
    this.order[to] = w;
    for (let p = to; p <= at; p++) this.pos[this.order[p]] = p;
    this.liveAt.copyWithin(to + 1, to, at);
    this.liveAt[to] = t.liveTo;
    for (const pc of t.pieces) if (pc.delta) for (let p = pc.from; p < pc.to; p++) this.liveAt[p] += pc.delta;
    // Deaths move with their nodes; w's values that it touched last die where the trial found.
    this.dyingAt.copyWithin(to + 1, to, at);
    this.dyingAt[to] = 0;
    for (const [v, p] of t.deaths) {
      this.dyingAt[p] += this.bytes[v];
      this.lastNode[v] = this.order[p];
    }
    this.areaNow = t.cost.area;
    this.tree.set(this.liveAt.subarray(to, at + 1), this.size + to);
    let lo = (this.size + to) >> 1, hi = (this.size + at) >> 1;
    while (lo >= 1) {
      for (let i = lo; i <= hi; i++) this.tree[i] = Math.max(this.tree[2 * i], this.tree[2 * i + 1]);
      lo >>= 1; hi >>= 1;
    }
  }

  private firstPos(v: number): number {
    return this.pos[this.producer[v]];
  }

  private lastPos(v: number): number {
    return this.keep[v] ? this.order.length - 1 : this.pos[this.lastNode[v]];
  }

  /** Where value v (last touched by w, at `at`) dies once w runs at `to`: its latest other toucher, shifted, or w. */
  private lastAfterHoist(v: number, w: number, at: number, to: number): number {
    let l = this.producer[v] === w ? to : this.firstPos(v); // w's inputs are made above `to`
    for (const r of this.readers[v]) {
      if (r === w) { l = Math.max(l, to); continue; }
      const p = this.pos[r];
      l = Math.max(l, p >= to && p < at ? p + 1 : p);
    }
    return l;
  }

  private rangeMax(lo: number, hi: number): number {
    let m = 0;
    for (let l = lo + this.size, r = hi + this.size + 1; l < r; l >>= 1, r >>= 1) {
      if (l & 1) m = Math.max(m, this.tree[l++]);
      if (r & 1) m = Math.max(m, this.tree[--r]);
    }
    return m;
  }
}
