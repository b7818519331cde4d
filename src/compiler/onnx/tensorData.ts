// Turns an initializer (inline or external) into a Tensor with data in memory, on demand.

import type { Initializer, RawTensorData } from '../ir/graph';
import { dtypeBits, type DType } from '../ir/dtype';
import { allocArray, sizeOf, type Tensor, type TensorArray } from '../ir/tensor';
import { readExternalBytes } from './externalData';
import { ModelError } from './errors';

/** Bytes the initializer's data takes once loaded (strings: 0). */
export function initializerBytes(init: Initializer): number {
  return Math.ceil((sizeOf(init.dims) * dtypeBits(init.dtype)) / 8);
}

export function loadInitializer(init: Initializer): Tensor {
  const n = sizeOf(init.dims);
  if (!Number.isSafeInteger(n) || n < 0) throw new ModelError(`initializer "${init.name}" has invalid dims [${init.dims}]`);
  if (init.source.kind === 'external') {
    const { file, offset, length } = init.source;
    const bytes = readExternalBytes(file, offset, length, init.name);
    return { name: init.name, dtype: init.dtype, dims: init.dims.slice(), data: fromRawBytes(init.dtype, n, bytes, init.name) };
  }
  return { name: init.name, dtype: init.dtype, dims: init.dims.slice(), data: fromProtoFields(init.dtype, n, init.source.proto, init.name) };
}

function fromProtoFields(dtype: DType, n: number, p: RawTensorData, name: string): TensorArray {
  if (p.rawData && p.rawData.length > 0) return fromRawBytes(dtype, n, p.rawData, name);
  const big = (v: unknown): bigint => (typeof v === 'bigint' ? v : BigInt(Math.trunc(Number(v))));
  const utf8 = new TextDecoder();
  // Which TensorProto field carries each type; int8..int32, bool, float16 and bfloat16 bits all travel in int32_data.
  const [src, conv]: [ArrayLike<unknown> | undefined, (v: unknown) => unknown] =
    dtype === 'float32' ? [p.floatData, Number]
    : dtype === 'float64' ? [p.doubleData, Number]
    : dtype === 'int64' ? [p.int64Data, big]
    : dtype === 'uint64' ? [p.uint64Data, (v) => BigInt.asUintN(64, big(v))]
    : dtype === 'uint32' ? [p.uint64Data, Number]
    : dtype === 'string' ? [p.stringData, (v) => utf8.decode(v as Uint8Array)]
    : [p.int32Data, Number];
  const len = src?.length ?? 0;
  // Compare before allocating: a corrupt file may claim 2^40 elements and hold one.
  if (len !== n) throw new ModelError(`initializer "${name}" holds ${len} values but its shape needs ${n}`);
  const out = allocArray(dtype, n);
  for (let i = 0; i < n; i++) (out as unknown as unknown[])[i] = conv(src![i]);
  return out;
}

export function fromRawBytes(dtype: DType, n: number, bytes: Uint8Array, name: string): TensorArray {
  const bits = dtypeBits(dtype);
  if (bits === 0 || bits < 8) throw new ModelError(`initializer "${name}": raw data of type ${dtype} is not supported`);
  const need = (n * bits) / 8;
  if (bytes.length !== need) throw new ModelError(`initializer "${name}" has ${bytes.length} bytes of data but its shape and type need ${need}`);
  // Copy into a fresh, aligned buffer: the source may be a view at any offset into the model file.
  const copy = new Uint8Array(need);
  copy.set(bytes);
  const b = copy.buffer;
  switch (dtype) {
    case 'float32': return new Float32Array(b);
    case 'float64': return new Float64Array(b);
    case 'int8': return new Int8Array(b);
    case 'uint8': case 'bool': return copy;
    case 'int16': return new Int16Array(b);
    case 'uint16': case 'float16': case 'bfloat16': return new Uint16Array(b);
    case 'int32': return new Int32Array(b);
    case 'uint32': return new Uint32Array(b);
    case 'int64': return new BigInt64Array(b);
    case 'uint64': return new BigUint64Array(b);
    default: throw new ModelError(`initializer "${name}": raw data of type ${dtype} is not supported`);
  }
}
