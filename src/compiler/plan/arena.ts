// Static arena: one buffer, an offset per tensor, no allocation during a step. Tensors that live through
// the whole step (parameters, optimizer state, inputs) are stacked at the bottom, largest first: they
// overlap everything, so no placement can do better for them. The rest go greedy by size (largest first),
// each at the lowest aligned offset that no time-overlapping, already-placed tensor uses — the
// first-fit-by-lifetime scheme of TinyEngine's memory scheduler. Offsets are what the exported binary
// uses, so the arena size is the real peak of the step.

import type { TensorLife } from './lifetimes';

export interface ArenaPlan {
  offsets: Map<string, number>;
  arenaBytes: number;
}

export const ARENA_ALIGN = 64;

const alignUp = (n: number, a: number): number => Math.ceil(n / a) * a;

export function planArena(tensors: TensorLife[], align = ARENA_ALIGN): ArenaPlan {
  const offsets = new Map<string, number>();
  let lastStep = 0;
  for (const t of tensors) lastStep = Math.max(lastStep, t.lastStep);
  const whole = (t: TensorLife) => t.firstStep === 0 && t.lastStep === lastStep;
  const bySize = (a: { t: TensorLife; i: number }, b: { t: TensorLife; i: number }) =>
    b.t.bytes - a.t.bytes || (b.t.lastStep - b.t.firstStep) - (a.t.lastStep - a.t.firstStep) || a.i - b.i;
  const indexed = tensors.map((t, i) => ({ t, i }));
  let base = 0;
  for (const { t } of indexed.filter(({ t }) => whole(t)).sort(bySize)) {
    offsets.set(t.name, base);
    base += alignUp(Math.max(t.bytes, 1), align);
  }
  const order = indexed.filter(({ t }) => !whole(t)).sort(bySize);
  // Placed blocks kept sorted by start offset (parallel typed arrays): the first-fit scan walks them in
  // offset order and skips those not alive at the same time, with no per-tensor sort.
  const m = order.length;
  const pFirst = new Int32Array(m), pLast = new Int32Array(m);
  const pStart = new Float64Array(m), pEnd = new Float64Array(m);
  let placed = 0;
  let arenaBytes = base;
  for (const { t } of order) {
    const size = alignUp(Math.max(t.bytes, 1), align);
    let offset = base;
    for (let k = 0; k < placed; k++) {
      if (pFirst[k] > t.lastStep || t.firstStep > pLast[k]) continue;
      if (pStart[k] - offset >= size) break;
      if (pEnd[k] > offset) offset = pEnd[k];
    }
    // Insert keeping the start order.
    let at = placed;
    while (at > 0 && pStart[at - 1] > offset) at--;
    pFirst.copyWithin(at + 1, at, placed); pLast.copyWithin(at + 1, at, placed);
    pStart.copyWithin(at + 1, at, placed); pEnd.copyWithin(at + 1, at, placed);
    pFirst[at] = t.firstStep; pLast[at] = t.lastStep; pStart[at] = offset; pEnd[at] = offset + size;
    placed++;
    offsets.set(t.name, offset);
    arenaBytes = Math.max(arenaBytes, offset + size);
  }
  return { offsets, arenaBytes };
}

/** Problems with a plan: overlapping live tensors or tensors outside the arena (empty when valid). */
export function checkArena(tensors: TensorLife[], plan: ArenaPlan): string[] {
  const problems: string[] = [];
  const byStart = tensors.slice().sort((a, b) => a.firstStep - b.firstStep);
  for (let i = 0; i < byStart.length; i++) {
    const a = byStart[i];
    const ao = plan.offsets.get(a.name);
    if (ao === undefined) { problems.push(`${a.name} has no offset`); continue; }
    if (ao + a.bytes > plan.arenaBytes) problems.push(`${a.name} ends past the arena`);
    for (let j = i + 1; j < byStart.length && byStart[j].firstStep <= a.lastStep; j++) {
      const b = byStart[j];
      const bo = plan.offsets.get(b.name)!;
      if (ao < bo + b.bytes && bo < ao + a.bytes && a.bytes > 0 && b.bytes > 0) problems.push(`${a.name} and ${b.name} overlap while both alive`);
    }
  }
  return problems;
}
