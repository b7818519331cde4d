// Gradients of data-movement operators in standard ONNX:
//   SliceGrad -> dY spread back onto X's grid: along a strided axis every element is followed by
//     |step| − 1 zeros (Reshape, Pad, Reshape), a negative step first reverses dY (Slice, step −1); then
//     one Pad places the block at the slice's first index. Positions are the forward Slice's own.
//   GatherGrad -> ScatterND(reduction add) of dY's rows into zeros (negative indices wrap).
//   SplitLike -> Split; ReduceToShape -> ReduceSum + Reshape; ReduceGrad -> Reshape (+ Div) + Expand.

import type { Node } from '../../ir/graph';
import { attrInt, attrInts } from '../../ir/graph';
import { ModelError } from '../../onnx/errors';
import { A, numel, type Emitter } from './emitter';
import { sliceIndices } from '../../ir/slice';

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
  if (attrInt(n, 'axis', 0) !== 0) throw new ModelError(`${n.id}: GatherGrad on axis ${attrInt(n, 'axis', 0)} has no ONNX export (only axis 0)`);
  const nidx = numel(e.dims(idxV));
  const idx = e.reshape(idxV, [nidx, 1]);
  const wrapped = e.one('Where', [e.one('Less', [idx, e.i64([0], true)]), e.one('Add', [idx, e.i64([xd[0]], true)]), idx]);
  e.one('ScatterND', [e.zeros(xd), wrapped, e.reshape(dy, [nidx, ...xd.slice(1)])], { reduction: A.string('add') }, n.outputs[0]);
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
