// Operators that rearrange or resize a tensor without computing on it: Reshape (0 and -1, symbolic),
// Flatten, Transpose, Squeeze/Unsqueeze (axes as attribute or input), Expand, Tile, Pad, Resize/Upsample,
// DepthToSpace/SpaceToDepth, OneHot.

import { attrInt, attrInts, attrString } from '../graph';
import type { Dim } from '../shape';
import { divDims, mulDims, prodDims } from './dims';
import { broadcastShapes } from './broadcast';
import { vectorOf } from './constants';
import { type Elem, type InferCtx, type ShapeRule, fail, normAxis, numbersOf, t } from './context';

function reshapeRule(c: InferCtx): ReturnType<ShapeRule> {
  const x = c.shape(0);
  const dtype = c.dtype(0);
  const target: Elem[] | undefined = c.opset < 5 || !c.has(1) ? attrInts(c.node, 'shape') : vectorOf(c, 1);
  if (!target) return [t(dtype, null)];
  const allowZero = attrInt(c.node, 'allowzero', 0) !== 0;
  const out: (Dim | null)[] = target.map((e, i) => {
    if (e === 0 && !allowZero) return x && i < x.length ? x[i] : null;
    if (e === -1 || e === null) return null;
    if (typeof e === 'number' && e < -1) fail(`target dimension ${e} is invalid`);
    return e;
  });
  if (target.filter((e) => e === -1).length > 1) fail('the target shape has more than one -1');
  const unknown = out.reduce<number[]>((acc, d, i) => (d === null ? [...acc, i] : acc), []);
  // One unknown entry (a -1, or a value computed at run time) is what makes the element counts agree.
  if (unknown.length === 1 && x) {
    const rest = prodDims(out.filter((d): d is Dim => d !== null));
    const total = prodDims(x);
    const solved = divDims(total, rest);
    if (solved === null && typeof total === 'number' && typeof rest === 'number') {
      fail(`cannot reshape ${total} elements into [${target.map((e) => e ?? '?')}]`);
    }
    out[unknown[0]] = solved;
  }
  const dims = out.map((d, i) => d ?? c.fresh(0, i));
  if (c.maybeValue(0) && dims.every((d) => typeof d === 'number')) {
    const v = c.value(0);
    if (v) c.setValue(0, { dims: dims as number[], data: v.data });
  }
  return [t(dtype, dims)];
}

function transposeRule(c: InferCtx): ReturnType<ShapeRule> {
  const x = c.shape(0);
  if (!x) return [t(c.dtype(0), null)];
  const perm = attrInts(c.node, 'perm') ?? x.map((_, i) => x.length - 1 - i);
  if (perm.length !== x.length || new Set(perm.map((p) => normAxis(p, x.length, 'perm entry'))).size !== x.length) {
    fail(`perm [${perm}] is not a permutation of ${x.length} axes`);
  }
  const out = perm.map((p) => x[normAxis(p, x.length)]);
  if (x.length === 1 && c.maybeValue(0)) {
    const v = c.value(0);
    if (v) c.setValue(0, v);
  }
  return [t(c.dtype(0), out)];
}

function flattenRule(c: InferCtx): ReturnType<ShapeRule> {
  const x = c.shape(0);
  if (!x) return [t(c.dtype(0), null)];
  let axis = attrInt(c.node, 'axis', 1);
  if (axis < 0) axis += x.length;
  if (axis < 0 || axis > x.length) fail(`axis ${attrInt(c.node, 'axis', 1)} is out of range for rank ${x.length}`);
  return [t(c.dtype(0), [prodDims(x.slice(0, axis)), prodDims(x.slice(axis))])];
}

function axesOf(c: InferCtx): number[] | undefined | 'unknown' {
  if (c.opset >= 13 && c.has(1)) return numbersOf(c.value(1)) ?? 'unknown';
  return attrInts(c.node, 'axes');
}

function keepValue(c: InferCtx, dims: Dim[]): void {
  if (c.maybeValue(0) && dims.every((d) => typeof d === 'number')) {
    const v = c.value(0);
    if (v) c.setValue(0, { dims: dims as number[], data: v.data });
  }
}

function squeezeRule(c: InferCtx): ReturnType<ShapeRule> {
  const x = c.shape(0);
  const axes = axesOf(c);
  if (!x || axes === 'unknown') return [t(c.dtype(0), null)];
  let out: Dim[];
  if (!axes || axes.length === 0) out = x.filter((d) => d !== 1);
  else {
    const set = new Set(axes.map((a) => normAxis(a, x.length)));
    for (const a of set) if (typeof x[a] === 'number' && x[a] !== 1) fail(`cannot squeeze axis ${a} of size ${x[a]}`);
    out = x.filter((_, i) => !set.has(i));
  }
  keepValue(c, out);
  return [t(c.dtype(0), out)];
}

function unsqueezeRule(c: InferCtx): ReturnType<ShapeRule> {
  const x = c.shape(0);
  const axes = axesOf(c);
  if (!x || axes === 'unknown') return [t(c.dtype(0), null)];
  if (!axes) fail('Unsqueeze needs axes');
  const rank = x.length + axes.length;
  const set = new Set(axes.map((a) => normAxis(a, rank)));
  if (set.size !== axes.length) fail(`axes [${axes}] repeat an axis`);
  const out: Dim[] = [];
  let j = 0;
  for (let i = 0; i < rank; i++) out.push(set.has(i) ? 1 : x[j++]);
  keepValue(c, out);
  return [t(c.dtype(0), out)];
}

function expandRule(c: InferCtx): ReturnType<ShapeRule> {
  const x = c.shape(0);
  const elems = vectorOf(c, 1);
  if (!x || !elems) return [t(c.dtype(0), null)];
  const target = elems.map((e, i): Dim => (e === null ? c.fresh(0, i + Math.max(0, x.length - elems.length)) : e));
  const rank = Math.max(x.length, target.length);
  // Broadcast with x first so a symbolic input dim keeps its name over a fresh one.
  const out = broadcastShapes([x, target]) as Dim[];
  for (let i = 0; i < rank; i++) {
    const ti = i - (rank - target.length);
    const xi = i - (rank - x.length);
    if (ti >= 0 && elems[ti] === null && (xi < 0 || x[xi] === 1)) out[i] = target[ti];
  }
  return [t(c.dtype(0), out)];
}

function tileRule(c: InferCtx): ReturnType<ShapeRule> {
  const x = c.shape(0);
  const reps = vectorOf(c, 1);
  if (!x) return [t(c.dtype(0), null)];
  if (!reps) return [t(c.dtype(0), x.map((_, i) => c.fresh(0, i)))];
  if (reps.length !== x.length) fail(`repeats has ${reps.length} entries for rank ${x.length}`);
  return [t(c.dtype(0), x.map((d, i) => (reps[i] === null ? c.fresh(0, i) : mulDims(d, reps[i] as Dim))))];
}

function padRule(c: InferCtx): ReturnType<ShapeRule> {
  const x = c.shape(0);
  if (!x) return [t(c.dtype(0), null)];
  const pads: Elem[] | undefined = c.opset < 11 ? attrInts(c.node, 'pads') ?? attrInts(c.node, 'paddings') : vectorOf(c, 1);
  let axes: number[] = x.map((_, i) => i);
  if (c.opset >= 18 && c.has(3)) {
    const a = numbersOf(c.value(3));
    if (!a) return [t(c.dtype(0), x.map((_, i) => c.fresh(0, i)))];
    axes = a.map((v) => normAxis(v, x.length));
  }
  if (!pads) return [t(c.dtype(0), x.map((_, i) => c.fresh(0, i)))];
  if (pads.length !== 2 * axes.length) fail(`pads has ${pads.length} entries for ${axes.length} axes`);
  const out = x.slice();
  axes.forEach((a, k) => {
    const b = pads[k];
    const e = pads[k + axes.length];
    const d = x[a];
    out[a] = typeof b === 'number' && typeof e === 'number' && typeof d === 'number' ? d + b + e : b === 0 && e === 0 ? d : c.fresh(0, a);
  });
  return [t(c.dtype(0), out)];
}

/** Resize (opsets 10-19) and Upsample: explicit sizes win, else floor(dim * scale). */
function resizeRule(c: InferCtx): ReturnType<ShapeRule> {
  const x = c.shape(0);
  if (!x) return [t(c.dtype(0), null)];
  const op = c.node.opType;
  let scales: Elem[] | undefined;
  let sizes: Elem[] | undefined;
  if (op === 'Upsample') scales = c.opset < 9 ? attr2(c) : vectorOf(c, 1);
  else if (c.opset < 11) scales = vectorOf(c, 1);
  else {
    if (c.has(3)) sizes = vectorOf(c, 3);
    if (c.has(2) && !sizes) scales = vectorOf(c, 2);
    if (c.has(2) && scales && scales.length === 0) scales = undefined;
  }
  const axes = (attrInts(c.node, 'axes') ?? x.map((_, i) => i)).map((a) => normAxis(a, x.length));
  const out: Dim[] = x.slice();
  if (sizes && sizes.length > 0) {
    if (sizes.length !== axes.length) fail(`sizes has ${sizes.length} entries for ${axes.length} axes`);
    const policy = attrString(c.node, 'keep_aspect_ratio_policy', 'stretch');
    if (policy !== 'stretch') {
      const ratios = axes.map((a, k) => (typeof sizes![k] === 'number' && typeof x[a] === 'number' ? (sizes![k] as number) / (x[a] as number) : null));
      if (ratios.some((r) => r === null)) return [t(c.dtype(0), x.map((d, i) => (axes.includes(i) ? c.fresh(0, i) : d)))];
      const s = policy === 'not_larger' ? Math.min(...(ratios as number[])) : Math.max(...(ratios as number[]));
      axes.forEach((a) => (out[a] = Math.round(s * (x[a] as number))));
    } else axes.forEach((a, k) => (out[a] = sizes![k] ?? c.fresh(0, a)));
  } else if (scales) {
    if (scales.length !== axes.length) fail(`scales has ${scales.length} entries for ${axes.length} axes`);
    axes.forEach((a, k) => {
      const s = scales![k];
      const d = x[a];
      out[a] = typeof s !== 'number' ? c.fresh(0, a) : s === 1 ? d : typeof d === 'number' ? Math.floor(d * s + 1e-9) : c.fresh(0, a);
    });
  } else return [t(c.dtype(0), x.map((_, i) => c.fresh(0, i)))];
  return [t(c.dtype(0), out)];
}

function attr2(c: InferCtx): Elem[] | undefined {
  const s = c.node.attrs.scales;
  return s && s.type === 'floats' ? s.value : undefined;
}

function depthSpaceRule(toSpace: boolean): ShapeRule {
  return (c) => {
    const x = c.shape(0);
    if (!x) return [t(c.dtype(0), null)];
    if (x.length !== 4) fail(`${c.node.opType} needs a 4-D input`);
    const b = attrInt(c.node, 'blocksize', 0);
    if (b <= 0) fail('blocksize must be positive');
    const [n, ch, h, w] = x;
    if (toSpace) return [t(c.dtype(0), [n, divDims(ch, b * b) ?? c.fresh(0, 1), mulDims(h, b), mulDims(w, b)])];
    return [t(c.dtype(0), [n, mulDims(ch, b * b), divDims(h, b) ?? c.fresh(0, 2), divDims(w, b) ?? c.fresh(0, 3)])];
  };
}

function oneHotRule(c: InferCtx): ReturnType<ShapeRule> {
  const ind = c.shape(0);
  if (!ind) return [t(c.dtype(2), null)];
  const dv = c.value(1);
  const depth: Dim = dv && typeof dv.data[0] === 'number' ? Math.trunc(dv.data[0]) : dv && typeof dv.data[0] === 'string' ? dv.data[0] : c.fresh(0, 0);
  const axis = normAxis(attrInt(c.node, 'axis', -1), ind.length + 1);
  const out = [...ind.slice(0, axis), depth, ...ind.slice(axis)];
  return [t(c.dtype(2), out)];
}

export const shapeRules: Record<string, ShapeRule> = {
  Reshape: reshapeRule,
  Transpose: transposeRule,
  Flatten: flattenRule,
  Squeeze: squeezeRule,
  Unsqueeze: unsqueezeRule,
  Expand: expandRule,
  Tile: tileRule,
  Pad: padRule,
  Resize: resizeRule,
  Upsample: resizeRule,
  DepthToSpace: depthSpaceRule(true),
  SpaceToDepth: depthSpaceRule(false),
  OneHot: oneHotRule,
  GridSample: (c) => {
    const x = c.shape(0);
    const grid = c.shape(1);
    if (!x || !grid) return [t(c.dtype(0), null)];
    return [t(c.dtype(0), [x[0], x[1], ...grid.slice(1, -1)])];
  },
  RoiAlign: (c) => {
    const x = c.shape(0);
    const rois = c.shape(1);
    const h = attrInt(c.node, 'output_height', 1);
    const w = attrInt(c.node, 'output_width', 1);
    return [t(c.dtype(0), [rois ? rois[0] : c.fresh(0, 0), x ? x[1] : c.fresh(0, 1), h, w])];
  },
  NonMaxSuppression: (c) => [t('int64', [c.fresh(0, 0), 3])],
};

