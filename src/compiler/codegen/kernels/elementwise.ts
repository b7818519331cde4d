// Pointwise kernels for the emitted C: binary arithmetic with numpy broadcasting (the code generator
// precomputes collapsed dims and per-operand strides, 0 where broadcast: binaryArgs below), unary
// activations, and the activations' backward forms dx = dy·f'(saved), where `saved` is the forward
// output (Relu, Sigmoid, Tanh) or input (the rest), as the training graph's gradient operators define.
// Also Sum of same-shape tensors (gradient accumulation; broadcasting Sums fold through pe_binary Add),
// Where, Dropout (training mode: a counter-based mask), DropoutGrad and Cast; the bit-packed ReLU/Clip masks (pack after the forward producer, and the
// gradient read from the bits).

import { broadcastDims, broadcastPlan } from '../../runtime/kernels/util';
import type { CKernel } from './types';

export const BINARY_OPS = { Add: 0, Sub: 1, Mul: 2, Div: 3, Pow: 4 } as const;

/** pe_unary op codes; p0/p1 are the op's parameters (alpha/beta, min/max). */
export const UNARY_OPS = {
  Relu: 0, Neg: 1, Sigmoid: 2, Tanh: 3, Exp: 4, Sqrt: 5, Erf: 6, Gelu: 7, GeluTanh: 8, HardSwish: 9,
  HardSigmoid: 10, Clip: 11, Log: 12, Abs: 13, LeakyRelu: 14, Reciprocal: 15, Softplus: 16, Identity: 17,
  Cos: 18, Sin: 19,
} as const;

/** pe_unary_grad op codes (the 'pockengine' gradient operators). */
export const UNARY_GRAD_OPS = {
  ReluGrad: 0, SigmoidGrad: 1, TanhGrad: 2, HardSigmoidGrad: 3, HardSwishGrad: 4, GeluGrad: 5, GeluTanhGrad: 6,
  ErfGrad: 7, LeakyReluGrad: 8, SoftplusGrad: 9, ClipGrad: 10,
} as const;

/** Collapsed iteration dims and per-operand strides for `pe_binary` (out = broadcast of a and b). */
/** Codes of `pe_cast` element types. */
export const CAST_TYPES = { float32: 0, int64: 1, int32: 2, bool: 3, uint8: 3 } as const;

/** Collapsed dims and strides of cond, x and y for `pe_where` (out = broadcast of the three). */
export function whereArgs(cDims: number[], xDims: number[], yDims: number[]): { outDims: number[]; dims: number[]; cs: number[]; xs: number[]; ys: number[] } {
  const outDims = broadcastDims(cDims, xDims, yDims);
  const plan = broadcastPlan(outDims, [cDims, xDims, yDims]);
  return { outDims, dims: plan.dims, cs: plan.strides[0], xs: plan.strides[1], ys: plan.strides[2] };
}

export function binaryArgs(aDims: number[], bDims: number[]): { outDims: number[]; dims: number[]; as: number[]; bs: number[] } {
  const outDims = broadcastDims(aDims, bDims);
  const plan = broadcastPlan(outDims, [aDims, bDims]);
  return { outDims, dims: plan.dims, as: plan.strides[0], bs: plan.strides[1] };
}

export const elementwise: CKernel = {
  name: 'elementwise',
  deps: ['common'],
  source: String.raw`/* ---- elementwise ---- */
/* One run of n outputs: y[i] = a[ia] op b[ib], ia += sa, ib += sb. Same-stride cases vectorise. */
static void pe_binary_run(int op, size_t n, const float *a, ptrdiff_t sa, const float *b, ptrdiff_t sb, float *restrict y) {
#define PE_BIN_LOOP(EXPR) \
  if (sa == 1 && sb == 1) { for (size_t i = 0; i < n; i++) { const float x0 = a[i], x1 = b[i]; y[i] = (EXPR); } } \
  else if (sa == 1 && sb == 0) { const float x1 = b[0]; for (size_t i = 0; i < n; i++) { const float x0 = a[i]; y[i] = (EXPR); } } \
  else if (sa == 0 && sb == 1) { const float x0 = a[0]; for (size_t i = 0; i < n; i++) { const float x1 = b[i]; y[i] = (EXPR); } } \
  else { for (size_t i = 0; i < n; i++) { const float x0 = a[(ptrdiff_t)i * sa], x1 = b[(ptrdiff_t)i * sb]; y[i] = (EXPR); } }
  switch (op) {
    case 0: PE_BIN_LOOP(x0 + x1) break;
    case 1: PE_BIN_LOOP(x0 - x1) break;
    case 2: PE_BIN_LOOP(x0 * x1) break;
    case 3: PE_BIN_LOOP(x0 / x1) break;
    default: PE_BIN_LOOP((float)pow((double)x0, (double)x1)) break;
  }
#undef PE_BIN_LOOP
}

/* y = a op b over dims[0..rank) (collapsed; the last dim is the contiguous run), operand strides as/bs. */
void pe_binary(int op, int rank, const int *dims, const ptrdiff_t *as, const ptrdiff_t *bs, const float *a, const float *b, float *y) {
  const int inner = dims[rank - 1];
  long outer = 1;
  for (int d = 0; d < rank - 1; d++) outer *= dims[d];
  int idx[PE_MAX_RANK] = {0};
  ptrdiff_t ao = 0, bo = 0;
  for (long o = 0; o < outer; o++) {
    pe_binary_run(op, (size_t)inner, a + ao, as[rank - 1], b + bo, bs[rank - 1], y + (size_t)o * inner);
    for (int d = rank - 2; d >= 0; d--) {
      ao += as[d]; bo += bs[d];
      if (++idx[d] < dims[d]) break;
      ao -= as[d] * dims[d]; bo -= bs[d] * dims[d]; idx[d] = 0;
    }
  }
}

static inline float pe_sigmoid(float x) { return x >= 0.0f ? 1.0f / (1.0f + expf(-x)) : expf(x) / (1.0f + expf(x)); }

/* y = f(x) elementwise (y may be x). */
void pe_unary(int op, size_t n, const float *x, float *y, float p0, float p1) {
  switch (op) {
    case 0: for (size_t i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f; break;
    case 1: for (size_t i = 0; i < n; i++) y[i] = -x[i]; break;
    case 2: for (size_t i = 0; i < n; i++) y[i] = pe_sigmoid(x[i]); break;
    case 3: for (size_t i = 0; i < n; i++) y[i] = tanhf(x[i]); break;
    case 4: for (size_t i = 0; i < n; i++) y[i] = expf(x[i]); break;
    case 5: for (size_t i = 0; i < n; i++) y[i] = sqrtf(x[i]); break;
    case 6: for (size_t i = 0; i < n; i++) y[i] = erff(x[i]); break;
    case 7: for (size_t i = 0; i < n; i++) y[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678118654752f)); break;
    case 8: for (size_t i = 0; i < n; i++) { const float v = x[i]; y[i] = 0.5f * v * (1.0f + tanhf(0.79788456080286536f * (v + 0.044715f * v * v * v))); } break;
    case 9: for (size_t i = 0; i < n; i++) { const float v = x[i]; y[i] = v * PE_MAX(0.0f, PE_MIN(1.0f, v / 6.0f + 0.5f)); } break;
    case 10: for (size_t i = 0; i < n; i++) y[i] = PE_MAX(0.0f, PE_MIN(1.0f, p0 * x[i] + p1)); break;
    case 11: for (size_t i = 0; i < n; i++) y[i] = PE_MIN(PE_MAX(x[i], p0), p1); break;
    case 12: for (size_t i = 0; i < n; i++) y[i] = logf(x[i]); break;
    case 13: for (size_t i = 0; i < n; i++) y[i] = fabsf(x[i]); break;
    case 14: for (size_t i = 0; i < n; i++) y[i] = x[i] >= 0.0f ? x[i] : p0 * x[i]; break;
    case 15: for (size_t i = 0; i < n; i++) y[i] = 1.0f / x[i]; break;
    case 16: for (size_t i = 0; i < n; i++) y[i] = x[i] > 20.0f ? x[i] : log1pf(expf(x[i])); break;
    case 18: for (size_t i = 0; i < n; i++) y[i] = cosf(x[i]); break;
    case 19: for (size_t i = 0; i < n; i++) y[i] = sinf(x[i]); break;
    default: if (y != x) memmove(y, x, n * sizeof(float)); break;
  }
}

/* y = Σ_k xs[k] over n elements (k >= 1 inputs of the same shape; y may alias xs[0]). */
void pe_sum_n(size_t n, int k, const float *const *xs, float *y) {
  if (y != xs[0]) memcpy(y, xs[0], n * sizeof(float));
  for (int j = 1; j < k; j++) { const float *x = xs[j]; for (size_t i = 0; i < n; i++) y[i] += x[i]; }
}

/* out = cond ? x : y over dims (collapsed), with per-operand strides (0 where broadcast); cond is bool bytes. */
void pe_where(int rank, const int *dims, const ptrdiff_t *cs, const ptrdiff_t *xs, const ptrdiff_t *ys, const uint8_t *c, const float *x, const float *y, float *out) {
  const int inner = dims[rank - 1];
  long outer = 1;
  for (int d = 0; d < rank - 1; d++) outer *= dims[d];
  int idx[PE_MAX_RANK] = {0};
  ptrdiff_t co = 0, xo = 0, yo = 0;
  for (long o = 0; o < outer; o++) {
    float *r = out + (size_t)o * inner;
    for (int i = 0; i < inner; i++) r[i] = c[co + i * cs[rank - 1]] ? x[xo + i * xs[rank - 1]] : y[yo + i * ys[rank - 1]];
    for (int d = rank - 2; d >= 0; d--) {
      co += cs[d]; xo += xs[d]; yo += ys[d];
      if (++idx[d] < dims[d]) break;
      co -= cs[d] * dims[d]; xo -= xs[d] * dims[d]; yo -= ys[d] * dims[d]; idx[d] = 0;
    }
  }
}

/* Dropout in training mode from a counter-based generator (splitmix64 of key, call counter and element
   index): element i is kept when its 24-bit uniform u satisfies u >= ratio, as the reference runtime's
   rand() >= ratio, and scaled by 1/(1 − ratio). A new counter each step draws a new mask; the mask bytes
   are kept for DropoutGrad (mask may be NULL when nothing reads it). */
static inline uint64_t pe_mix64(uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
void pe_dropout(size_t n, const float *x, float ratio, uint64_t key, uint64_t counter, uint8_t *mask, float *y) {
  const double scale = 1.0 / (1.0 - (double)ratio);
  const uint64_t base = pe_mix64(key ^ pe_mix64(counter));
  for (size_t i = 0; i < n; i++) {
    const float u = (float)(pe_mix64(base + i) >> 40) * 0x1p-24f;
    const int keep = u >= ratio;
    if (mask) mask[i] = (uint8_t)keep;
    y[i] = keep ? (float)((double)x[i] * scale) : 0.0f;
  }
}

/* DropoutGrad: dx = dy · mask · scale (scale = 1/(1 − ratio) in training mode, 1 otherwise; mask NULL = all ones). */
void pe_dropout_grad(size_t n, const float *dy, const uint8_t *mask, double scale, float *dx) {
  for (size_t i = 0; i < n; i++) dx[i] = mask && !mask[i] ? 0.0f : (float)((double)dy[i] * scale);
}

/* Cast between float32 (0), int64 (1), int32 (2) and bool/uint8 (3); float to integer truncates, to bool tests != 0. */
void pe_cast(size_t n, int from, const void *src, int to, void *dst) {
  for (size_t i = 0; i < n; i++) {
    double v;
    switch (from) {
      case 0: v = ((const float *)src)[i]; break;
      case 1: v = (double)((const int64_t *)src)[i]; break;
      case 2: v = ((const int32_t *)src)[i]; break;
      default: v = ((const uint8_t *)src)[i]; break;
    }
    switch (to) {
      case 0: ((float *)dst)[i] = (float)v; break;
      case 1: ((int64_t *)dst)[i] = (int64_t)v; break;
      case 2: ((int32_t *)dst)[i] = (int32_t)v; break;
      default: ((uint8_t *)dst)[i] = v != 0.0; break;
    }
  }
}

/* A saved value kept as one bit per element for its gradient operator: bit (i & 7) of byte (i >> 3) is 1
   exactly where that operator passes dy through. op 0 (ReluGrad, x the forward output): x > 0;
   op 1 (ClipGrad, x the forward input): lo <= x <= hi. A NaN never passes, as in the reference runtime. */
void pe_mask_pack(int op, size_t n, const float *x, float lo, float hi, uint8_t *bits) {
  const size_t full = n / 8;
  #pragma omp parallel for schedule(static) if (n > PE_PAR_WORK)
  for (size_t b = 0; b < full; b++) {
    const float *xs = x + b * 8;
    unsigned v = 0;
    /* & rather than &&: no branch per element (a ReLU6 mask's bounds test mispredicts half the time). */
    if (op == 0) for (int j = 0; j < 8; j++) v |= (unsigned)(xs[j] > 0.0f) << j;
    else for (int j = 0; j < 8; j++) v |= (unsigned)((xs[j] >= lo) & (xs[j] <= hi)) << j;
    bits[b] = (uint8_t)v;
  }
  if (n % 8) {
    unsigned v = 0;
    for (size_t i = full * 8; i < n; i++) v |= (unsigned)(op == 0 ? x[i] > 0.0f : (x[i] >= lo && x[i] <= hi)) << (i & 7);
    bits[full] = (uint8_t)v;
  }
}

/* ReluGrad / ClipGrad from the packed mask: dx = dy where the bit is set, 0 elsewhere (dx may be dy). */
void pe_unary_grad_bits(size_t n, const float *dy, const uint8_t *bits, float *dx) {
  /* A byte at a time, the bit widened to an all-ones/zero word and ANDed with dy's bits: vectorizes, no branch. */
  const size_t full = n / 8;
  #pragma omp parallel for schedule(static) if (n > PE_PAR_WORK)
  for (size_t b = 0; b < full; b++) {
    const unsigned m = bits[b];
    const float *d = dy + b * 8;
    float *o = dx + b * 8;
    for (int j = 0; j < 8; j++) {
      uint32_t u;
      memcpy(&u, d + j, 4);
      u &= 0u - ((m >> j) & 1u);
      memcpy(o + j, &u, 4);
    }
  }
  for (size_t i = full * 8; i < n; i++) dx[i] = (bits[i >> 3] >> (i & 7)) & 1u ? dy[i] : 0.0f;
}

/* dx = dy · f'(s): s is the forward output for Relu/Sigmoid/Tanh, the forward input otherwise. */
void pe_unary_grad(int op, size_t n, const float *dy, const float *s, float *dx, float p0, float p1) {
  switch (op) {
    case 0: for (size_t i = 0; i < n; i++) dx[i] = s[i] > 0.0f ? dy[i] : 0.0f; break;
    case 1: for (size_t i = 0; i < n; i++) dx[i] = dy[i] * s[i] * (1.0f - s[i]); break;
    case 2: for (size_t i = 0; i < n; i++) dx[i] = dy[i] * (1.0f - s[i] * s[i]); break;
    case 3: for (size_t i = 0; i < n; i++) { const float t = p0 * s[i] + p1; dx[i] = t > 0.0f && t < 1.0f ? dy[i] * p0 : 0.0f; } break;
    case 4: for (size_t i = 0; i < n; i++) { const float v = s[i]; dx[i] = dy[i] * (v < -3.0f ? 0.0f : v > 3.0f ? 1.0f : v / 3.0f + 0.5f); } break;
    case 5: for (size_t i = 0; i < n; i++) { const float v = s[i]; dx[i] = dy[i] * (0.5f * (1.0f + erff(v * 0.70710678118654752f)) + v * expf(-0.5f * v * v) * 0.39894228040143268f); } break;
    case 6: for (size_t i = 0; i < n; i++) {
      const float v = s[i], k = 0.79788456080286536f, u = k * (v + 0.044715f * v * v * v), t = tanhf(u);
      dx[i] = dy[i] * (0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * k * (1.0f + 3.0f * 0.044715f * v * v));
    } break;
    case 7: for (size_t i = 0; i < n; i++) dx[i] = dy[i] * 1.12837916709551257f * expf(-s[i] * s[i]); break;
    case 8: for (size_t i = 0; i < n; i++) dx[i] = s[i] > 0.0f ? dy[i] : dy[i] * p0; break;
    case 9: for (size_t i = 0; i < n; i++) dx[i] = dy[i] / (1.0f + expf(-s[i])); break;
    default: for (size_t i = 0; i < n; i++) dx[i] = s[i] >= p0 && s[i] <= p1 ? dy[i] : 0.0f; break;
  }
}
`,
};
