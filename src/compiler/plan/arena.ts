// Static arena: one buffer, an offset per tensor, no allocation during a step. Greedy by size (largest
// first), each tensor at the lowest aligned offset that no time-overlapping, already-placed tensor uses —
// the first-fit-by-lifetime scheme of TinyEngine's memory scheduler. Offsets are what the exported binary
// uses, so the arena size is the real peak of the step.

import type { TensorLife } from './lifetimes';

export interface ArenaPlan {
  offsets: Map<string, number>;
  arenaBytes: number;
}

export const ARENA_ALIGN = 64;

const alignUp = (n: number, a: number): number => Math.ceil(n / a) * a;

export function planArena(tensors: TensorLife[], align = ARENA_ALIGN): ArenaPlan {
  const order = tensors
    .map((t, i) => ({ t, i }))
    .sort((a, b) => b.t.bytes - a.t.bytes || (b.t.lastStep - b.t.firstStep) - (a.t.lastStep - a.t.firstStep) || a.i - b.i);
  const placed: { first: number; last: number; start: number; end: number }[] = [];
  const offsets = new Map<string, number>();
  let arenaBytes = 0;
  for (const { t } of order) {
    const size = alignUp(Math.max(t.bytes, 1), align);
    // Blocks in use during t's lifetime, by start offset; take the first gap large enough.
    const busy = placed.filter((p) => p.first <= t.lastStep && t.firstStep <= p.last).sort((a, b) => a.start - b.start);
    let offset = 0;
    for (const b of busy) {
      if (b.start - offset >= size) break;
      offset = Math.max(offset, b.end);
    }
    placed.push({ first: t.firstStep, last: t.lastStep, start: offset, end: offset + size });
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
