// Tensors with their data in memory, as the runtime, the tests and the .pb reader/writer use them.

import type { DType } from './dtype';

export type TensorArray =
  | Float32Array | Float64Array
  | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array
  | BigInt64Array | BigUint64Array
  | string[];

/**
 * data layout by dtype: float32 Float32Array, float64 Float64Array, int8 Int8Array, uint8 and bool
 * Uint8Array, int16 Int16Array, uint16/float16/bfloat16 Uint16Array (raw bits), int32 Int32Array,
 * uint32 Uint32Array, int64 BigInt64Array, uint64 BigUint64Array, string string[].
 */
export interface Tensor {
  dtype: DType;
  dims: number[];
  data: TensorArray;
  name?: string;
}

export function sizeOf(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

export function allocArray(dtype: DType, n: number): TensorArray {
  switch (dtype) {
    case 'float32': return new Float32Array(n);
    case 'float64': return new Float64Array(n);
    case 'int8': return new Int8Array(n);
    case 'uint8': case 'bool': return new Uint8Array(n);
    case 'int16': return new Int16Array(n);
    case 'uint16': case 'float16': case 'bfloat16': return new Uint16Array(n);
    case 'int32': return new Int32Array(n);
    case 'uint32': return new Uint32Array(n);
    case 'int64': return new BigInt64Array(n);
    case 'uint64': return new BigUint64Array(n);
    case 'string': return new Array<string>(n).fill('');
    default: throw new Error(`tensors of type ${dtype} are not supported`);
  }
}

export function tensor(dtype: DType, dims: number[], data?: TensorArray): Tensor {
  const n = sizeOf(dims);
  const d = data ?? allocArray(dtype, n);
  if (d.length !== n) throw new Error(`tensor of shape [${dims}] needs ${n} elements, got ${d.length}`);
  return { dtype, dims: dims.slice(), data: d };
}

/** Element i as a JS number (int64 values beyond 2^53 lose precision). */
export function getNumber(t: Tensor, i: number): number {
  const v = t.data[i];
  return typeof v === 'bigint' ? Number(v) : (v as number);
}

/** All elements as numbers. */
export function toNumbers(t: Tensor): number[] {
  const out = new Array<number>(t.data.length);
  for (let i = 0; i < out.length; i++) out[i] = getNumber(t, i);
  return out;
}
