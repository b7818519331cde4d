// Type conversion between the runtime's dtypes, including float16/bfloat16 (stored as raw bits).

import type { DType } from '../../ir/dtype';
import type { Tensor } from '../../ir/tensor';
import { make, type AnyArray } from './util';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 value → IEEE half bits, round to nearest even. */
export function toHalfBits(v: number): number {
  f32[0] = v;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e;
    let h = m >>> shift;
    const rem = m & ((1 << shift) - 1), half = 1 << (shift - 1);
    if (rem > half || (rem === half && (h & 1))) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1))) h++;
  return sign | h;
}

export function fromHalfBits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f, mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

export function toBfloat16Bits(v: number): number {
  f32[0] = v;
  const x = u32[0];
  if (v !== v) return ((x >>> 16) & 0x8000) | 0x7fc0;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

export function fromBfloat16Bits(h: number): number {
  u32[0] = h << 16;
  return f32[0];
}

const SUPPORTED = new Set<DType>(['float32', 'float64', 'float16', 'bfloat16', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64', 'bool']);

export function castTensor(x: Tensor, to: DType): Tensor {
  if (!SUPPORTED.has(x.dtype) || !SUPPORTED.has(to)) throw new Error(`Cast from ${x.dtype} to ${to} is not supported`);
  if (x.dtype === to) return x;
  const out = make(to, x.dims.slice());
  const src = x.data as AnyArray, dst = out.data as AnyArray;
  const n = src.length;
  const read: (i: number) => number | bigint =
    x.dtype === 'float16' ? (i) => fromHalfBits(src[i]) : x.dtype === 'bfloat16' ? (i) => fromBfloat16Bits(src[i]) : (i) => src[i];
  const isFloatSrc = x.dtype.startsWith('float') || x.dtype === 'bfloat16';
  for (let i = 0; i < n; i++) {
    const v = read(i);
    switch (to) {
      case 'float16': dst[i] = toHalfBits(Number(v)); break;
      case 'bfloat16': dst[i] = toBfloat16Bits(Number(v)); break;
      case 'float32': case 'float64': dst[i] = Number(v); break;
      case 'bool': dst[i] = v !== 0 && v !== 0n ? 1 : 0; break;
      case 'int64': case 'uint64': {
        if (typeof v === 'bigint') dst[i] = v;
        else dst[i] = Number.isFinite(v) ? BigInt(Math.trunc(v)) : 0n;
        break;
      }
      default: {
        // Narrow integers: truncate toward zero, then the typed array wraps like C's conversion.
        const num = typeof v === 'bigint' ? Number(BigInt.asIntN(64, v)) : isFloatSrc ? Math.trunc(v) : v;
        dst[i] = typeof v === 'bigint' && (to === 'int32' || to === 'uint32') ? Number(BigInt.asIntN(32, v)) : num;
      }
    }
  }
  return out;
}
