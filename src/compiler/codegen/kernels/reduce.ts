// Reductions and broadcasts for the emitted C: ReduceSum/ReduceMean over any axes, ReduceToShape (the sum
// of a broadcast gradient back to an operand's shape, used for bias gradients and broadcasting backward),
// and strided copies: pe_copy_strided (dense output) serves ReduceGrad, Expand and Transpose (a transpose
// is a copy whose source strides are permuted); pe_copy_nd (strides on both sides, optional accumulate)
// serves Slice, SliceGrad, Concat, SplitLike, Pad and PadGrad by offsetting the pointers. Sums accumulate
// in double, as the reference runtime does.

import { broadcastPlan, stridesOf } from '../../runtime/kernels/util';
import type { CKernel } from './types';

/** Dims of x collapsed with the output's stride per dim (0 on reduced axes), for `pe_reduce_sum`. keptDims: x's dims with reduced axes set to 1 (same rank, or fewer leading dims). */
export function reduceArgs(xDims: number[], keptDims: number[]): { dims: number[]; ys: number[]; ny: number } {
  const plan = broadcastPlan(xDims, [keptDims]);
  return { dims: plan.dims, ys: plan.strides[0], ny: keptDims.reduce((p, d) => p * d, 1) };
}

/** Floats of workspace `pe_reduce_sum` needs (a double accumulator per output). */
export function reduceWorkspace(ny: number): number {
  return 2 * ny;
}

/** Dims and source strides for `pe_copy_strided` doing Transpose(perm) of x. */
export function transposeArgs(xDims: number[], perm: number[]): { dims: number[]; xs: number[] } {
  const st = stridesOf(xDims);
  return { dims: perm.map((p) => xDims[p]), xs: perm.map((p) => st[p]) };
}

/** Dims and source strides for `pe_copy_strided` broadcasting x (dims padded on the left) to outDims. */
export function broadcastArgs(xDims: number[], outDims: number[]): { dims: number[]; xs: number[] } {
  const plan = broadcastPlan(outDims, [xDims]);
  return { dims: plan.dims, xs: plan.strides[0] };
}

/** pe_copy_nd arguments for copying the box `starts + [0, dims)` of a tensor of `fullDims` to/from a dense one (Slice, Concat, Split, Pad). */
export function boxArgs(fullDims: number[], starts: number[], dims: number[]): { offset: number; strides: number[]; dense: number[] } {
  const st = stridesOf(fullDims);
  return { offset: starts.reduce((o, s, i) => o + s * st[i], 0), strides: st, dense: stridesOf(dims) };
}

export const reduce: CKernel = {
  name: 'reduce',
  deps: ['common'],
  source: String.raw`/* ---- reduce ---- */
/* y[o] = scale · Σ x[i] over x's (collapsed) dims, o = Σ idx_d · ys_d (0 on reduced axes); acc: ny doubles. */
void pe_reduce_sum(int rank, const int *dims, const ptrdiff_t *ys, const float *x, float *y, size_t ny, float scale, double *acc) {
  for (size_t o = 0; o < ny; o++) acc[o] = 0.0;
  const int inner = dims[rank - 1];
  const ptrdiff_t si = ys[rank - 1];
  long outer = 1;
  for (int d = 0; d < rank - 1; d++) outer *= dims[d];
  int idx[PE_MAX_RANK] = {0};
  ptrdiff_t yo = 0;
  for (long o = 0; o < outer; o++) {
    const float *xr = x + (size_t)o * inner;
    if (si == 0) {
      double s = 0.0;
      for (int i = 0; i < inner; i++) s += xr[i];
      acc[yo] += s;
    } else {
      for (int i = 0; i < inner; i++) acc[yo + i * si] += xr[i];
    }
    for (int d = rank - 2; d >= 0; d--) {
      yo += ys[d];
      if (++idx[d] < dims[d]) break;
      yo -= ys[d] * dims[d]; idx[d] = 0;
    }
  }
  for (size_t o = 0; o < ny; o++) y[o] = (float)(acc[o] * scale);
}

/* y[i] = scale · x[Σ idx_d · xs_d] over y's dims (Transpose, Expand, ReduceGrad's broadcast back). */
void pe_copy_strided(int rank, const int *dims, const ptrdiff_t *xs, const float *x, float *y, float scale) {
  const int inner = dims[rank - 1];
  const ptrdiff_t si = xs[rank - 1];
  long outer = 1;
  for (int d = 0; d < rank - 1; d++) outer *= dims[d];
  int idx[PE_MAX_RANK] = {0};
  ptrdiff_t xo = 0;
  for (long o = 0; o < outer; o++) {
    float *yr = y + (size_t)o * inner;
    for (int i = 0; i < inner; i++) yr[i] = scale * x[xo + i * si];
    for (int d = rank - 2; d >= 0; d--) {
      xo += xs[d];
      if (++idx[d] < dims[d]) break;
      xo -= xs[d] * dims[d]; idx[d] = 0;
    }
  }
}

/* y[Σ idx_d·ys_d] (+)= x[Σ idx_d·xs_d] over dims: both sides strided (a box of a larger tensor on either side). */
void pe_copy_nd(int rank, const int *dims, const ptrdiff_t *xs, const ptrdiff_t *ys, const float *x, float *y, int accumulate) {
  const int inner = dims[rank - 1];
  const ptrdiff_t sx = xs[rank - 1], sy = ys[rank - 1];
  long outer = 1;
  for (int d = 0; d < rank - 1; d++) outer *= dims[d];
  int idx[PE_MAX_RANK] = {0};
  ptrdiff_t xo = 0, yo = 0;
  for (long o = 0; o < outer; o++) {
    if (accumulate) for (int i = 0; i < inner; i++) y[yo + i * sy] += x[xo + i * sx];
    else if (sx == 1 && sy == 1) memcpy(y + yo, x + xo, sizeof(float) * (size_t)inner);
    else for (int i = 0; i < inner; i++) y[yo + i * sy] = x[xo + i * sx];
    for (int d = rank - 2; d >= 0; d--) {
      xo += xs[d]; yo += ys[d];
      if (++idx[d] < dims[d]) break;
      xo -= xs[d] * dims[d]; yo -= ys[d] * dims[d]; idx[d] = 0;
    }
  }
}
`,
};
