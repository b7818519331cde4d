// Operators that pick parts of tensors: Concat, Split, Slice, Gather (and its Elements/ND forms). Each
// also folds small constants, since a PyTorch export slices and gathers its shape vectors.

import { attrInt, attrInts } from '../graph';
import type { Dim } from '../shape';
import { addDims, divDims, subDims } from './dims';
import { vectorOf } from './constants';
import { type ConstVal, type Elem, type InferCtx, type ShapeRule, fail, normAxis, numel, t } from './context';

/** Two dims that must be equal: a number beats a symbol. */
function sameDim(a: Dim, b: Dim): Dim {
  if (typeof a === 'number' && typeof b === 'number' && a !== b) fail(`dimensions ${a} and ${b} must be equal`);
  return typeof a === 'number' ? a : typeof b === 'number' ? b : a;
}

function concatRule(c: InferCtx): ReturnType<ShapeRule> {
  const idx = [...Array(c.numInputs).keys()].filter((i) => c.has(i));
  const dtype = c.dtype(idx[0] ?? 0);
  const shapes = idx.map((i) => c.shape(i));
  const known = shapes.find((s) => s !== null);
  if (!known) return [t(dtype, null)];
  const rank = known.length;
  const axis = normAxis(attrInt(c.node, 'axis', 0), rank);
  if (shapes.some((s) => s === null)) {
    return [t(dtype, known.map((d, i) => (i === axis ? c.fresh(0, i) : d)))];
  }
  const out: Dim[] = known.slice();
  out[axis] = 0;
  for (const s of shapes as Dim[][]) {
    if (s.length !== rank) fail(`all inputs must have rank ${rank}; one has rank ${s.length}`);
    for (let d = 0; d < rank; d++) out[d] = d === axis ? addDims(out[d], s[d]) : sameDim(out[d], s[d]);
  }
  if (idx.every((i) => c.maybeValue(i))) {
    const vals = idx.map((i) => c.value(i));
    if (vals.every((v): v is ConstVal => v !== undefined) && out.every((d) => typeof d === 'number')) {
      const dims = out as number[];
      if (numel(dims) <= 4096) {
        const outer = numel(dims.slice(0, axis));
        const data: Elem[] = [];
        for (let o = 0; o < outer; o++) {
          for (const v of vals) {
            const chunk = numel(v.dims.slice(axis));
            for (let j = 0; j < chunk; j++) data.push(v.data[o * chunk + j]);
          }
        }
        c.setValue(0, { dims, data });
      }
    }
  }
  return [t(dtype, out)];
}

function splitRule(c: InferCtx): ReturnType<ShapeRule> {
  const x = c.shape(0);
  const dtype = c.dtype(0);
  const n = c.node.outputs.length;
  if (!x) return c.node.outputs.map(() => t(dtype, null));
  const axis = normAxis(attrInt(c.node, 'axis', 0), x.length);
  let sizes: Elem[] | undefined = attrInts(c.node, 'split');
  if (c.opset >= 13 && c.has(1)) sizes = vectorOf(c, 1) ?? new Array(n).fill(null);
  const dim = x[axis];
  let parts: Dim[];
  if (sizes && sizes.length > 0) {
    if (sizes.length !== n) fail(`split lists ${sizes.length} sizes for ${n} outputs`);
    parts = sizes.map((s, k) => (s === null ? c.fresh(k, axis) : s));
    if (typeof dim === 'number' && parts.every((p) => typeof p === 'number')) {
      const sum = (parts as number[]).reduce((a, b) => a + b, 0);
      if (sum !== dim) fail(`split sizes add up to ${sum}, but the axis has ${dim}`);
    }
  } else {
    const count = attrInt(c.node, 'num_outputs', n);
    if (typeof dim === 'number') {
      // Opset 18: an uneven split gives ceil(dim/n) to all but the last output.
      const each = Math.ceil(dim / count);
      parts = Array.from({ length: n }, (_, k) => Math.max(0, Math.min(each, dim - k * each)));
    } else {
      const each = divDims(dim, count);
      parts = Array.from({ length: n }, (_, k) => each ?? c.fresh(k, axis));
    }
  }
  return parts.map((p) => t(dtype, x.map((d, i) => (i === axis ? p : d))));
}

const BIG = 2 ** 31 - 1;

/** One axis of a Slice: the output length, and (for folding) the first index and step. */
function sliceAxis(d: Dim, start: Elem, end: Elem, step: Elem): { len: Dim | null; first: number | null } {
  if (typeof step !== 'number') return { len: null, first: null };
  if (step === 0) fail('Slice step cannot be 0');
  if (typeof d === 'number' && typeof start === 'number' && typeof end === 'number') {
    let s = start < 0 ? start + d : start;
    let e = end < 0 ? end + d : end;
    let len: number;
    if (step > 0) {
      s = Math.min(Math.max(s, 0), d);
      e = Math.min(Math.max(e, 0), d);
      len = Math.max(0, Math.ceil((e - s) / step));
    } else {
      s = Math.min(Math.max(s, 0), d - 1);
      e = Math.min(Math.max(e, -1), d - 1);
      len = Math.max(0, Math.ceil((s - e) / -step));
    }
    return { len, first: s };
  }
  if (step !== 1) return { len: null, first: null };
  // Symbolic: x[s:] and x[:n] as PyTorch writes them, where the bound is the symbol itself or "to the end".
  if (typeof end === 'number' && end >= BIG && typeof start === 'number' && start >= 0) return { len: subDims(d, start), first: start };
  if (start === 0 && end !== null && (end === d || (typeof end === 'string' && typeof d === 'number'))) return { len: end, first: 0 };
  if (typeof end === 'number' && end >= BIG && typeof start === 'number' && start < 0) return { len: -start, first: null };
  return { len: null, first: null };
}

function sliceRule(c: InferCtx): ReturnType<ShapeRule> {
  const x = c.shape(0);
  const dtype = c.dtype(0);
  if (!x) return [t(dtype, null)];
  let starts: Elem[] | undefined;
  let ends: Elem[] | undefined;
  let axes: Elem[] | undefined;
  let steps: Elem[] | undefined;
  if (c.opset < 10) {
    starts = attrInts(c.node, 'starts');
    ends = attrInts(c.node, 'ends');
    axes = attrInts(c.node, 'axes');
  } else {
    starts = vectorOf(c, 1);
    ends = vectorOf(c, 2);
    axes = c.has(3) ? vectorOf(c, 3) : undefined;
    steps = c.has(4) ? vectorOf(c, 4) : undefined;
    if ((c.has(3) && !axes) || !starts || !ends) return [t(dtype, x.map((_, i) => c.fresh(0, i)))];
  }
  if (!starts || !ends) fail('Slice needs starts and ends');
  if (starts.length !== ends.length) fail(`starts has ${starts.length} entries but ends has ${ends.length}`);
  const ax = axes ?? starts.map((_, i) => i);
  if (ax.some((a) => a === null)) return [t(dtype, x.map((_, i) => c.fresh(0, i)))];
  const out: Dim[] = x.slice();
  const firsts: (number | null)[] = x.map(() => 0);
  const stepOf: number[] = x.map(() => 1);
  for (let k = 0; k < starts.length; k++) {
    const a = normAxis(ax[k] as number, x.length);
    const step = steps ? steps[k] : 1;
    const r = sliceAxis(x[a], starts[k], ends[k], step);
    out[a] = r.len ?? c.fresh(0, a);
    firsts[a] = r.first;
    stepOf[a] = typeof step === 'number' ? step : 1;
  }
  if (c.maybeValue(0) && out.every((d) => typeof d === 'number') && firsts.every((f) => f !== null)) {
    const v = c.value(0);
    const dims = out as number[];
    if (v && numel(dims) <= 4096) {
      const inStrides = v.dims.map((_, i) => numel(v.dims.slice(i + 1)));
      const n = numel(dims);
      const data: Elem[] = new Array(n);
      const idx = dims.map(() => 0);
      for (let e = 0; e < n; e++) {
        let off = 0;
        for (let a = 0; a < dims.length; a++) off += ((firsts[a] as number) + idx[a] * stepOf[a]) * inStrides[a];
        data[e] = v.data[off];
        for (let a = dims.length - 1; a >= 0; a--) {
          if (++idx[a] < dims[a]) break;
          idx[a] = 0;
        }
      }
      c.setValue(0, { dims, data });
    }
  }
  return [t(dtype, out)];
}

function gatherRule(c: InferCtx): ReturnType<ShapeRule> {
  const x = c.shape(0);
  const ind = c.shape(1);
  const dtype = c.dtype(0);
  if (!x || !ind) return [t(dtype, null)];
  const axis = normAxis(attrInt(c.node, 'axis', 0), x.length);
  const out = [...x.slice(0, axis), ...ind, ...x.slice(axis + 1)];
  if (c.maybeValue(0) && c.maybeValue(1) && out.every((d) => typeof d === 'number') && numel(out as number[]) <= 4096) {
    const v = c.value(0);
    const iv = c.value(1);
    if (v && iv) {
      const axisLen = v.dims[axis];
      const outer = numel(v.dims.slice(0, axis));
      const inner = numel(v.dims.slice(axis + 1));
      const data: Elem[] = [];
      for (let o = 0; o < outer; o++) {
        for (const j of iv.data) {
          if (typeof j !== 'number') {
            for (let i = 0; i < inner; i++) data.push(null);
            continue;
          }
          const jj = j < 0 ? j + axisLen : j;
          if (jj < 0 || jj >= axisLen) fail(`index ${j} is out of range for an axis of ${axisLen}`);
          for (let i = 0; i < inner; i++) data.push(v.data[(o * axisLen + jj) * inner + i]);
        }
      }
      c.setValue(0, { dims: out as number[], data });
    }
  }
  return [t(dtype, out)];
}

export const indexingRules: Record<string, ShapeRule> = {
  Concat: concatRule,
  Split: splitRule,
  Slice: sliceRule,
  Gather: gatherRule,
  GatherElements: (c) => [t(c.dtype(0), c.shape(1))],
  GatherND: (c) => {
    const x = c.shape(0);
    const ind = c.shape(1);
    const b = attrInt(c.node, 'batch_dims', 0);
    if (!x || !ind || ind.length === 0) return [t(c.dtype(0), null)];
    const last = ind[ind.length - 1];
    if (typeof last !== 'number') return [t(c.dtype(0), null)];
    return [t(c.dtype(0), [...ind.slice(0, -1), ...x.slice(b + last)])];
  },
};

