// MatMulT(A, B): numpy matmul with A and/or B transposed in their last two dims (attributes transA,
// transB) and broadcast batch dims. It is MatMul's gradient without a rank-dependent Transpose node.

import { attrInt } from '../../ir/graph';
import type { Tensor } from '../../ir/tensor';
import { gemm } from '../gemm';
import { broadcastDims, stridesOf } from '../kernels/util';
import { f32, floatTensor, register } from './common';

export function matmulT(a: Tensor, b: Tensor, transA: boolean, transB: boolean): Tensor {
  const ad = f32(a, 'A'), bd = f32(b, 'B');
  if (a.dims.length < 2 || b.dims.length < 2) throw new Error(`MatMulT needs operands of rank 2 or more, got [${a.dims}] and [${b.dims}]`);
  const [ar, ac] = a.dims.slice(-2);
  const [br, bc] = b.dims.slice(-2);
  const M = transA ? ac : ar, K = transA ? ar : ac;
  const N = transB ? br : bc, K2 = transB ? bc : br;
  if (K !== K2) throw new Error(`inner dimensions differ: [${a.dims}]${transA ? 'ᵀ' : ''} × [${b.dims}]${transB ? 'ᵀ' : ''}`);
  const batchA = a.dims.slice(0, -2), batchB = b.dims.slice(0, -2);
  const batch = broadcastDims(batchA, batchB);
  const rank = batch.length;
  const pad = (d: number[]): number[] => [...new Array<number>(rank - d.length).fill(1), ...d];
  const pa = pad(batchA), pb = pad(batchB);
  const sa = stridesOf(pa), sb = stridesOf(pb), so = stridesOf(batch);
  const count = batch.reduce((p, d) => p * d, 1);
  const out = new Float32Array(count * M * N);
  for (let t = 0; t < count; t++) {
    let ia = 0, ib = 0;
    for (let d = 0; d < rank; d++) {
      const i = Math.floor(t / so[d]) % batch[d];
      if (pa[d] !== 1) ia += i * sa[d];
      if (pb[d] !== 1) ib += i * sb[d];
    }
    gemm(M, N, K, ad.subarray(ia * M * K), bd.subarray(ib * K * N), out.subarray(t * M * N), transA, transB, 1, 0);
  }
  return floatTensor([...batch, M, N], out);
}

register('MatMulT', (inputs, node) => [matmulT(inputs[0]!, inputs[1]!, attrInt(node, 'transA', 0) !== 0, attrInt(node, 'transB', 0) !== 0)]);
