// MatMul (numpy semantics, batched with broadcasting) and Gemm, both through the shared GEMM.

import { attrFloat, attrInt } from '../../ir/graph';
import type { Tensor } from '../../ir/tensor';
import { gemm } from '../gemm';
import { registerKernel } from '../kernel';
import { broadcastDims, broadcastTo, make, need, stridesOf, type AnyArray } from './util';

/** C = A·B for one batch in any numeric dtype other than float32 (plain triple loop). */
function slowGemm(M: number, N: number, K: number, a: AnyArray, ao: number, b: AnyArray, bo: number, c: AnyArray, co: number, big: boolean): void {
  for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
    let s: number | bigint = big ? 0n : 0;
    for (let k = 0; k < K; k++) s = (s as number) + (a[ao + i * K + k] as number) * (b[bo + k * N + j] as number);
    c[co + i * N + j] = s;
  }
}

export function matmul(a: Tensor, b: Tensor): Tensor {
  if (a.dtype !== b.dtype) throw new Error(`operand types differ (${a.dtype} and ${b.dtype})`);
  if (a.dims.length === 0 || b.dims.length === 0) throw new Error('MatMul needs operands of rank 1 or more');
  const aDims = a.dims.length === 1 ? [1, a.dims[0]] : a.dims;
  const bDims = b.dims.length === 1 ? [b.dims[0], 1] : b.dims;
  const M = aDims[aDims.length - 2], K = aDims[aDims.length - 1];
  const K2 = bDims[bDims.length - 2], N = bDims[bDims.length - 1];
  if (K !== K2) throw new Error(`inner dimensions differ: [${a.dims}] × [${b.dims}]`);
  const aBatch = aDims.slice(0, -2), bBatch = bDims.slice(0, -2);
  const batch = broadcastDims(aBatch, bBatch);
  const outDims = [...batch, M, N];
  const out = make(a.dtype, outDims);
  let nb = 1;
  for (const d of batch) nb *= d;
  const f32 = a.dtype === 'float32';
  const big = a.dtype === 'int64' || a.dtype === 'uint64';
  const run = (ad: AnyArray, ao: number, bd: AnyArray, bo: number, m: number, co: number): void => {
    if (f32) {
      gemm(m, N, K, (ad as Float32Array).subarray(ao), (bd as Float32Array).subarray(bo), (out.data as Float32Array).subarray(co), false, false, 1, 0);
    } else slowGemm(m, N, K, ad, ao, bd, bo, out.data as AnyArray, co, big);
  };
  if (bBatch.every((d) => d === 1) && aBatch.length === batch.length && aBatch.every((d, i) => d === batch[i])) {
    // B is shared by every batch: one GEMM with the batches stacked along M.
    run(a.data as AnyArray, 0, b.data as AnyArray, 0, nb * M, 0);
  } else {
    const ab = broadcastTo({ ...a, dims: aDims }, [...batch, M, K]);
    const bb = broadcastTo({ ...b, dims: bDims }, [...batch, K, N]);
    for (let i = 0; i < nb; i++) run(ab.data as AnyArray, i * M * K, bb.data as AnyArray, i * K * N, M, i * M * N);
  }
  const finalDims = outDims.slice();
  if (b.dims.length === 1) finalDims.splice(finalDims.length - 1, 1);
  if (a.dims.length === 1) finalDims.splice(finalDims.length - (b.dims.length === 1 ? 1 : 2), 1);
  out.dims = finalDims;
  return out;
}

registerKernel('MatMul', (inputs) => [matmul(need(inputs, 0, 'A'), need(inputs, 1, 'B'))]);

registerKernel('Gemm', (inputs, node) => {
  const a = need(inputs, 0, 'A'), b = need(inputs, 1, 'B'), c = inputs[2];
  const transA = attrInt(node, 'transA', 0) !== 0, transB = attrInt(node, 'transB', 0) !== 0;
  const alpha = attrFloat(node, 'alpha', 1), beta = attrFloat(node, 'beta', 1);
  if (a.dims.length !== 2 || b.dims.length !== 2) throw new Error('Gemm needs 2-D A and B');
  const [M, K] = transA ? [a.dims[1], a.dims[0]] : a.dims;
  const [K2, N] = transB ? [b.dims[1], b.dims[0]] : b.dims;
  if (K !== K2) throw new Error(`inner dimensions differ: A [${a.dims}]${transA ? 'ᵀ' : ''} × B [${b.dims}]${transB ? 'ᵀ' : ''}`);
  const out = c && beta !== 0 ? broadcastTo(c, [M, N]) : make(a.dtype, [M, N]);
  if (a.dtype === 'float32') {
    gemm(M, N, K, a.data as Float32Array, b.data as Float32Array, out.data as Float32Array, transA, transB, alpha, c ? beta : 0);
    return [out];
  }
  // Other dtypes: a direct loop through strides (tests use float64 only for small matrices).
  const [sa0, sa1] = stridesOf(a.dims), [sb0, sb1] = stridesOf(b.dims);
  const ad = a.data as AnyArray, bd = b.data as AnyArray, od = out.data as AnyArray;
  for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
    let s = 0;
    for (let k = 0; k < K; k++) {
      const av = transA ? ad[k * sa0 + i * sa1] : ad[i * sa0 + k * sa1];
      const bv = transB ? bd[j * sb0 + k * sb1] : bd[k * sb0 + j * sb1];
      s += av * bv;
    }
    od[i * N + j] = alpha * s + (c ? beta * od[i * N + j] : 0);
  }
  return [out];
});
