// Softmax gradients and the fused cross-entropy loss (class axis last, mean over all positions).
//   SoftmaxGrad(dY, Y): dX = Y·(dY − Σ dY·Y)       LogSoftmaxGrad(dY, Y): dX = dY − exp(Y)·Σ dY
//   SoftmaxCrossEntropy(logits, labels) -> loss     SoftmaxCrossEntropyGrad(dLoss, logits, labels) -> dLogits
// `legacy` (opset < 13): softmax over all dims from `axis` on, as the input coerced to 2-D.

import { attrInt, type Node } from '../../ir/graph';
import type { Tensor } from '../../ir/tensor';
import { normAxis } from '../kernels/util';
import { f32, floatTensor, register } from './common';

function layout(dims: number[], node: Node): { outer: number; n: number; inner: number } {
  const axis = normAxis(attrInt(node, 'axis', -1), dims.length);
  const prod = (xs: number[]): number => xs.reduce((p, d) => p * d, 1);
  if (attrInt(node, 'legacy', 0)) return { outer: prod(dims.slice(0, axis)), n: prod(dims.slice(axis)), inner: 1 };
  return { outer: prod(dims.slice(0, axis)), n: dims[axis], inner: prod(dims.slice(axis + 1)) };
}

function softmaxGrad(log: boolean) {
  return (inputs: (Tensor | undefined)[], node: Node): Tensor[] => {
    const dy = f32(inputs[0], 'dY'), yT = inputs[1]!, y = f32(yT, 'Y');
    const { outer, n, inner } = layout(yT.dims, node);
    const dx = new Float32Array(y.length);
    for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) {
      const base = o * n * inner + i;
      let s = 0;
      for (let k = 0; k < n; k++) {
        const j = base + k * inner;
        s += log ? dy[j] : dy[j] * y[j];
      }
      for (let k = 0; k < n; k++) {
        const j = base + k * inner;
        dx[j] = log ? dy[j] - Math.exp(y[j]) * s : y[j] * (dy[j] - s);
      }
    }
    return [floatTensor(yT.dims, dx)];
  };
}

register('SoftmaxGrad', softmaxGrad(false));
register('LogSoftmaxGrad', softmaxGrad(true));

function labelsOf(t: Tensor | undefined, rows: number, classes: number): Int32Array {
  if (!t) throw new Error('labels are required');
  if (t.data.length !== rows) throw new Error(`labels hold ${t.data.length} values [${t.dims}] but the logits have ${rows} positions`);
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    const v = Number(t.data[r] as number | bigint);
    if (!Number.isInteger(v) || v < 0 || v >= classes) throw new Error(`label ${v} at position ${r} is not a class in [0, ${classes})`);
    out[r] = v;
  }
  return out;
}

function rowsOf(logits: Tensor): { rows: number; C: number } {
  const C = logits.dims[logits.dims.length - 1];
  if (logits.dims.length < 1 || !C) throw new Error(`logits [${logits.dims}] need a class axis`);
  return { rows: logits.data.length / C, C };
}

register('SoftmaxCrossEntropy', (inputs) => {
  const x = f32(inputs[0], 'logits');
  const { rows, C } = rowsOf(inputs[0]!);
  const labels = labelsOf(inputs[1], rows, C);
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const o = r * C;
    let m = -Infinity;
    for (let k = 0; k < C; k++) m = Math.max(m, x[o + k]);
    let s = 0;
    for (let k = 0; k < C; k++) s += Math.exp(x[o + k] - m);
    total += m + Math.log(s) - x[o + labels[r]];
  }
  return [floatTensor([], Float32Array.of(total / rows))];
});

register('SoftmaxCrossEntropyGrad', (inputs) => {
  const dl = f32(inputs[0], 'dLoss')[0];
  const x = f32(inputs[1], 'logits');
  const { rows, C } = rowsOf(inputs[1]!);
  const labels = labelsOf(inputs[2], rows, C);
  const dx = new Float32Array(x.length);
  const k0 = dl / rows;
  for (let r = 0; r < rows; r++) {
    const o = r * C;
    let m = -Infinity;
    for (let k = 0; k < C; k++) m = Math.max(m, x[o + k]);
    let s = 0;
    for (let k = 0; k < C; k++) s += Math.exp(x[o + k] - m);
    for (let k = 0; k < C; k++) dx[o + k] = k0 * (Math.exp(x[o + k] - m) / s - (k === labels[r] ? 1 : 0));
  }
  return [floatTensor(inputs[1]!.dims, dx)];
});
