// Operators that make or relabel tensors: Constant, ConstantOfShape, Range, Shape, Size, Cast, CastLike,
// Identity, Dropout, Trilu.

import { attr, attrInt, type Node } from '../../ir/graph';
import type { DType } from '../../ir/dtype';
import { dtypeFromOnnx } from '../../ir/dtype';
import type { Tensor } from '../../ir/tensor';
import { loadInitializer } from '../../onnx/tensorData';
import { registerKernel } from '../kernel';
import { isBig, ints, make, need, scalar, type AnyArray } from './util';
import { castTensor } from './cast';
import { seededRandom } from '../../util/random';

// A Constant node's value is decoded once, then shared by every run (kernels never mutate inputs).
const constants = new WeakMap<Node, Tensor>();

function constantValue(node: Node): Tensor {
  const t = attr(node, 'value', 'tensor');
  if (t) return loadInitializer(t);
  const f = attr(node, 'value_float', 'float');
  if (f !== undefined) return make('float32', [], Float32Array.of(f));
  const fs = attr(node, 'value_floats', 'floats');
  if (fs) return make('float32', [fs.length], Float32Array.from(fs));
  const i = attr(node, 'value_int', 'int');
  if (i !== undefined) return make('int64', [], BigInt64Array.of(BigInt(i)));
  const is = attr(node, 'value_ints', 'ints');
  if (is) return make('int64', [is.length], BigInt64Array.from(is.map((v) => BigInt(v))));
  const s = attr(node, 'value_string', 'string');
  if (s !== undefined) return make('string', [], [s]);
  const ss = attr(node, 'value_strings', 'strings');
  if (ss) return make('string', [ss.length], ss.slice());
  throw new Error('Constant has no value attribute (sparse_value is not supported)');
}

registerKernel('Constant', (_inputs, node) => {
  let t = constants.get(node);
  if (!t) constants.set(node, (t = constantValue(node)));
  return [t];
});

registerKernel('ConstantOfShape', (inputs, node) => {
  const dims = ints(need(inputs, 0, 'input'));
  const v = attr(node, 'value', 'tensor');
  const fill = v ? loadInitializer(v) : make('float32', [1], Float32Array.of(0));
  const out = make(fill.dtype, dims);
  (out.data as { fill(v: unknown): unknown }).fill(fill.data[0]);
  return [out];
});

registerKernel('Range', (inputs) => {
  const s = need(inputs, 0, 'start'), l = need(inputs, 1, 'limit'), d = need(inputs, 2, 'delta');
  const start = scalar(s), limit = scalar(l), delta = scalar(d);
  const n = Math.max(Math.ceil((limit - start) / delta), 0);
  const out = make(s.dtype, [n]);
  const o = out.data as AnyArray;
  for (let i = 0; i < n; i++) o[i] = isBig(s.dtype) ? BigInt(start + i * delta) : start + i * delta;
  return [out];
});

registerKernel('Shape', (inputs, node) => {
  const x = need(inputs, 0, 'data');
  const r = x.dims.length;
  const clamp = (v: number): number => Math.max(0, Math.min(r, v < 0 ? v + r : v));
  const start = clamp(attrInt(node, 'start', 0));
  const end = node.attrs.end ? clamp(attrInt(node, 'end', r)) : r;
  const dims = x.dims.slice(start, Math.max(start, end));
  return [make('int64', [dims.length], BigInt64Array.from(dims.map((d) => BigInt(d))))];
});

registerKernel('Size', (inputs) => [make('int64', [], BigInt64Array.of(BigInt(need(inputs, 0, 'data').data.length)))]);

registerKernel('Cast', (inputs, node) => {
  const to = attrInt(node, 'to', 0);
  return [castTensor(need(inputs, 0, 'input'), dtypeFromOnnx(to))];
});
registerKernel('CastLike', (inputs) => [castTensor(need(inputs, 0, 'input'), need(inputs, 1, 'target_type').dtype)]);

registerKernel('Identity', (inputs) => [need(inputs, 0, 'input')]);

// Dropout is the identity unless training with ratio > 0 (training_mode input since opset 12; before,
// only Dropout-6's is_test=0 trains). The mask is all true when nothing is dropped.

registerKernel('Dropout', (inputs, node, ctx) => {
  const x = need(inputs, 0, 'data');
  let ratio: number, training: boolean;
  if (ctx.opset >= 12) {
    ratio = inputs[1] ? scalar(inputs[1]) : 0.5;
    training = inputs[2] ? scalar(inputs[2]) !== 0 : false;
  } else {
    ratio = attr(node, 'ratio', 'float') ?? 0.5;
    training = ctx.opset < 7 && attrInt(node, 'is_test', 0) === 0;
  }
  const wantMask = node.outputs.length > 1 && node.outputs[1] !== '';
  const maskType: DType = ctx.opset >= 10 ? 'bool' : x.dtype;
  if (!training || ratio === 0) {
    if (!wantMask) return [x];
    const mask = make(maskType, x.dims.slice());
    (mask.data as Uint8Array).fill(1);
    return [x, mask];
  }
  const rand = seededRandom(attr(node, 'seed', 'int') ?? 0);
  const out = make(x.dtype, x.dims.slice());
  const mask = make(maskType, x.dims.slice());
  const xd = x.data as Float32Array, od = out.data as Float32Array, md = mask.data as Uint8Array;
  const scale = 1 / (1 - ratio);
  for (let i = 0; i < xd.length; i++) {
    const keep = rand() >= ratio;
    md[i] = keep ? 1 : 0;
    od[i] = keep ? xd[i] * scale : 0;
  }
  return wantMask ? [out, mask] : [out];
});

registerKernel('Trilu', (inputs, node) => {
  const x = need(inputs, 0, 'input');
  const k = inputs[1] ? scalar(inputs[1]) : 0;
  const upper = attrInt(node, 'upper', 1) !== 0;
  const r = x.dims.length;
  if (r < 2) throw new Error('Trilu needs rank 2 or more');
  const R = x.dims[r - 2], C = x.dims[r - 1];
  const out = make(x.dtype, x.dims.slice());
  const src = x.data as AnyArray, dst = out.data as AnyArray;
  const zero = isBig(x.dtype) ? 0n : 0;
  for (let b = 0; b < src.length; b += R * C) for (let i = 0; i < R; i++) for (let j = 0; j < C; j++) {
    const keep = upper ? j - i >= k : j - i <= k;
    dst[b + i * C + j] = keep ? src[b + i * C + j] : zero;
  }
  return [out];
});
