// Element types of tensors, by their ONNX TensorProto.DataType code.

export type DType =
  | 'float32' | 'float16' | 'bfloat16' | 'float64'
  | 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'uint64'
  | 'bool' | 'string' | 'complex64' | 'complex128'
  | 'float8e4m3fn' | 'float8e4m3fnuz' | 'float8e5m2' | 'float8e5m2fnuz' | 'uint4' | 'int4' | 'float4e2m1'
  | 'float8e8m0' | 'uint2' | 'int2'
  | 'undefined';

const BY_CODE: DType[] = [
  'undefined', 'float32', 'uint8', 'int8', 'uint16', 'int16', 'int32', 'int64', 'string', 'bool',
  'float16', 'float64', 'uint32', 'uint64', 'complex64', 'complex128', 'bfloat16',
  'float8e4m3fn', 'float8e4m3fnuz', 'float8e5m2', 'float8e5m2fnuz', 'uint4', 'int4', 'float4e2m1',
  'float8e8m0', 'uint2', 'int2',
];

export function dtypeFromOnnx(code: number): DType {
  const d = BY_CODE[code];
  if (d === undefined) throw new RangeError(`unknown ONNX data type ${code}`);
  return d;
}

export function dtypeToOnnx(d: DType): number {
  return BY_CODE.indexOf(d);
}

/** Bits per element; strings have no fixed size (0). */
export function dtypeBits(d: DType): number {
  switch (d) {
    case 'float64': case 'int64': case 'uint64': case 'complex64': return 64;
    case 'complex128': return 128;
    case 'float32': case 'int32': case 'uint32': return 32;
    case 'float16': case 'bfloat16': case 'int16': case 'uint16': return 16;
    case 'int8': case 'uint8': case 'bool':
    case 'float8e4m3fn': case 'float8e4m3fnuz': case 'float8e5m2': case 'float8e5m2fnuz': case 'float8e8m0': return 8;
    case 'uint4': case 'int4': case 'float4e2m1': return 4;
    case 'uint2': case 'int2': return 2;
    case 'string': case 'undefined': return 0;
  }
}

export function isFloat(d: DType): boolean {
  return d === 'float32' || d === 'float16' || d === 'bfloat16' || d === 'float64' || d.startsWith('float8') || d === 'float4e2m1';
}
