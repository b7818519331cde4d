// Reductions (ReduceSum, ReduceMean, ReduceMax, ...): axes from the attribute before the opset that made
// them an input (13 for ReduceSum, 18 for the others), keepdims, noop_with_empty_axes.

import { attrInt, type Node } from '../../ir/graph';
import type { Tensor } from '../../ir/tensor';
import { registerKernel, type KernelContext } from '../kernel';
import { axesFrom, broadcastPlan, forEachRun, isBig, make, need, normAxis, type AnyArray } from './util';

type Kind = 'sum' | 'mean' | 'max' | 'min' | 'prod' | 'sumsquare' | 'l1' | 'l2' | 'logsumexp';

export function reduce(x: Tensor, axesIn: number[] | undefined, keepdims: boolean, kind: Kind, noopWithEmpty = false): Tensor {
  const r = x.dims.length;
  if ((axesIn === undefined || axesIn.length === 0) && noopWithEmpty) return { dtype: x.dtype, dims: x.dims.slice(), data: x.data };
  const axes = axesIn === undefined || axesIn.length === 0 ? x.dims.map((_, i) => i) : axesIn.map((a) => normAxis(a, r));
  const reduced = new Set(axes);
  const kept = x.dims.map((d, i) => (reduced.has(i) ? 1 : d));
  let count = 1;
  for (const a of reduced) count *= x.dims[a];
  const outN = kept.reduce((p, d) => p * d, 1);
  const acc = new Float64Array(outN);
  const init = kind === 'max' ? -Infinity : kind === 'min' ? Infinity : kind === 'prod' ? 1 : 0;
  acc.fill(init);
  const xd = x.data as AnyArray;
  const big = isBig(x.dtype);
  const val = (i: number): number => (big ? Number(xd[i]) : xd[i]);
  const lse = kind === 'logsumexp';
  // logsumexp subtracts the max first for stability: run a max pass, then the sum.
  const maxes = lse ? reduce(x, axes, true, 'max') : undefined;
  const md = maxes?.data as AnyArray | undefined;
  if (x.data.length > 0) {
    forEachRun(broadcastPlan(x.dims, [kept]), (start, len, offs, inner) => {
      const s = inner[0];
      let o = offs[0];
      for (let i = 0; i < len; i++, o += s) {
        const v = val(start + i);
        switch (kind) {
          case 'sum': case 'mean': acc[o] += v; break;
          case 'max': if (v > acc[o] || v !== v) acc[o] = v; break;
          case 'min': if (v < acc[o] || v !== v) acc[o] = v; break;
          case 'prod': acc[o] *= v; break;
          case 'sumsquare': case 'l2': acc[o] += v * v; break;
          case 'l1': acc[o] += Math.abs(v); break;
          case 'logsumexp': acc[o] += Math.exp(v - md![o]); break;
        }
      }
    });
  }
  const outDims = keepdims ? kept : x.dims.filter((_, i) => !reduced.has(i));
  const out = make(x.dtype, outDims);
  const od = out.data as AnyArray;
  for (let i = 0; i < outN; i++) {
    let v = acc[i];
    if (kind === 'mean') v /= count;
    else if (kind === 'l2') v = Math.sqrt(v);
    else if (kind === 'logsumexp') v = Math.log(v) + md![i];
    od[i] = big ? BigInt(Math.trunc(v)) : v;
  }
  return out;
}

function reducer(kind: Kind, axesInputSince: number) {
  return (inputs: (Tensor | undefined)[], node: Node, ctx: KernelContext): Tensor[] => {
    const x = need(inputs, 0, 'data');
    const keepdims = attrInt(node, 'keepdims', 1) !== 0;
    const axes = ctx.opset >= axesInputSince ? axesFrom(node, inputs, 1) : axesFrom(node, [], 1);
    const noop = attrInt(node, 'noop_with_empty_axes', 0) !== 0;
    return [reduce(x, axes, keepdims, kind, noop)];
  };
}

registerKernel('ReduceSum', reducer('sum', 13));
registerKernel('ReduceMean', reducer('mean', 18));
registerKernel('ReduceMax', reducer('max', 18));
registerKernel('ReduceMin', reducer('min', 18));
registerKernel('ReduceProd', reducer('prod', 18));
registerKernel('ReduceSumSquare', reducer('sumsquare', 18));
registerKernel('ReduceL1', reducer('l1', 18));
registerKernel('ReduceL2', reducer('l2', 18));
registerKernel('ReduceLogSumExp', reducer('logsumexp', 18));
