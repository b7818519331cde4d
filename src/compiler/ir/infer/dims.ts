// Arithmetic on dimensions that may be symbolic. A symbolic dimension is a product of named factors
// with an integer coefficient, written canonically ("batch*seq", "batch*16"), so that a Reshape's -1 can
// divide the input's element count by the other target dims and get "batch" or 128 back. Sums stay
// opaque atoms ("past+1"); anything that cannot be expressed exactly is left to the caller (null).

import type { Dim } from '../shape';

interface Monomial {
  coef: number;
  /** Factor names, sorted; repeated for powers. */
  syms: string[];
}

function splitTopLevel(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (ch === '*' && depth === 0) {
      parts.push(s.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(s.slice(start));
  return parts;
}

function toMonomial(d: Dim): Monomial {
  if (typeof d === 'number') return { coef: d, syms: [] };
  let coef = 1;
  const syms: string[] = [];
  for (const f of splitTopLevel(d)) {
    if (/^\d+$/.test(f)) coef *= Number(f);
    else if (f !== '') syms.push(f);
  }
  syms.sort();
  return { coef, syms };
}

function wrap(sym: string): string {
  return /^[^*+\-()]*$/.test(sym) || /^\(.*\)$/.test(sym) ? sym : `(${sym})`;
}

function fromMonomial(m: Monomial): Dim {
  if (m.syms.length === 0 || m.coef === 0) return m.coef;
  const body = m.syms.length === 1 ? m.syms[0] : m.syms.map(wrap).join('*');
  return m.coef === 1 ? body : `${m.syms.length === 1 ? wrap(body) : body}*${m.coef}`;
}

export function mulDims(a: Dim, b: Dim): Dim {
  if (typeof a === 'number' && typeof b === 'number') return a * b;
  if (a === 1) return b;
  if (b === 1) return a;
  const x = toMonomial(a);
  const y = toMonomial(b);
  return fromMonomial({ coef: x.coef * y.coef, syms: [...x.syms, ...y.syms].sort() });
}

export function prodDims(dims: readonly Dim[]): Dim {
  let p: Dim = 1;
  for (const d of dims) p = mulDims(p, d);
  return p;
}

/** a / b when it divides exactly (symbol by symbol), else null. */
export function divDims(a: Dim, b: Dim): Dim | null {
  if (typeof a === 'number' && typeof b === 'number') return b !== 0 && a % b === 0 ? a / b : null;
  if (b === 1) return a;
  if (a === b) return 1;
  const x = toMonomial(a);
  const y = toMonomial(b);
  if (y.coef === 0 || x.coef % y.coef !== 0) return null;
  const rest = x.syms.slice();
  for (const s of y.syms) {
    const i = rest.indexOf(s);
    if (i < 0) return null;
    rest.splice(i, 1);
  }
  return fromMonomial({ coef: x.coef / y.coef, syms: rest });
}

export function addDims(a: Dim, b: Dim): Dim {
  if (typeof a === 'number' && typeof b === 'number') return a + b;
  if (a === 0) return b;
  if (b === 0) return a;
  return `${a}+${b}`;
}

/** a - b for numbers, or a symbolic a minus 0; null when it cannot be written exactly. */
export function subDims(a: Dim, b: Dim): Dim | null {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (b === 0) return a;
  if (a === b) return 0;
  return null;
}
