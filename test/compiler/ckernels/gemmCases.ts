// GEMM family cases: ONNX Gemm (transposes, alpha, beta, broadcast C), MatMul with broadcast batch dims
// and MatMulT, at sizes that straddle the micro-tile and the KC / MC / NC blocks.

import { attrs as A } from '../../../src/compiler/train/builder';
import { gemmWorkspace } from '../../../src/compiler/codegen/kernels/gemm';
import { cf, f32, oracle, reseed, U, type CCase } from './harness';

export function cases(): CCase[] {
  reseed(11);
  const out: CCase[] = [];
  const ws = gemmWorkspace();
  const gemmShapes: [number, number, number, number, number, number, number, number[] | null][] = [
    // M, N, K, transA, transB, alpha, beta, C dims
    [1, 1, 1, 0, 0, 1, 0, null],
    [7, 13, 5, 0, 0, 1, 1, [7, 13]],
    [37, 65, 300, 1, 0, 0.5, 1, [65]],
    [130, 70, 33, 0, 1, 1, 2, [130, 1]],
    [17, 19, 260, 1, 1, -1.5, 0.25, [1]],
    [3, 2100, 4, 0, 0, 1, 1, [2100]],
    [64, 96, 128, 0, 1, 1, 0, null],
    // Tall and narrow: the threads split rows rather than columns.
    [300, 20, 100, 1, 0, 1, 0, null],
  ];
  for (const [M, N, K, ta, tb, alpha, beta, cd] of gemmShapes) {
    const a = U(ta ? [K, M] : [M, K]), b = U(tb ? [N, K] : [K, N]);
    const c = cd ? U(cd) : undefined;
    const y = oracle('Gemm', [a, b, c], { transA: A.int(ta), transB: A.int(tb), alpha: A.float(alpha), beta: A.float(beta) })[0];
    // C's strides once broadcast to [M, N].
    let cs0 = 0, cs1 = 0;
    if (cd) {
      const full = [...new Array(2 - cd.length).fill(1), ...cd];
      cs0 = full[0] === 1 ? 0 : full[1];
      cs1 = full[1] === 1 ? 0 : 1;
    }
    out.push({
      name: `Gemm ${M}x${N}x${K} tA${ta} tB${tb}`, ws,
      inputs: { a: f32(a), b: f32(b), ...(c ? { c: f32(c) } : {}) },
      outputs: { y: { expect: f32(y) } },
      code: `pe_gemm_op(${ta}, ${tb}, ${M}, ${N}, ${K}, ${cf(alpha)}, ${cf(beta)}, a, b, ${c ? 'c' : 'NULL'}, ${cs0}, ${cs1}, y, ws);`,
    });
  }
  // MatMul: A [2, 1, 5, 7] × B [3, 7, 4] -> [2, 3, 5, 4]; batch strides 0 where broadcast.
  {
    const a = U([2, 1, 5, 7]), b = U([3, 7, 4]);
    const y = oracle('MatMul', [a, b])[0];
    out.push({
      name: 'MatMul broadcast batch', ws,
      inputs: { a: f32(a), b: f32(b) }, outputs: { y: { expect: f32(y) } },
      code: 'static const int dims[2] = {2, 3}; static const ptrdiff_t as[2] = {35, 0}, bs[2] = {0, 28};\n    pe_matmul(2, dims, as, bs, 5, 4, 7, 0, 0, a, b, y, ws);',
    });
  }
  // MatMulT (the MatMul gradient): Aᵀ·B and A·Bᵀ with batch dims.
  for (const [ta, tb] of [[1, 0], [0, 1], [1, 1]]) {
    const M = 9, N = 11, K = 18;
    const a = U(ta ? [3, K, M] : [3, M, K]), b = U(tb ? [N, K] : [K, N]);
    const y = oracle('MatMulT', [a, b], { transA: A.int(ta), transB: A.int(tb) }, { domain: 'pockengine' })[0];
    out.push({
      name: `MatMulT tA${ta} tB${tb}`, ws,
      inputs: { a: f32(a), b: f32(b) }, outputs: { y: { expect: f32(y) } },
      code: `static const int dims[1] = {3}; static const ptrdiff_t as[1] = {${M * K}}, bs[1] = {0};\n    pe_matmul(1, dims, as, bs, ${M}, ${N}, ${K}, ${ta}, ${tb}, a, b, y, ws);`,
    });
  }
  return out;
}
