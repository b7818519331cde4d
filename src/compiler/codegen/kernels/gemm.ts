// Single-precision GEMM for the emitted C: the BLIS/GotoBLAS loop nest (NC columns of B, KC of K, MC rows
// of A), both operands packed into the workspace, and an MR×NR register-tile micro-kernel written with
// GCC/Clang vector extensions. The compiler turns those into NEON on aarch64, AVX2/AVX-512 under
// -march=native on x86, and scalar code where the target has no vector unit; plain loops were measured
// first and GCC 12 did not keep their accumulators in registers (under 1 GFLOP/s at n=1024 against 50+).
// Packing absorbs transposes and any strides, so one kernel serves Gemm, MatMul, and the convolutions.
// Threads (OpenMP) share the packed panels and split the micro-tiles of each MC×NC block.

import type { CKernel } from './types';

/** Blocking of the C GEMM; each thread's workspace holds one packed B block and one packed A block. */
export const GEMM_BLOCKS = { KC: 256, MC: 128, NC: 1024, MR_MAX: 16, NR_MAX: 64 } as const;

/** Threads a GEMM call uses at most (PE_MAX_THREADS in C): the workspace has one share per thread. */
export const GEMM_MAX_THREADS = 4;

/** Floats of workspace `pe_sgemm` needs for up to `threads` threads (independent of the shapes). */
export function gemmWorkspace(threads = GEMM_MAX_THREADS): number {
  const b = GEMM_BLOCKS;
  return threads * (b.KC * (b.NC + b.NR_MAX) + b.KC * (b.MC + b.MR_MAX));
}

export const gemm: CKernel = {
  name: 'gemm',
  deps: ['common'],
  source: String.raw`/* ---- gemm ---- */
#define PE_KC ${GEMM_BLOCKS.KC}
#define PE_MC ${GEMM_BLOCKS.MC}
#define PE_NC ${GEMM_BLOCKS.NC}
#ifndef PE_MAX_THREADS
#define PE_MAX_THREADS ${GEMM_MAX_THREADS}
#endif
/* Register tile: MR rows × NV vectors of VL floats, sized to the target's vector register file. */
#if defined(__AVX512F__)
#define PE_VL 16
#define PE_MR 8
#define PE_NV 2
#elif defined(__AVX__)
#define PE_VL 8
#define PE_MR 6
#define PE_NV 2
#elif defined(__aarch64__)
#define PE_VL 4
#define PE_MR 8
#define PE_NV 3
#elif defined(__ARM_NEON)
#define PE_VL 4
#define PE_MR 6
#define PE_NV 2
#elif defined(__SSE2__)
#define PE_VL 4
#define PE_MR 6
#define PE_NV 2
#else
#define PE_VL 4
#define PE_MR 4
#define PE_NV 1
#endif
#define PE_NR (PE_NV * PE_VL)
typedef float pe_vf __attribute__((vector_size(PE_VL * 4)));
typedef float pe_vfu __attribute__((vector_size(PE_VL * 4), aligned(4), may_alias));

/* Rows [0, mc) × k in [0, kc) of A (element (i, k) at a[i*rs + k*cs]) into MR-row panels, k-major, scaled
   by alpha; rows past mc are zero. Panels p = first, first + step, ... (one share per thread). */
static void pe_pack_a(int mc, int kc, const float *a, ptrdiff_t rs, ptrdiff_t cs, float alpha, float *restrict ap, int first, int step) {
  for (int p = first; p * PE_MR < mc; p += step) {
    float *dst = ap + (size_t)p * PE_MR * kc;
    int rows = PE_MIN(PE_MR, mc - p * PE_MR);
    const float *src = a + (ptrdiff_t)p * PE_MR * rs;
    if (rows == PE_MR && rs == 1) {
      for (int k = 0; k < kc; k++) for (int r = 0; r < PE_MR; r++) dst[k * PE_MR + r] = alpha * src[k * cs + r];
    } else {
      for (int k = 0; k < kc; k++) {
        int r = 0;
        for (; r < rows; r++) dst[k * PE_MR + r] = alpha * src[r * rs + k * cs];
        for (; r < PE_MR; r++) dst[k * PE_MR + r] = 0.0f;
      }
    }
  }
}

/* k in [0, kc) × columns [0, nc) of B (element (k, j) at b[k*rs + j*cs]) into NR-column panels, k-major. */
static void pe_pack_b(int nc, int kc, const float *b, ptrdiff_t rs, ptrdiff_t cs, float *restrict bp, int first, int step) {
  for (int p = first; p * PE_NR < nc; p += step) {
    float *dst = bp + (size_t)p * PE_NR * kc;
    int cols = PE_MIN(PE_NR, nc - p * PE_NR);
    const float *src = b + (ptrdiff_t)p * PE_NR * cs;
    if (cols == PE_NR && cs == 1) {
      for (int k = 0; k < kc; k++) for (int c = 0; c < PE_NR; c++) dst[k * PE_NR + c] = src[k * rs + c];
    } else {
      for (int k = 0; k < kc; k++) {
        int c = 0;
        for (; c < cols; c++) dst[k * PE_NR + c] = src[k * rs + c * cs];
        for (; c < PE_NR; c++) dst[k * PE_NR + c] = 0.0f;
      }
    }
  }
}

/* c[mr × nr] += packed A panel · packed B panel over kc. */
static inline void pe_ukernel(int kc, const float *restrict a, const float *restrict b, float *restrict c, ptrdiff_t ldc, int mr, int nr) {
  pe_vf acc[PE_MR][PE_NV];
  for (int i = 0; i < PE_MR; i++) for (int v = 0; v < PE_NV; v++) acc[i][v] = (pe_vf){0};
  for (int k = 0; k < kc; k++) {
    pe_vf bv[PE_NV];
    for (int v = 0; v < PE_NV; v++) bv[v] = *(const pe_vfu *)(b + k * PE_NR + v * PE_VL);
    for (int i = 0; i < PE_MR; i++) {
      const float av = a[k * PE_MR + i];
      for (int v = 0; v < PE_NV; v++) acc[i][v] += av * bv[v];
    }
  }
  if (mr == PE_MR && nr == PE_NR) {
    for (int i = 0; i < PE_MR; i++) for (int v = 0; v < PE_NV; v++) *(pe_vfu *)(c + i * ldc + v * PE_VL) += acc[i][v];
  } else {
    float t[PE_MR][PE_NR];
    for (int i = 0; i < PE_MR; i++) for (int v = 0; v < PE_NV; v++) *(pe_vfu *)(&t[i][v * PE_VL]) = acc[i][v];
    for (int i = 0; i < mr; i++) for (int j = 0; j < nr; j++) c[i * ldc + j] += t[i][j];
  }
}

/* One thread's GEMM: C[M×N] += A·B (alpha folded into the packed A), ws: one packed B and one packed A block. */
static void pe_sgemm_serial(int M, int N, int K, float alpha, const float *a, ptrdiff_t ars, ptrdiff_t acs,
                            const float *b, ptrdiff_t brs, ptrdiff_t bcs, float *c, ptrdiff_t ldc, float *ws) {
  float *bp = ws, *ap = ws + (size_t)PE_KC * (PE_NC + ${GEMM_BLOCKS.NR_MAX});
  for (int jc = 0; jc < N; jc += PE_NC) {
    const int nc = PE_MIN(PE_NC, N - jc), np = (nc + PE_NR - 1) / PE_NR;
    for (int pc = 0; pc < K; pc += PE_KC) {
      const int kc = PE_MIN(PE_KC, K - pc);
      pe_pack_b(nc, kc, b + (ptrdiff_t)pc * brs + (ptrdiff_t)jc * bcs, brs, bcs, bp, 0, 1);
      for (int ic = 0; ic < M; ic += PE_MC) {
        const int mc = PE_MIN(PE_MC, M - ic), mp = (mc + PE_MR - 1) / PE_MR;
        pe_pack_a(mc, kc, a + (ptrdiff_t)ic * ars + (ptrdiff_t)pc * acs, ars, acs, alpha, ap, 0, 1);
        /* Column panels outermost: the B micro-panel stays in L1 across the A panels. */
        for (int jr = 0; jr < np; jr++) for (int ir = 0; ir < mp; ir++) {
          pe_ukernel(kc, ap + (size_t)ir * PE_MR * kc, bp + (size_t)jr * PE_NR * kc,
                     c + (ptrdiff_t)(ic + ir * PE_MR) * ldc + jc + jr * PE_NR, ldc,
                     PE_MIN(PE_MR, mc - ir * PE_MR), PE_MIN(PE_NR, nc - jr * PE_NR));
        }
      }
    }
  }
}

/* C[M×N] (row stride ldc) = alpha·A·B + beta·C with A(i, k) at a[i*ars + k*acs] and B(k, j) at b[k*brs + j*bcs]:
   any transpose is a choice of strides. ws: gemmWorkspace(threads) floats.
   Threads take disjoint slabs of C (columns when N is wide enough, else rows), each with its own packing
   buffers: no barrier inside a call, which keeps the kernel fast when the machine is oversubscribed
   (a shared-panel design measured 2–50x slower here under load because every barrier waits for a
   descheduled thread). */
static void pe_sgemm_strided(int M, int N, int K, float alpha, const float *a, ptrdiff_t ars, ptrdiff_t acs,
                             const float *b, ptrdiff_t brs, ptrdiff_t bcs, float beta, float *c, ptrdiff_t ldc, float *ws) {
  if (M <= 0 || N <= 0) return;
  if (beta != 1.0f) {
    for (int i = 0; i < M; i++) {
      float *r = c + (ptrdiff_t)i * ldc;
      if (beta == 0.0f) memset(r, 0, sizeof(float) * (size_t)N);
      else for (int j = 0; j < N; j++) r[j] *= beta;
    }
  }
  if (K <= 0 || alpha == 0.0f) return;
  int T = 1;
#ifdef _OPENMP
  if (!omp_in_parallel()) T = PE_MIN(omp_get_max_threads(), PE_MAX_THREADS);
#endif
  const double work = (double)M * N * K;
  while (T > 1 && work / T < 8.0 * PE_PAR_WORK) T--;
  const int byCols = (N + PE_NR - 1) / PE_NR >= T * 2 || N >= M;
  const size_t per = (size_t)PE_KC * (PE_NC + ${GEMM_BLOCKS.NR_MAX}) + (size_t)PE_KC * (PE_MC + ${GEMM_BLOCKS.MR_MAX});
  #pragma omp parallel num_threads(T) if (T > 1)
  {
    const int t = PE_THREAD_ID(), nt = PE_NUM_THREADS();
    if (byCols) {
      const int panels = (N + PE_NR - 1) / PE_NR;
      const int j0 = (int)((long)panels * t / nt) * PE_NR, j1 = PE_MIN(N, (int)((long)panels * (t + 1) / nt) * PE_NR);
      if (j1 > j0) pe_sgemm_serial(M, j1 - j0, K, alpha, a, ars, acs, b + (ptrdiff_t)j0 * bcs, brs, bcs, c + j0, ldc, ws + per * t);
    } else {
      const int panels = (M + PE_MR - 1) / PE_MR;
      const int i0 = (int)((long)panels * t / nt) * PE_MR, i1 = PE_MIN(M, (int)((long)panels * (t + 1) / nt) * PE_MR);
      if (i1 > i0) pe_sgemm_serial(i1 - i0, N, K, alpha, a + (ptrdiff_t)i0 * ars, ars, acs, b, brs, bcs, c + (ptrdiff_t)i0 * ldc, ldc, ws + per * t);
    }
  }
}

/* Row-major BLAS-style entry: C = alpha·op(A)·op(B) + beta·C, op(A) M×K, op(B) K×N. */
void pe_sgemm(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
              const float *B, int ldb, float beta, float *C, int ldc, float *ws) {
  pe_sgemm_strided(M, N, K, alpha, A, transA ? 1 : lda, transA ? lda : 1, B, transB ? 1 : ldb, transB ? ldb : 1, beta, C, ldc, ws);
}

/* Batched matmul with broadcast batch dims (MatMul, MatMulT): batch index b in dims[0..rank) selects A at
   sum(idx·astr), B at sum(idx·bstr) (stride 0 where broadcast); C batches are dense M×N. */
void pe_matmul(int rank, const int *dims, const ptrdiff_t *astr, const ptrdiff_t *bstr, int M, int N, int K,
               int transA, int transB, const float *A, const float *B, float *C, float *ws) {
  int idx[PE_MAX_RANK] = {0};
  long count = 1;
  for (int d = 0; d < rank; d++) count *= dims[d];
  ptrdiff_t ao = 0, bo = 0;
  for (long t = 0; t < count; t++) {
    pe_sgemm(transA, transB, M, N, K, 1.0f, A + ao, transA ? M : K, B + bo, transB ? K : N, 0.0f, C + (size_t)t * M * N, N, ws);
    for (int d = rank - 1; d >= 0; d--) {
      ao += astr[d]; bo += bstr[d];
      if (++idx[d] < dims[d]) break;
      ao -= astr[d] * dims[d]; bo -= bstr[d] * dims[d]; idx[d] = 0;
    }
  }
}

/* ONNX Gemm: Y = alpha·op(A)·op(B) + beta·C, C broadcast to M×N through strides (cs0, cs1), or absent. */
void pe_gemm_op(int transA, int transB, int M, int N, int K, float alpha, float beta, const float *A, const float *B,
                const float *Cin, ptrdiff_t cs0, ptrdiff_t cs1, float *Y, float *ws) {
  if (Cin && beta != 0.0f) {
    for (int i = 0; i < M; i++) for (int j = 0; j < N; j++) Y[(size_t)i * N + j] = beta * Cin[i * cs0 + j * cs1];
  }
  pe_sgemm(transA, transB, M, N, K, alpha, A, transA ? M : K, B, transB ? K : N, (Cin && beta != 0.0f) ? 1.0f : 0.0f, Y, N, ws);
}
`,
};
