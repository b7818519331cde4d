// Softmax, LogSoftmax and SoftmaxCrossEntropyLoss.

import { attrInt, attrString, type Node } from '../../ir/graph';
import type { Tensor } from '../../ir/tensor';
import { registerKernel } from '../kernel';
import { make, need, normAxis, type AnyArray } from './util';

/**
 * Softmax over `axis` of x viewed as [outer, n, inner]. Before opset 13 the input is coerced to 2-D at
 * `axis` (default 1), so the softmax runs over all trailing dims; since 13 it runs over one axis (default -1).
 */
function softmaxLike(x: Tensor, axisAttr: number | undefined, opset: number, log: boolean): Tensor {
  const r = x.dims.length;
  let outer: number, n: number, inner: number;
  if (opset < 13) {
    const axis = normAxis(axisAttr ?? 1, Math.max(r, 1));
    outer = x.dims.slice(0, axis).reduce((p, d) => p * d, 1);
    n = x.dims.slice(axis).reduce((p, d) => p * d, 1);
    inner = 1;
  } else {
    const axis = normAxis(axisAttr ?? -1, r);
    outer = x.dims.slice(0, axis).reduce((p, d) => p * d, 1);
    n = x.dims[axis];
    inner = x.dims.slice(axis + 1).reduce((p, d) => p * d, 1);
  }
  const out = make(x.dtype, x.dims.slice());
  softmaxInto(x.data as AnyArray, out.data as AnyArray, outer, n, inner, log);
  return out;
}

export function softmaxInto(xd: AnyArray, yd: AnyArray, outer: number, n: number, inner: number, log: boolean): void {
  for (let o = 0; o < outer; o++) for (let j = 0; j < inner; j++) {
    const base = o * n * inner + j;
    let m = -Infinity;
    for (let i = 0; i < n; i++) m = Math.max(m, xd[base + i * inner]);
    let s = 0;
    for (let i = 0; i < n; i++) s += Math.exp(xd[base + i * inner] - m);
    if (log) {
      const ls = Math.log(s);
      for (let i = 0; i < n; i++) yd[base + i * inner] = xd[base + i * inner] - m - ls;
    } else {
      for (let i = 0; i < n; i++) yd[base + i * inner] = Math.exp(xd[base + i * inner] - m) / s;
    }
  }
}

registerKernel('Softmax', (inputs, node, ctx) => [softmaxLike(need(inputs, 0, 'input'), node.attrs.axis ? attrInt(node, 'axis', 0) : undefined, ctx.opset, false)]);
registerKernel('LogSoftmax', (inputs, node, ctx) => [softmaxLike(need(inputs, 0, 'input'), node.attrs.axis ? attrInt(node, 'axis', 0) : undefined, ctx.opset, true)]);

/**
 * Negative log-likelihood of `labels` under log-probabilities logp [N, C, d1...] (labels [N, d1...]): per
 * position −w[label]·logp[label], reduced by mean (Σ w·l / Σ w over positions whose label is not
 * ignore_index), sum, or none.
 */
export function nllLoss(logp: Tensor, labels: Tensor, weights: Tensor | undefined, reduction: string, ignore: number | undefined): Tensor {
  const [N, C] = logp.dims;
  const D = logp.dims.slice(2).reduce((p, d) => p * d, 1);
  const lp = logp.data as AnyArray, ld = labels.data as AnyArray, wd = weights?.data as AnyArray | undefined;
  const perPos = make(logp.dtype, [N, ...logp.dims.slice(2)]);
  const pp = perPos.data as AnyArray;
  let wsum = 0, lsum = 0;
  for (let n = 0; n < N; n++) for (let d = 0; d < D; d++) {
    const label = Number(ld[n * D + d]);
    if (ignore !== undefined && label === ignore) { pp[n * D + d] = 0; continue; }
    if (label < 0 || label >= C) throw new Error(`label ${label} at position ${n * D + d} is outside [0, ${C})`);
    const w = wd ? wd[label] : 1;
    const l = -w * lp[(n * C + label) * D + d];
    pp[n * D + d] = l;
    lsum += l;
    wsum += w;
  }
  if (reduction === 'none') return perPos;
  const loss = make(logp.dtype, []);
  (loss.data as AnyArray)[0] = reduction === 'sum' ? lsum : lsum / wsum;
  return loss;
}

const ignoreIndex = (node: Node): number | undefined => (node.attrs.ignore_index ? attrInt(node, 'ignore_index', 0) : undefined);

registerKernel('SoftmaxCrossEntropyLoss', (inputs, node) => {
  const scores = need(inputs, 0, 'scores'), labels = need(inputs, 1, 'labels');
  const [N, C] = scores.dims;
  const logp = make(scores.dtype, scores.dims.slice());
  softmaxInto(scores.data as AnyArray, logp.data as AnyArray, N, C, scores.dims.slice(2).reduce((p, d) => p * d, 1), true);
  const loss = nllLoss(logp, labels, inputs[2], attrString(node, 'reduction', 'mean'), ignoreIndex(node));
  return node.outputs.length > 1 ? [loss, logp] : [loss];
});

registerKernel('NegativeLogLikelihoodLoss', (inputs, node) => [
  nllLoss(need(inputs, 0, 'input'), need(inputs, 1, 'target'), inputs[2], attrString(node, 'reduction', 'mean'), ignoreIndex(node)),
]);
