// Helpers of the gradient kernels: float32 access and the registration of 'pockengine' operators.

import type { Tensor } from '../../ir/tensor';
import { registerKernel, type Kernel } from '../kernel';

export const PE = 'pockengine';

export function f32(t: Tensor | undefined, what: string): Float32Array {
  if (!t) throw new Error(`input ${what} is required`);
  if (t.dtype !== 'float32') throw new Error(`${what} must be float32, got ${t.dtype}`);
  return t.data as Float32Array;
}

export function dimsOf(shape: Tensor | undefined, what: string): number[] {
  if (!shape) throw new Error(`input ${what} (a shape) is required`);
  return Array.from(shape.data as ArrayLike<number | bigint>, (v) => Number(v));
}

export function floatTensor(dims: number[], data?: Float32Array): Tensor {
  const n = dims.reduce((p, d) => p * d, 1);
  return { dtype: 'float32', dims: dims.slice(), data: data ?? new Float32Array(n) };
}

export function sameDims(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function register(op: string, kernel: Kernel): void {
  registerKernel(op, kernel, PE);
}
