// Matrix products: MatMul with numpy's batching and 1-D promotion, Gemm with its transposes.

import { attrInt, attrString } from '../graph';
import type { Dim, Shape } from '../shape';
import { broadcastShapes } from './broadcast';
import { type InferCtx, type ShapeRule, fail, t } from './context';

/** Checks that two contracted dims can match; numbers must agree, symbols are trusted. */
function checkInner(a: Dim, b: Dim, what: string): void {
  if (typeof a === 'number' && typeof b === 'number' && a !== b) fail(`${what}: inner dimensions ${a} and ${b} differ`);
}

/** Einsum: each letter's size from the inputs that carry it; '...' broadcasts like numpy. */
function einsumRule(c: InferCtx): ReturnType<ShapeRule> {
  const eq = attrString(c.node, 'equation', '').replace(/\s+/g, '');
  const [lhs, rhs] = eq.split('->');
  const terms = lhs.split(',');
  if (terms.length !== c.numInputs) fail(`equation "${eq}" names ${terms.length} inputs, the node has ${c.numInputs}`);
  const sizes = new Map<string, Dim>();
  const counts = new Map<string, number>();
  const ellipses: Shape[] = [];
  for (let i = 0; i < terms.length; i++) {
    const s = c.shape(i);
    if (!s) return [t(c.dtype(0), null)];
    const [before, after] = terms[i].includes('...') ? terms[i].split('...') : [terms[i], undefined];
    const tail = after ?? '';
    const ellRank = after === undefined ? 0 : s.length - before.length - tail.length;
    if (ellRank < 0 || (after === undefined && before.length !== s.length)) fail(`term "${terms[i]}" does not match rank ${s.length}`);
    const letters = [...before, ...Array(ellRank).fill(''), ...tail];
    letters.forEach((l, d) => {
      if (!l) return;
      counts.set(l, (counts.get(l) ?? 0) + 1);
      const prev = sizes.get(l);
      if (prev === undefined || (typeof prev !== 'number' && typeof s[d] === 'number') || prev === 1) sizes.set(l, s[d]);
    });
    if (after !== undefined) ellipses.push(s.slice(before.length, before.length + ellRank));
  }
  const ell = (broadcastShapes(ellipses) ?? []) as Dim[];
  const out = rhs ?? `...${[...counts].filter(([, n]) => n === 1).map(([l]) => l).sort().join('')}`;
  const [ob, oa] = out.includes('...') ? out.split('...') : [out, undefined];
  const dim = (l: string): Dim => {
    const d = sizes.get(l);
    if (d === undefined) fail(`output letter "${l}" is in no input`);
    return d;
  };
  const shape: Dim[] = [...[...ob].map(dim), ...(oa !== undefined ? ell : []), ...[...(oa ?? '')].map(dim)];
  return [t(c.dtype(0), shape)];
}

export const matmulRules: Record<string, ShapeRule> = {
  MatMul: (c) => {
    const a = c.shape(0);
    const b = c.shape(1);
    const dtype = c.dtype(0);
    if (!a || !b) return [t(dtype, null)];
    if (a.length === 0 || b.length === 0) fail('MatMul inputs must have rank >= 1');
    const a2 = a.length === 1 ? [1, a[0]] : a;
    const b2 = b.length === 1 ? [b[0], 1] : b;
    checkInner(a2[a2.length - 1], b2[b2.length - 2], 'MatMul');
    const batch = broadcastShapes([a2.slice(0, -2), b2.slice(0, -2)]) as Dim[];
    const out: Dim[] = [...batch];
    if (a.length > 1) out.push(a2[a2.length - 2]);
    if (b.length > 1) out.push(b2[b2.length - 1]);
    return [t(dtype, out)];
  },
  Gemm: (c) => {
    const a = c.shape(0);
    const b = c.shape(1);
    const dtype = c.dtype(0);
    if (!a || !b) return [t(dtype, null)];
    if (a.length !== 2 || b.length !== 2) fail(`Gemm needs 2-D inputs, got ranks ${a.length} and ${b.length}`);
    const ta = attrInt(c.node, 'transA', 0) !== 0;
    const tb = attrInt(c.node, 'transB', 0) !== 0;
    const m = ta ? a[1] : a[0];
    const k1 = ta ? a[0] : a[1];
    const k2 = tb ? b[1] : b[0];
    const n = tb ? b[0] : b[1];
    checkInner(k1, k2, 'Gemm');
    return [t(dtype, [m, n])];
  },
  Einsum: einsumRule,
};
