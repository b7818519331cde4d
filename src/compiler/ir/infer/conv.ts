// Convolutions and pooling: spatial output sizes from kernel, strides, dilations, pads or auto_pad
// (SAME_UPPER/SAME_LOWER/VALID) and ceil_mode. Symbolic spatial dims stay symbolic where the size does
// not change (stride 1, "same" padding) and get a fresh name otherwise.

import { attrInt, attrInts, attrString } from '../graph';
import type { Dim } from '../shape';
import { type InferCtx, type ShapeRule, fail, t } from './context';

interface Window {
  kernel: (number | null)[];
  strides: number[];
  dilations: number[];
  pads: number[];
  autoPad: string;
}

function windowOf(c: InferCtx, n: number, kernel: (number | null)[]): Window {
  const strides = attrInts(c.node, 'strides') ?? new Array(n).fill(1);
  const dilations = attrInts(c.node, 'dilations') ?? new Array(n).fill(1);
  const pads = attrInts(c.node, 'pads') ?? new Array(2 * n).fill(0);
  const autoPad = attrString(c.node, 'auto_pad', 'NOTSET');
  if (strides.length !== n || dilations.length !== n || pads.length !== 2 * n) {
    fail(`strides/dilations/pads do not match the ${n} spatial dimensions`);
  }
  if (strides.some((s) => s <= 0) || dilations.some((d) => d <= 0)) fail('strides and dilations must be positive');
  return { kernel, strides, dilations, pads, autoPad };
}

/** Output size of one spatial axis of a convolution or pooling window. */
function windowOut(c: InferCtx, x: Dim, i: number, w: Window, ceil: boolean, k: number, d: number): Dim {
  const n = w.strides.length;
  const stride = w.strides[i];
  const kern = w.kernel[i];
  if (w.autoPad === 'SAME_UPPER' || w.autoPad === 'SAME_LOWER') {
    if (typeof x === 'number') return Math.ceil(x / stride);
    return stride === 1 ? x : c.fresh(k, d);
  }
  if (kern === null) return c.fresh(k, d);
  const eff = w.dilations[i] * (kern - 1) + 1;
  const pb = w.autoPad === 'VALID' ? 0 : w.pads[i];
  const pe = w.autoPad === 'VALID' ? 0 : w.pads[i + n];
  if (typeof x !== 'number') return stride === 1 && pb + pe - eff + 1 === 0 ? x : c.fresh(k, d);
  const span = x + pb + pe - eff;
  if (span < 0) fail(`the window (${eff}) is larger than the padded input (${x + pb + pe}) on spatial axis ${i}`);
  if (!ceil) return Math.floor(span / stride) + 1;
  let out = Math.ceil(span / stride) + 1;
  // The last window must start inside the input or its left padding (PyTorch's and ONNX's rule).
  if ((out - 1) * stride >= x + pb) out--;
  return out;
}

function convRule(c: InferCtx): ReturnType<ShapeRule> {
  const x = c.shape(0);
  const w = c.shape(1);
  const dtype = c.dtype(0);
  if (!x) return [t(dtype, null)];
  if (x.length < 3) fail(`Conv input must be at least 3-D (N, C, spatial...), got rank ${x.length}`);
  const n = x.length - 2;
  const kAttr = attrInts(c.node, 'kernel_shape');
  const kernel = kAttr ?? (w ? w.slice(2).map((d) => (typeof d === 'number' ? d : null)) : new Array(n).fill(null));
  if (kernel.length !== n) fail(`kernel has ${kernel.length} dims but the input has ${n} spatial dims`);
  const win = windowOf(c, n, kernel);
  const out: Dim[] = [x[0], w ? w[0] : c.fresh(0, 1)];
  for (let i = 0; i < n; i++) out.push(windowOut(c, x[i + 2], i, win, false, 0, i + 2));
  return [t(dtype, out)];
}

function convTransposeRule(c: InferCtx): ReturnType<ShapeRule> {
  const x = c.shape(0);
  const w = c.shape(1);
  const dtype = c.dtype(0);
  if (!x) return [t(dtype, null)];
  if (x.length < 3) fail(`ConvTranspose input must be at least 3-D, got rank ${x.length}`);
  const n = x.length - 2;
  const group = attrInt(c.node, 'group', 1);
  const kAttr = attrInts(c.node, 'kernel_shape');
  const kernel = kAttr ?? (w ? w.slice(2).map((d) => (typeof d === 'number' ? d : null)) : new Array(n).fill(null));
  const win = windowOf(c, n, kernel);
  const outPad = attrInts(c.node, 'output_padding') ?? new Array(n).fill(0);
  const outShape = attrInts(c.node, 'output_shape');
  const m = w && typeof w[1] === 'number' ? w[1] * group : w ? (group === 1 ? w[1] : c.fresh(0, 1)) : c.fresh(0, 1);
  const out: Dim[] = [x[0], m];
  for (let i = 0; i < n; i++) {
    const xi = x[i + 2];
    const kern = kernel[i];
    if (outShape) out.push(outShape[outShape.length - n + i]);
    else if (typeof xi !== 'number' || kern === null) out.push(c.fresh(0, i + 2));
    else if (win.autoPad === 'SAME_UPPER' || win.autoPad === 'SAME_LOWER') out.push(xi * win.strides[i]);
    else {
      const pads = win.autoPad === 'VALID' ? 0 : win.pads[i] + win.pads[i + n];
      out.push(win.strides[i] * (xi - 1) + outPad[i] + (kern - 1) * win.dilations[i] + 1 - pads);
    }
  }
  return [t(dtype, out)];
}

function poolRule(c: InferCtx): ReturnType<ShapeRule> {
  const x = c.shape(0);
  const dtype = c.dtype(0);
  const outs = c.node.outputs.length;
  if (!x) return [t(dtype, null), ...(outs > 1 ? [t('int64', null)] : [])];
  if (x.length < 3) fail(`${c.node.opType} input must be at least 3-D (N, C, spatial...), got rank ${x.length}`);
  const n = x.length - 2;
  const kernel = attrInts(c.node, 'kernel_shape');
  if (!kernel || kernel.length !== n) fail(`kernel_shape must list ${n} sizes`);
  const win = windowOf(c, n, kernel);
  const ceil = attrInt(c.node, 'ceil_mode', 0) !== 0;
  const out: Dim[] = [x[0], x[1]];
  for (let i = 0; i < n; i++) out.push(windowOut(c, x[i + 2], i, win, ceil, 0, i + 2));
  const res = [t(dtype, out)];
  if (outs > 1) res.push(t('int64', out.slice()));
  return res;
}

function globalPoolRule(c: InferCtx): ReturnType<ShapeRule> {
  const x = c.shape(0);
  if (x && x.length < 2) fail(`${c.node.opType} input must be at least 2-D`);
  return [t(c.dtype(0), x ? [x[0], x[1], ...x.slice(2).map(() => 1)] : null)];
}

export const convRules: Record<string, ShapeRule> = {
  Conv: convRule,
  ConvTranspose: convTransposeRule,
  MaxPool: poolRule,
  AveragePool: poolRule,
  LpPool: poolRule,
  GlobalAveragePool: globalPoolRule,
  GlobalMaxPool: globalPoolRule,
  GlobalLpPool: globalPoolRule,
};
