// Gradients of data-movement operators in standard ONNX:
//   SliceGrad -> dY spread back onto X's grid: along a strided axis every element is followed by
//     |step| − 1 zeros (Reshape, Pad, Reshape), a negative step first reverses dY (Slice, step −1); then
//     one Pad places the block at the slice's first index. Positions are the forward Slice's own.
//   GatherGrad -> ScatterND(reduction add) of dY's rows into zeros (negative indices wrap); on axis a > 0
//     dY is seen as [outer, indices, inner] and ScatterElements(add) on axis 1 takes the indices, expanded.
//   PadGrad (constant mode) -> Slice off what the Pad added, Pad zeros where it cropped X.
//   TileGrad -> Reshape dY to [r0, x0, r1, x1, ...] and ReduceSum the repeat axes.
//   SplitLike -> Split; ReduceToShape -> ReduceSum + Reshape; ReduceGrad -> Reshape (+ Div) + Expand.

import type { Node } from '../../ir/graph';
import { attrInt, attrInts } from '../../ir/graph';
import { ModelError } from '../../onnx/errors';
import { A, numel, type Emitter } from './emitter';
import { sliceIndices } from '../../ir/slice';

/** Cast's int64 (Gather's indices may be int32; the wrap arithmetic is int64). */
const ONNX_INT64 = 7;

const big = (v: number): number => (v > 2 ** 52 ? Infinity : v < -(2 ** 52) ? -Infinity : v);

export function lowerSliceGrad(e: Emitter, n: Node): void {
  const [dyV, , startsV, endsV, axesV, stepsV] = n.inputs, out = n.outputs[0];
  const xd = e.dims(out), dyd = e.dims(dyV);
  const starts = (e.ints(startsV) ?? attrInts(n, 'starts') ?? []).map(big);
  const ends = (e.ints(endsV) ?? attrInts(n, 'ends') ?? []).map(big);
  const axes = (e.ints(axesV) ?? attrInts(n, 'axes') ?? starts.map((_, k) => k)).map((a) => (a < 0 ? a + xd.length : a));
  const steps = e.ints(stepsV) ?? starts.map(() => 1);
  if (starts.length !== ends.length || axes.length !== starts.length || steps.length !== starts.length) {
    throw new ModelError(`${n.id}: SliceGrad's starts, ends, axes and steps must be constants of the same length to export it`);
  }
  if (dyd.some((d) => d === 0)) { e.zeros(xd, out); return; }
  const begin = xd.map(() => 0), stepOf = xd.map(() => 1);
  axes.forEach((a, k) => {
    const idx = sliceIndices(xd[a], starts[k], ends[k], steps[k]);
    if (idx.length !== dyd[a]) throw new ModelError(`${n.id}: the slice takes ${idx.length} elements on axis ${a} but dY has ${dyd[a]}`);
    begin[a] = Math.min(...idx);
    stepOf[a] = steps[k];
  });
  let cur = dyV;
  const cd = dyd.slice();
  for (let a = 0; a < xd.length; a++) {
    const s = stepOf[a];
    if (s === 1 || cd[a] === 1) continue;
    if (s < 0) cur = e.slice(cur, [-1], [-(2 ** 62)], [a], [-1]);
    const k = Math.abs(s), L = cd[a];
    // [.., L, ..] -> [.., L, 1, ..] -> zeros after each element -> [.., L·k, ..] -> the first (L − 1)·k + 1
    const inner = cd.slice(a + 1);
    const zerosAfter = [...cd.slice(0, a + 1).map(() => 0), k - 1, ...inner.map(() => 0)];
    const padded = e.one('Pad', [e.reshape(cur, [...cd.slice(0, a), L, 1, ...inner]), e.i64([...zerosAfter.map(() => 0), ...zerosAfter])]);
    cur = e.slice(e.reshape(padded, [...cd.slice(0, a), L * k, ...inner]), [0], [(L - 1) * k + 1], [a]);
    cd[a] = (L - 1) * k + 1;
  }
  const end = xd.map((d, i) => d - begin[i] - cd[i]);
  e.one('Pad', [cur, e.i64([...begin, ...end])], {}, out);
}

export function lowerGatherGrad(e: Emitter, n: Node): void {
  const [dy, idxV] = n.inputs;
  const xd = e.dims(n.outputs[0]);
  const a0 = attrInt(n, 'axis', 0), axis = a0 < 0 ? a0 + xd.length : a0;
  if (axis < 0 || axis >= xd.length) throw new ModelError(`${n.id}: GatherGrad's axis ${a0} is outside X's rank ${xd.length}`);
  const nidx = numel(e.dims(idxV));
  const wrap = (i: string): string => {
    const idx = e.cast(i, ONNX_INT64);
    return e.one('Where', [e.one('Less', [idx, e.i64([0], true)]), e.one('Add', [idx, e.i64([xd[axis]], true)]), idx]);
  };
  if (axis === 0) {
    e.one('ScatterND', [e.zeros(xd), wrap(e.reshape(idxV, [nidx, 1])), e.reshape(dy, [nidx, ...xd.slice(1)])], { reduction: A.string('add') }, n.outputs[0]);
    return;
  }
  const outer = numel(xd.slice(0, axis)), inner = numel(xd.slice(axis + 1));
  const view = [outer, nidx, inner];
  const idx = e.one('Expand', [wrap(e.reshape(idxV, [1, nidx, 1])), e.i64(view)]);
  const sc = e.one('ScatterElements', [e.zeros([outer, xd[axis], inner]), idx, e.reshape(dy, view)], { axis: A.int(1), reduction: A.string('add') });
  e.reshape(sc, xd, n.outputs[0]);
}

/** PadGrad(dY, shape(X), pads?, axes?): dX[i] = dY[i + begin] inside dY, 0 where the Pad cropped X. */
export function lowerPadGrad(e: Emitter, n: Node): void {
  const [dy, , padsV, axesV] = n.inputs, out = n.outputs[0];
  const xd = e.dims(out), dyd = e.dims(dy), r = xd.length;
  const pads = e.ints(padsV) ?? attrInts(n, 'pads') ?? [];
  const axes = (e.ints(axesV) ?? xd.map((_, i) => i)).map((a) => (a < 0 ? a + r : a));
  if (pads.length !== 2 * axes.length) throw new ModelError(`${n.id}: PadGrad's pads (${pads.length} values) must be a constant with two per padded axis (${axes.length}) to export it`);
  const begin = xd.map(() => 0);
  axes.forEach((a, k) => { begin[a] = pads[k]; });
  const end = xd.map((d, i) => dyd[i] - d - begin[i]);
  const crop = xd.map((_, i) => i).filter((i) => begin[i] > 0 || end[i] > 0);
  const cut = crop.length ? e.slice(dy, crop.map((i) => Math.max(begin[i], 0)), crop.map((i) => dyd[i] - Math.max(end[i], 0)), crop) : dy;
  const zeros = [...begin, ...end].map((p) => Math.max(-p, 0));
  if (zeros.some((z) => z > 0)) e.one('Pad', [cut, e.i64(zeros)], {}, out);
  else e.one('Identity', [cut], {}, out);
}

/** TileGrad(dY, shape(X)): every tile of dY summed onto X. */
export function lowerTileGrad(e: Emitter, n: Node): void {
  const dy = n.inputs[0], out = n.outputs[0];
  const xd = e.dims(out), dyd = e.dims(dy);
  const reps = xd.map((d, i) => dyd[i] / d);
  if (reps.some((k) => !Number.isInteger(k))) throw new ModelError(`${n.id}: TileGrad's dY [${dyd}] is not a whole number of tiles of X [${xd}]`);
  const split = xd.flatMap((d, i) => [reps[i], d]);
  e.reshape(e.reduceSum(e.reshape(dy, split), xd.map((_, i) => 2 * i), false), xd, out);
}

export function lowerSplitLike(e: Emitter, n: Node): void {
  const gd = e.dims(n.inputs[0]);
  const ax = attrInt(n, 'axis', 0), axis = ax < 0 ? ax + gd.length : ax;
  const sizes = n.outputs.map((v) => e.dims(v)[axis]);
  e.add('Split', [n.inputs[0], e.i64(sizes)], { axis: A.int(axis) }, n.outputs.length, n.outputs);
}

export function lowerReduceToShape(e: Emitter, n: Node): void {
  const gd = e.dims(n.inputs[0]), td = e.dims(n.outputs[0]);
  const lead = gd.length - td.length;
  const axes = gd.map((_, i) => i).filter((i) => i < lead || (td[i - lead] === 1 && gd[i] !== 1));
  e.reshape(e.reduceSum(n.inputs[0], axes, true), td, n.outputs[0]);
}

export function lowerReduceGrad(e: Emitter, n: Node): void {
  const xd = e.dims(n.outputs[0]);
  const axes = (e.ints(n.inputs[2]) ?? attrInts(n, 'axes') ?? []).map((a) => (a < 0 ? a + xd.length : a));
  const kept = axes.length ? xd.map((d, i) => (axes.includes(i) ? 1 : d)) : xd.map(() => 1);
  const count = numel(xd) / numel(kept);
  let dy = e.reshape(n.inputs[0], kept);
  if (attrInt(n, 'mean', 0)) dy = e.one('Div', [dy, e.f32(count)]);
  e.one('Expand', [dy, e.i64(xd)], {}, n.outputs[0]);
}
