// Reductions (axes as attribute or, from opset 13/18, as input), arg-reductions, TopK, and the
// losses that reduce over the batch.

import type { DType } from '../dtype';
import { attrInt, attrInts, attrString } from '../graph';
import type { Dim } from '../shape';
import { addDims, mulDims } from './dims';
import { type Elem, type InferCtx, type ShapeRule, fail, normAxis, numbersOf, t } from './context';

function reduceRule(fold?: (acc: Elem, x: Elem) => Elem, out?: DType): ShapeRule {
  return (c) => {
    const x = c.shape(0);
    const dtype = out ?? c.dtype(0);
    const keep = attrInt(c.node, 'keepdims', 1) !== 0;
    let axes: number[] | undefined = attrInts(c.node, 'axes');
    if (c.has(1)) {
      axes = numbersOf(c.value(1));
      if (!axes) {
        // Axes known only at run time: the rank survives with keepdims, nothing else.
        if (!keep || !x) return [t(dtype, null)];
        return [t(dtype, x.map((d, i) => (d === 1 ? 1 : c.fresh(0, i))))];
      }
    }
    if (!x) return [t(dtype, null)];
    if (!axes || axes.length === 0) {
      if (attrInt(c.node, 'noop_with_empty_axes', 0) !== 0) return [t(dtype, x.slice())];
      axes = x.map((_, i) => i);
    }
    const set = new Set(axes.map((a) => normAxis(a, x.length)));
    const shape: Dim[] = [];
    x.forEach((d, i) => {
      if (!set.has(i)) shape.push(d);
      else if (keep) shape.push(1);
    });
    // Folding a whole shape vector (ReduceProd of Shape = element count) is the common case.
    if (fold && set.size === x.length && c.maybeValue(0)) {
      const v = c.value(0);
      if (v) c.setValue(0, { dims: shape.map(() => 1), data: [v.data.reduce(fold)] });
    }
    return [t(dtype, shape)];
  };
}

function argRule(c: InferCtx): ReturnType<ShapeRule> {
  const x = c.shape(0);
  if (!x) return [t('int64', null)];
  const axis = normAxis(attrInt(c.node, 'axis', 0), x.length);
  const keep = attrInt(c.node, 'keepdims', 1) !== 0;
  const shape = keep ? x.map((d, i) => (i === axis ? 1 : d)) : x.filter((_, i) => i !== axis);
  return [t('int64', shape)];
}

function lossShape(c: InferCtx): Dim[] | null {
  const reduction = attrString(c.node, 'reduction', 'mean');
  if (reduction !== 'none') return [];
  const x = c.shape(0);
  if (!x) return null;
  if (x.length < 2) fail('scores must be at least 2-D (N, C, ...)');
  return [x[0], ...x.slice(2)];
}

const sumFold = (a: Elem, b: Elem): Elem => (a === null || b === null ? null : addDims(a, b));
const prodFold = (a: Elem, b: Elem): Elem => (a === null || b === null ? null : mulDims(a, b));
const numFold = (f: (a: number, b: number) => number) => (a: Elem, b: Elem): Elem =>
  typeof a === 'number' && typeof b === 'number' ? f(a, b) : null;

export const reduceRules: Record<string, ShapeRule> = {
  ReduceSum: reduceRule(sumFold),
  ReduceProd: reduceRule(prodFold),
  ReduceMax: reduceRule(numFold(Math.max)),
  ReduceMin: reduceRule(numFold(Math.min)),
  ReduceMean: reduceRule(),
  ReduceL1: reduceRule(),
  ReduceL2: reduceRule(),
  ReduceLogSum: reduceRule(),
  ReduceLogSumExp: reduceRule(),
  ReduceSumSquare: reduceRule(),
  ArgMax: argRule,
  ArgMin: argRule,
  TopK: (c) => {
    const x = c.shape(0);
    if (!x) return [t(c.dtype(0), null), t('int64', null)];
    const axis = normAxis(attrInt(c.node, 'axis', -1), x.length);
    let k: Dim;
    if (c.opset < 10 || !c.has(1)) k = attrInt(c.node, 'k', -1);
    else {
      const kv = c.value(1);
      k = kv && kv.data.length === 1 && kv.data[0] !== null ? kv.data[0] : c.fresh(0, axis);
    }
    if (typeof k === 'number' && k < 0) k = c.fresh(0, axis);
    const shape = x.map((d, i) => (i === axis ? k : d));
    return [t(c.dtype(0), shape), t('int64', shape.slice())];
  },
  SoftmaxCrossEntropyLoss: (c) => {
    const out = [t(c.dtype(0), lossShape(c))];
    if (c.node.outputs.length > 1) out.push(t(c.dtype(0), c.shape(0)));
    return out;
  },
  NegativeLogLikelihoodLoss: (c) => [t(c.dtype(0), lossShape(c))],
};
