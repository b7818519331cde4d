// Operators that make tensors from attributes or from shapes: Constant, ConstantOfShape, Range, Shape,
// Size, and the readers of small constant tensors (initializers, Constant attributes) that feed the
// partial constant propagation. Weights are never loaded: only small integer tensors (and a few floats,
// for Range bounds), and never external data.

import { dtypeFromOnnx, type DType } from '../dtype';
import type { Initializer } from '../graph';
import { attr, attrFloat, attrInt, attrInts } from '../graph';
import type { Dim } from '../shape';
import { toNumbers } from '../tensor';
import { loadInitializer } from '../../onnx/tensorData';
import { divDims, prodDims, subDims } from './dims';
import { foldable, isIntType } from './broadcast';
import { type ConstVal, type Elem, type InferCtx, type ShapeRule, fail, numel, t } from './context';

/** The values of a small inline tensor, or undefined (too big, external, strings, or unreadable). */
export function initializerValue(init: Initializer): ConstVal | undefined {
  if (init.source.kind !== 'inline' || init.dtype === 'string') return undefined;
  const n = numel(init.dims);
  if (!Number.isSafeInteger(n) || !foldable(init.dtype, n)) return undefined;
  const half = init.dtype === 'float16' || init.dtype === 'bfloat16';
  if (!isIntType(init.dtype) && !half && init.dtype !== 'float32' && init.dtype !== 'float64') return undefined;
  try {
    const data = toNumbers(loadInitializer(init));
    return { dims: init.dims.slice(), data: half ? data.map(init.dtype === 'float16' ? fromHalf : fromBfloat16) : data };
  } catch {
    return undefined;
  }
}

/** Half-precision bits as a number (Range bounds in float16 models). */
function fromHalf(bits: number): number {
  const exp = (bits >> 10) & 0x1f;
  const frac = bits & 0x3ff;
  const sign = bits & 0x8000 ? -1 : 1;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

function fromBfloat16(bits: number): number {
  return new Float32Array(new Uint32Array([bits << 16]).buffer)[0];
}

/** A 1-D constant's elements, or as many unknowns as its static length, or undefined. */
export function vectorOf(c: InferCtx, i: number): Elem[] | undefined {
  if (!c.has(i)) return undefined;
  const v = c.value(i);
  if (v) {
    if (v.dims.length > 1) fail(`input ${i} must be a 1-D tensor, got shape [${v.dims}]`);
    return v.data;
  }
  const s = c.shape(i);
  if (s && s.length === 1 && typeof s[0] === 'number' && s[0] <= 64) return new Array(s[0]).fill(null);
  return undefined;
}

/** Dims from a shape-vector, with a fresh name for each unknown element. */
function dimsFromElems(c: InferCtx, elems: Elem[], k = 0): Dim[] {
  return elems.map((e, i) => {
    if (e === null) return c.fresh(k, i);
    if (typeof e === 'number' && (e < 0 || !Number.isSafeInteger(e))) fail(`dimension ${e} is not a valid size`);
    return e;
  });
}

function constantRule(c: InferCtx): ReturnType<ShapeRule> {
  const n = c.node;
  const tensor = attr(n, 'value', 'tensor');
  if (tensor) {
    const v = initializerValue(tensor);
    if (v) c.setValue(0, v);
    return [t(tensor.dtype, tensor.dims.slice())];
  }
  if (n.attrs.value_float) {
    c.setValue(0, { dims: [], data: [attrFloat(n, 'value_float', 0)] });
    return [t('float32', [])];
  }
  if (n.attrs.value_int) {
    c.setValue(0, { dims: [], data: [attrInt(n, 'value_int', 0)] });
    return [t('int64', [])];
  }
  const floats = attr(n, 'value_floats', 'floats');
  if (floats) {
    if (floats.length <= 64) c.setValue(0, { dims: [floats.length], data: floats.slice() });
    return [t('float32', [floats.length])];
  }
  const ints = attrInts(n, 'value_ints');
  if (ints) {
    c.setValue(0, { dims: [ints.length], data: ints.slice() });
    return [t('int64', [ints.length])];
  }
  if (n.attrs.value_string) return [t('string', [])];
  const strings = attr(n, 'value_strings', 'strings');
  if (strings) return [t('string', [strings.length])];
  if (n.attrs.sparse_value) fail('sparse Constant values are not supported');
  fail('Constant has no value attribute');
}

function constantOfShapeRule(c: InferCtx): ReturnType<ShapeRule> {
  const value = attr(c.node, 'value', 'tensor');
  const dtype: DType = value ? value.dtype : 'float32';
  const elems = vectorOf(c, 0);
  if (!elems) return [t(dtype, null)];
  const dims = dimsFromElems(c, elems);
  const fill = value ? initializerValue(value)?.data[0] ?? null : 0;
  if (dims.every((d) => typeof d === 'number')) {
    const count = numel(dims as number[]);
    if (foldable(dtype, count)) c.setValue(0, { dims: dims as number[], data: new Array(count).fill(fill) });
  }
  return [t(dtype, dims)];
}

function scalar(c: InferCtx, i: number): Elem {
  const v = c.value(i);
  return v && v.data.length === 1 ? v.data[0] : null;
}

function rangeRule(c: InferCtx): ReturnType<ShapeRule> {
  const dtype = c.dtype(0);
  const start = scalar(c, 0);
  const limit = scalar(c, 1);
  const delta = scalar(c, 2);
  let len: Dim;
  if (typeof start === 'number' && typeof limit === 'number' && typeof delta === 'number') {
    if (delta === 0) fail('Range delta is 0');
    len = Math.max(Math.ceil((limit - start) / delta), 0);
    if (foldable(dtype, len)) {
      const data: number[] = new Array(len);
      for (let i = 0; i < len; i++) data[i] = start + i * delta;
      c.setValue(0, { dims: [len], data });
    }
  } else if (limit !== null && start !== null && delta === 1) {
    len = subDims(limit, start) ?? c.fresh(0, 0);
  } else if (limit !== null && start === 0 && typeof delta === 'number' && delta > 0) {
    len = divDims(limit, delta) ?? c.fresh(0, 0);
  } else len = c.fresh(0, 0);
  return [t(dtype, [len])];
}

function shapeRule(c: InferCtx): ReturnType<ShapeRule> {
  const x = c.shape(0);
  if (!x) return [t('int64', [c.fresh(0, 0)])];
  const r = x.length;
  const clamp = (v: number): number => Math.min(Math.max(v < 0 ? v + r : v, 0), r);
  const start = clamp(attrInt(c.node, 'start', 0));
  const end = clamp(attrInt(c.node, 'end', r));
  const dims = x.slice(start, Math.max(start, end));
  c.setValue(0, { dims: [dims.length], data: dims });
  return [t('int64', [dims.length])];
}

export const constantRules: Record<string, ShapeRule> = {
  Constant: constantRule,
  ConstantOfShape: constantOfShapeRule,
  Range: rangeRule,
  Shape: shapeRule,
  Size: (c) => {
    const x = c.shape(0);
    if (x) c.setValue(0, { dims: [], data: [prodDims(x)] });
    return [t('int64', [])];
  },
  NonZero: (c) => {
    const x = c.shape(0);
    return [t('int64', [x ? x.length : c.fresh(0, 0), c.fresh(0, 1)])];
  },
  EyeLike: (c) => {
    const to = c.node.attrs.dtype ? dtypeFromOnnx(attrInt(c.node, 'dtype', 1)) : c.dtype(0);
    return [t(to, c.shape(0))];
  },
  RandomNormalLike: (c) => [t(c.node.attrs.dtype ? dtypeFromOnnx(attrInt(c.node, 'dtype', 1)) : c.dtype(0), c.shape(0))],
  RandomUniformLike: (c) => [t(c.node.attrs.dtype ? dtypeFromOnnx(attrInt(c.node, 'dtype', 1)) : c.dtype(0), c.shape(0))],
  RandomNormal: (c) => [t(dtypeFromOnnx(attrInt(c.node, 'dtype', 1)), attrInts(c.node, 'shape') ?? null)],
  RandomUniform: (c) => [t(dtypeFromOnnx(attrInt(c.node, 'dtype', 1)), attrInts(c.node, 'shape') ?? null)],
};
