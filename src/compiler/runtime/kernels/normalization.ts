// BatchNormalization (inference and training mode), InstanceNormalization and LayerNormalization.
// Statistics are accumulated in float64 so a float32 batch of thousands of elements keeps its precision.

import { attrFloat, attrInt, type Node } from '../../ir/graph';
import type { Tensor } from '../../ir/tensor';
import { registerKernel } from '../kernel';
import { broadcastTo, make, need, normAxis, type AnyArray } from './util';

/**
 * Training mode at opset 14+ is the training_mode attribute; before that (BN-9) a node asking for more
 * than its first output (running statistics, saved statistics) is a training-mode node.
 */
export function bnTrainingMode(node: Node, opset: number): boolean {
  if (opset >= 14) return attrInt(node, 'training_mode', 0) !== 0;
  return node.outputs.slice(1).some((o) => o !== '');
}

registerKernel('BatchNormalization', (inputs, node, ctx) => {
  const x = need(inputs, 0, 'X'), scale = need(inputs, 1, 'scale'), bias = need(inputs, 2, 'B');
  const mean = need(inputs, 3, 'input_mean'), variance = need(inputs, 4, 'input_var');
  const eps = attrFloat(node, 'epsilon', 1e-5), momentum = attrFloat(node, 'momentum', 0.9);
  const N = x.dims[0], C = x.dims.length > 1 ? x.dims[1] : 1;
  const S = x.dims.slice(2).reduce((p, d) => p * d, 1);
  const xd = x.data as AnyArray, sd = scale.data as AnyArray, bd = bias.data as AnyArray;
  const md = mean.data as AnyArray, vd = variance.data as AnyArray;
  const out = make(x.dtype, x.dims.slice());
  const yd = out.data as AnyArray;
  const training = bnTrainingMode(node, ctx.opset);
  const useMean = new Float64Array(C), useVar = new Float64Array(C);
  if (training) {
    const cnt = N * S;
    for (let c = 0; c < C; c++) {
      let s = 0;
      for (let n = 0; n < N; n++) for (let i = (n * C + c) * S, e = i + S; i < e; i++) s += xd[i];
      const m = s / cnt;
      let q = 0;
      for (let n = 0; n < N; n++) for (let i = (n * C + c) * S, e = i + S; i < e; i++) { const d = xd[i] - m; q += d * d; }
      useMean[c] = m;
      useVar[c] = q / cnt;
    }
  } else {
    for (let c = 0; c < C; c++) { useMean[c] = md[c]; useVar[c] = vd[c]; }
  }
  for (let c = 0; c < C; c++) {
    const k = sd[c] / Math.sqrt(useVar[c] + eps);
    const b = bd[c] - useMean[c] * k;
    for (let n = 0; n < N; n++) for (let i = (n * C + c) * S, e = i + S; i < e; i++) yd[i] = xd[i] * k + b;
  }
  if (!training) return [out];
  // Running statistics follow PyTorch (the project's ground truth): the running variance is updated with
  // the unbiased batch variance, where the ONNX spec uses the biased one.
  const cnt = N * S;
  const unbias = cnt > 1 ? cnt / (cnt - 1) : 1;
  const runMean = make(mean.dtype, mean.dims.slice()), runVar = make(variance.dtype, variance.dims.slice());
  const savedMean = make(x.dtype, [C]), savedVar = make(x.dtype, [C]);
  const rm = runMean.data as AnyArray, rv = runVar.data as AnyArray, smd = savedMean.data as AnyArray, svd = savedVar.data as AnyArray;
  for (let c = 0; c < C; c++) {
    rm[c] = md[c] * momentum + useMean[c] * (1 - momentum);
    rv[c] = vd[c] * momentum + useVar[c] * unbias * (1 - momentum);
    smd[c] = useMean[c];
    svd[c] = useVar[c];
  }
  return [out, runMean, runVar, savedMean, savedVar];
});

registerKernel('InstanceNormalization', (inputs, node) => {
  const x = need(inputs, 0, 'input'), scale = need(inputs, 1, 'scale'), bias = need(inputs, 2, 'B');
  const eps = attrFloat(node, 'epsilon', 1e-5);
  const [N, C] = x.dims;
  const S = x.dims.slice(2).reduce((p, d) => p * d, 1);
  const xd = x.data as AnyArray, sd = scale.data as AnyArray, bd = bias.data as AnyArray;
  const out = make(x.dtype, x.dims.slice());
  const yd = out.data as AnyArray;
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) {
    const o = (n * C + c) * S;
    let s = 0;
    for (let i = 0; i < S; i++) s += xd[o + i];
    const m = s / S;
    let q = 0;
    for (let i = 0; i < S; i++) { const d = xd[o + i] - m; q += d * d; }
    const k = sd[c] / Math.sqrt(q / S + eps);
    for (let i = 0; i < S; i++) yd[o + i] = (xd[o + i] - m) * k + bd[c];
  }
  return [out];
});

registerKernel('LayerNormalization', (inputs, node) => {
  const x = need(inputs, 0, 'X'), scale = need(inputs, 1, 'Scale'), bias = inputs[2];
  const eps = attrFloat(node, 'epsilon', 1e-5);
  const axis = normAxis(attrInt(node, 'axis', -1), x.dims.length);
  const outer = x.dims.slice(0, axis).reduce((p, d) => p * d, 1);
  const normShape = x.dims.slice(axis);
  const inner = normShape.reduce((p, d) => p * d, 1);
  const sd = broadcastTo(scale, normShape).data as AnyArray;
  const bd = bias ? (broadcastTo(bias, normShape).data as AnyArray) : undefined;
  const xd = x.data as AnyArray;
  const out = make(x.dtype, x.dims.slice());
  const statDims = [...x.dims.slice(0, axis), ...normShape.map(() => 1)];
  const meanT = make(x.dtype, statDims), invT = make(x.dtype, statDims);
  const yd = out.data as AnyArray, md = meanT.data as AnyArray, id = invT.data as AnyArray;
  for (let r = 0; r < outer; r++) {
    const o = r * inner;
    let s = 0;
    for (let i = 0; i < inner; i++) s += xd[o + i];
    const m = s / inner;
    let q = 0;
    for (let i = 0; i < inner; i++) { const d = xd[o + i] - m; q += d * d; }
    const inv = 1 / Math.sqrt(q / inner + eps);
    for (let i = 0; i < inner; i++) yd[o + i] = (xd[o + i] - m) * inv * sd[i] + (bd ? bd[i] : 0);
    md[r] = m;
    id[r] = inv;
  }
  return [out, meanT, invT];
});
