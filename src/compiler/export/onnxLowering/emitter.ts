// The node list an ONNX training step is written into, with the small builders every lowering shares:
// fresh value names, int64/float constants as initializers, shapes read from the reference runtime's
// values of the step (stepValues), and the reshapes, slices and reductions written at the model's opset.

import type { Tensor } from '../../ir/tensor';
import type { AttrValue, Node } from '../../ir/graph';
import { ModelError } from '../../onnx/errors';
import { tensorToInitializer } from '../../onnx/encode';

export const A = {
  int: (value: number): AttrValue => ({ type: 'int', value }),
  ints: (value: number[]): AttrValue => ({ type: 'ints', value }),
  float: (value: number): AttrValue => ({ type: 'float', value }),
  string: (value: string): AttrValue => ({ type: 'string', value }),
};

/** ONNX TensorProto data types used by Cast. */
export const ONNX_FLOAT = 1;
export const ONNX_DOUBLE = 11;

export const numel = (d: number[]): number => d.reduce((p, x) => p * x, 1);

export interface Emitter {
  /** Opset the step is written at. */
  readonly opset: number;
  /** Opset of the source model (operators copied from it keep their meaning). */
  readonly srcOpset: number;
  readonly nodes: Node[];
  readonly inits: Map<string, Tensor>;
  /** Every value of the step as the reference runtime computed it (shapes, constant operands). */
  readonly values: Map<string, Tensor>;
  add(opType: string, inputs: string[], attrs?: Record<string, AttrValue>, nOut?: number, outs?: string[]): string[];
  one(opType: string, inputs: string[], attrs?: Record<string, AttrValue>, out?: string): string;
  i64(xs: number[], scalar?: boolean): string;
  f32(x: number): string;
  f64(x: number): string;
  /** A constant tensor (an initializer of the step). */
  tensor(t: Tensor, hint?: string): string;
  dims(v: string): number[];
  /** The constant integer operand `v` (starts, axes, ...), or undefined when absent. */
  ints(v: string | undefined): number[] | undefined;
  scalar(v: string | undefined, dflt: number): number;
  reduceSum(x: string, axes: number[], keep: boolean, out?: string): string;
  reduceMean(x: string, axes: number[], out?: string): string;
  reshape(x: string, dims: number[], out?: string): string;
  transpose(x: string, perm: number[], out?: string): string;
  slice(x: string, starts: number[], ends: number[], axes: number[], steps?: number[], out?: string): string;
  cast(x: string, to: number, out?: string): string;
  /** A float32 tensor of zeros of shape `dims`. */
  zeros(dims: number[], out?: string): string;
}

export function createEmitter(values: Map<string, Tensor>, opset: number, srcOpset: number): Emitter {
  const nodes: Node[] = [];
  const inits = new Map<string, Tensor>();
  let uid = 0;
  const fresh = (hint: string): string => `pe_onnx/${hint}_${uid++}`;
  const add = (opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, nOut = 1, outs?: string[]): string[] => {
    const outputs = outs ?? Array.from({ length: nOut }, () => fresh(opType));
    nodes.push({ id: fresh(`${opType}_node`), name: '', opType, domain: '', inputs, outputs, attrs, layer: '' });
    return outputs;
  };
  const one = (opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, out?: string): string => add(opType, inputs, attrs, 1, out ? [out] : undefined)[0];
  const constant = (hint: string, t: Tensor): string => {
    const name = fresh(hint);
    inits.set(name, t);
    return name;
  };
  const i64 = (xs: number[], scalar = false): string => constant('i64', { dtype: 'int64', dims: scalar ? [] : [xs.length], data: BigInt64Array.from(xs.map((x) => BigInt(x))) } as Tensor);
  const e: Emitter = {
    opset, srcOpset, nodes, inits, values, add, one, i64,
    f32: (x) => constant('f32', { dtype: 'float32', dims: [], data: Float32Array.of(x) } as Tensor),
    f64: (x) => constant('f64', { dtype: 'float64', dims: [], data: Float64Array.of(x) } as Tensor),
    tensor: (t, hint = 'const') => constant(hint, t),
    dims: (v) => {
      const t = values.get(v);
      if (!t) throw new ModelError(`the ONNX exporter has no shape for "${v}"; it was not computed by the reference runtime's run of the step`);
      return t.dims;
    },
    ints: (v) => (v && values.has(v) ? Array.from(values.get(v)!.data as ArrayLike<number | bigint>, (x) => Number(x)) : undefined),
    scalar: (v, dflt) => (v && values.has(v) ? Number(values.get(v)!.data[0] as number) : dflt),
    reduceSum: (x, axes, keep, out) => (axes.length ? one('ReduceSum', [x, i64(axes)], { keepdims: A.int(keep ? 1 : 0) }, out) : one('Identity', [x], {}, out)),
    reduceMean: (x, axes, out) => (opset >= 18 ? one('ReduceMean', [x, i64(axes)], { keepdims: A.int(1) }, out) : one('ReduceMean', [x], { axes: A.ints(axes), keepdims: A.int(1) }, out)),
    reshape: (x, dims, out) => one('Reshape', [x, i64(dims)], {}, out),
    transpose: (x, perm, out) => one('Transpose', [x], { perm: A.ints(perm) }, out),
    slice: (x, starts, ends, axes, steps, out) => one('Slice', [x, i64(starts), i64(ends), i64(axes), ...(steps ? [i64(steps)] : [])], {}, out),
    cast: (x, to, out) => one('Cast', [x], { to: A.int(to) }, out),
    zeros: (dims, out) => one('ConstantOfShape', [i64(dims)], { value: { type: 'tensor', value: tensorToInitializer('zero', { dtype: 'float32', dims: [1], data: Float32Array.of(0) } as Tensor) } }, out),
  };
  return e;
}
