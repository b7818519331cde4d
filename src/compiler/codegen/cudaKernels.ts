// The CUDA device kernels step_cuda.cu launches: one thread per output element (or per row / channel where
// the C kernel reduces in double), no shared memory, no block synchronisation and no atomics, so that every
// thread's result depends only on its inputs. That is what lets the host shim (cudaHostShim.ts) run the
// very same source serially, thread by thread, and the exported binary be checked here without a GPU.
// Each kernel reproduces the arithmetic of its C counterpart in kernels/*.ts (same accumulator types and
// summation order where the C kernel fixes one), so both builds of step.c agree to float rounding.

import { UNARY_GRAD_OPS, UNARY_OPS } from './kernels/elementwise';

const U = UNARY_OPS, G = UNARY_GRAD_OPS;

/** Bytes of the largest pe_nd_t / pe_reduce_t the launchers pass (kernel parameters stay far below 4 KiB). */
export const CUDA_MAX_RANK = 8;

export const CUDA_KERNELS = String.raw`/* ---- device kernels ---- */
#define PE_MAX_RANK ${CUDA_MAX_RANK}
#define PE_MIN(a, b) ((a) < (b) ? (a) : (b))
#define PE_MAX(a, b) ((a) < (b) ? (b) : (a))
#define PE_TID() (blockIdx.x * (size_t)blockDim.x + threadIdx.x)

/* An element index i of a dense tensor of dims decomposed row-major; operand j sits at sum(idx_d * st[j][d]). */
typedef struct { int rank; int dims[PE_MAX_RANK]; long long st[3][PE_MAX_RANK]; } pe_nd_t;
__device__ static inline void pe_d_offsets(const pe_nd_t *s, size_t i, int k, long long *off) {
  for (int j = 0; j < k; j++) off[j] = 0;
  for (int d = s->rank - 1; d >= 0; d--) {
    const size_t q = (size_t)s->dims[d];
    const long long id = (long long)(i % q);
    i /= q;
    for (int j = 0; j < k; j++) off[j] += id * s->st[j][d];
  }
}
/* A scalar read on the device (the host must not touch managed memory while kernels run): 0 float, 1 int64, 2 int32, 3 uint8. */
__device__ static inline double pe_d_scalar(const void *p, int type) {
  switch (type) {
    case 0: return ((const float *)p)[0];
    case 1: return (double)((const int64_t *)p)[0];
    case 2: return ((const int32_t *)p)[0];
    default: return ((const uint8_t *)p)[0];
  }
}

/* ---- copies (Transpose, Expand, ReduceGrad; Slice, SliceGrad, Concat, SplitLike) ---- */
__global__ void pe_k_copy_strided(size_t n, pe_nd_t s, const float *x, float *y, float scale) {
  const size_t i = PE_TID(); if (i >= n) return;
  long long off[1]; pe_d_offsets(&s, i, 1, off);
  y[i] = scale * x[off[0]];
}
__global__ void pe_k_copy_nd(size_t n, pe_nd_t s, const float *x, float *y, int accumulate) {
  const size_t i = PE_TID(); if (i >= n) return;
  long long off[2]; pe_d_offsets(&s, i, 2, off);
  if (accumulate) y[off[1]] += x[off[0]]; else y[off[1]] = x[off[0]];
}

/* ---- pointwise ---- */
__global__ void pe_k_binary(int op, size_t n, pe_nd_t s, const float *a, const float *b, float *y) {
  const size_t i = PE_TID(); if (i >= n) return;
  long long off[2]; pe_d_offsets(&s, i, 2, off);
  const float x0 = a[off[0]], x1 = b[off[1]];
  y[i] = op == 0 ? x0 + x1 : op == 1 ? x0 - x1 : op == 2 ? x0 * x1 : op == 3 ? x0 / x1 : (float)pow((double)x0, (double)x1);
}
/* Integer scalars (shape arithmetic): type 1 int64, 2 int32. */
__global__ void pe_k_int_binary(int op, int type, const void *a, const void *b, void *y) {
  if (PE_TID() != 0) return;
  const long long u = type == 1 ? ((const int64_t *)a)[0] : ((const int32_t *)a)[0], v = type == 1 ? ((const int64_t *)b)[0] : ((const int32_t *)b)[0];
  const long long r = op == 0 ? u + v : op == 1 ? u - v : op == 2 ? u * v : u / v;
  if (type == 1) ((int64_t *)y)[0] = r; else ((int32_t *)y)[0] = (int32_t)r;
}
__device__ static inline float pe_d_sigmoid(float x) { return x >= 0.0f ? 1.0f / (1.0f + expf(-x)) : expf(x) / (1.0f + expf(x)); }
__device__ static float pe_d_unary(int op, float x, float p0, float p1) {
  switch (op) {
    case ${U.Relu}: return x > 0.0f ? x : 0.0f;
    case ${U.Neg}: return -x;
    case ${U.Sigmoid}: return pe_d_sigmoid(x);
    case ${U.Tanh}: return tanhf(x);
    case ${U.Exp}: return expf(x);
    case ${U.Sqrt}: return sqrtf(x);
    case ${U.Erf}: return erff(x);
    case ${U.Gelu}: return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
    case ${U.GeluTanh}: return 0.5f * x * (1.0f + tanhf(0.79788456080286536f * (x + 0.044715f * x * x * x)));
    case ${U.HardSwish}: return x * PE_MAX(0.0f, PE_MIN(1.0f, x / 6.0f + 0.5f));
    case ${U.HardSigmoid}: return PE_MAX(0.0f, PE_MIN(1.0f, p0 * x + p1));
    case ${U.Clip}: return PE_MIN(PE_MAX(x, p0), p1);
    case ${U.Log}: return logf(x);
    case ${U.Abs}: return fabsf(x);
    case ${U.LeakyRelu}: return x >= 0.0f ? x : p0 * x;
    case ${U.Reciprocal}: return 1.0f / x;
    case ${U.Softplus}: return x > 20.0f ? x : log1pf(expf(x));
    case ${U.Cos}: return cosf(x);
    case ${U.Sin}: return sinf(x);
    default: return x;
  }
}
__global__ void pe_k_unary(int op, size_t n, const float *x, float *y, float p0, float p1) {
  const size_t i = PE_TID(); if (i < n) y[i] = pe_d_unary(op, x[i], p0, p1);
}
/* dx = dy * f'(s): s is the forward output for Relu/Sigmoid/Tanh, the forward input otherwise. */
__device__ static float pe_d_unary_grad(int op, float dy, float s, float p0, float p1) {
  switch (op) {
    case ${G.ReluGrad}: return s > 0.0f ? dy : 0.0f;
    case ${G.SigmoidGrad}: return dy * s * (1.0f - s);
    case ${G.TanhGrad}: return dy * (1.0f - s * s);
    case ${G.HardSigmoidGrad}: { const float t = p0 * s + p1; return t > 0.0f && t < 1.0f ? dy * p0 : 0.0f; }
    case ${G.HardSwishGrad}: return dy * (s < -3.0f ? 0.0f : s > 3.0f ? 1.0f : s / 3.0f + 0.5f);
    case ${G.GeluGrad}: return dy * (0.5f * (1.0f + erff(s * 0.70710678118654752f)) + s * expf(-0.5f * s * s) * 0.39894228040143268f);
    case ${G.GeluTanhGrad}: {
      const float k = 0.79788456080286536f, u = k * (s + 0.044715f * s * s * s), t = tanhf(u);
      return dy * (0.5f * (1.0f + t) + 0.5f * s * (1.0f - t * t) * k * (1.0f + 3.0f * 0.044715f * s * s));
    }
    case ${G.ErfGrad}: return dy * 1.12837916709551257f * expf(-s * s);
    case ${G.LeakyReluGrad}: return s > 0.0f ? dy : dy * p0;
    case ${G.SoftplusGrad}: return dy / (1.0f + expf(-s));
    default: return s >= p0 && s <= p1 ? dy : 0.0f;
  }
}
__global__ void pe_k_unary_grad(int op, size_t n, const float *dy, const float *s, float *dx, float p0, float p1) {
  const size_t i = PE_TID(); if (i < n) dx[i] = pe_d_unary_grad(op, dy[i], s[i], p0, p1);
}
/* Bit-packed masks: element i at bit (i & 7) of byte (i >> 3); one thread writes one whole byte.
   mode 0: v > 0 (ReluGrad's rule on the Relu output); mode 1: lo <= v <= hi (ClipGrad's rule on the Clip input). */
__global__ void pe_k_mask_pack(size_t nbytes, size_t n, const float *v, int mode, float lo, float hi, uint8_t *mask) {
  const size_t j = PE_TID(); if (j >= nbytes) return;
  unsigned bits = 0;
  for (size_t i = j * 8, b = 0; i < n && b < 8; i++, b++) {
    const float x = v[i];
    if (mode == 0 ? x > 0.0f : (x >= lo && x <= hi)) bits |= 1u << b;
  }
  mask[j] = (uint8_t)bits;
}
__global__ void pe_k_mask_grad(size_t n, const float *dy, const uint8_t *mask, float *dx) {
  const size_t i = PE_TID(); if (i < n) dx[i] = (mask[i >> 3] >> (i & 7)) & 1 ? dy[i] : 0.0f;
}
#define PE_SUM_MAX 16
typedef struct { const float *p[PE_SUM_MAX]; } pe_ptrs_t;
/* y = xs[0] + xs[1] + ... in that order (as the C kernel adds them one by one onto the first). */
__global__ void pe_k_sum(size_t n, int k, pe_ptrs_t xs, float *y) {
  const size_t i = PE_TID(); if (i >= n) return;
  float acc = xs.p[0][i];
  for (int j = 1; j < k; j++) acc += xs.p[j][i];
  y[i] = acc;
}
__global__ void pe_k_where(size_t n, pe_nd_t s, const uint8_t *c, const float *x, const float *y, float *out) {
  const size_t i = PE_TID(); if (i >= n) return;
  long long off[3]; pe_d_offsets(&s, i, 3, off);
  out[i] = c[off[0]] ? x[off[1]] : y[off[2]];
}
__global__ void pe_k_dropout_grad(size_t n, const float *dy, const uint8_t *mask, float scale, float *dx) {
  const size_t i = PE_TID(); if (i < n) dx[i] = mask && !mask[i] ? 0.0f : dy[i] * scale;
}
__global__ void pe_k_cast(size_t n, int from, const void *src, int to, void *dst) {
  const size_t i = PE_TID(); if (i >= n) return;
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

/* ---- GEMM, batched MatMul ---- */
/* Y = alpha * op(A) op(B) + beta * C, C broadcast through strides (cs0, cs1) or absent. */
__global__ void pe_k_gemm(int M, int N, int K, int ta, int tb, float alpha, float beta, const float *A, const float *B, const float *C, long long cs0, long long cs1, float *Y) {
  const size_t i = PE_TID(); if (i >= (size_t)M * N) return;
  const int m = (int)(i / N), n = (int)(i % N);
  float acc = 0.0f;
  for (int k = 0; k < K; k++) acc += (ta ? A[(size_t)k * M + m] : A[(size_t)m * K + k]) * (tb ? B[(size_t)n * K + k] : B[(size_t)k * N + n]);
  Y[i] = (C && beta != 0.0f ? beta * C[m * cs0 + n * cs1] : 0.0f) + alpha * acc;
}
/* Batch t of dims (s.st[0], s.st[1]: A's and B's batch strides, 0 where broadcast); C batches dense M x N. */
__global__ void pe_k_matmul(size_t total, pe_nd_t s, int M, int N, int K, int ta, int tb, const float *A, const float *B, float *C) {
  const size_t i = PE_TID(); if (i >= total) return;
  const size_t t = i / ((size_t)M * N), r = i % ((size_t)M * N);
  const int m = (int)(r / N), n = (int)(r % N);
  long long off[2]; pe_d_offsets(&s, t, 2, off);
  const float *a = A + off[0], *b = B + off[1];
  float acc = 0.0f;
  for (int k = 0; k < K; k++) acc += (ta ? a[(size_t)k * M + m] : a[(size_t)m * K + k]) * (tb ? b[(size_t)n * K + k] : b[(size_t)k * N + n]);
  C[i] = acc;
}

/* ---- 2-D convolution (direct; grouped and depthwise alike) ---- */
typedef struct { int N, C, H, W, M, KH, KW, OH, OW, sh, sw, ph, pw, dh, dw, group; } pe_conv2d_t;
__global__ void pe_k_conv2d(pe_conv2d_t p, const float *x, const float *w, const float *b, float *y) {
  const size_t i = PE_TID(); if (i >= (size_t)p.N * p.M * p.OH * p.OW) return;
  const int ow = (int)(i % p.OW), oh = (int)(i / p.OW % p.OH), m = (int)(i / ((size_t)p.OW * p.OH) % p.M), n = (int)(i / ((size_t)p.OW * p.OH * p.M));
  const int Cg = p.C / p.group, g = m / (p.M / p.group);
  float acc = 0.0f;
  for (int c = 0; c < Cg; c++) for (int kh = 0; kh < p.KH; kh++) {
    const int ih = oh * p.sh - p.ph + kh * p.dh;
    if (ih < 0 || ih >= p.H) continue;
    for (int kw = 0; kw < p.KW; kw++) {
      const int iw = ow * p.sw - p.pw + kw * p.dw;
      if (iw < 0 || iw >= p.W) continue;
      acc += w[(((size_t)m * Cg + c) * p.KH + kh) * p.KW + kw] * x[(((size_t)n * p.C + g * Cg + c) * p.H + ih) * p.W + iw];
    }
  }
  y[i] = b ? acc + b[m] : acc;
}
/* dx[n][c][ih][iw] = sum over the outputs whose window reads it of dy * w. */
__global__ void pe_k_conv2d_grad_input(pe_conv2d_t p, const float *dy, const float *w, float *dx) {
  const size_t i = PE_TID(); if (i >= (size_t)p.N * p.C * p.H * p.W) return;
  const int iw = (int)(i % p.W), ih = (int)(i / p.W % p.H), c = (int)(i / ((size_t)p.W * p.H) % p.C), n = (int)(i / ((size_t)p.W * p.H * p.C));
  const int Cg = p.C / p.group, Mg = p.M / p.group, g = c / Cg, cl = c - g * Cg;
  float acc = 0.0f;
  for (int ml = 0; ml < Mg; ml++) {
    const int m = g * Mg + ml;
    for (int kh = 0; kh < p.KH; kh++) {
      const int th = ih + p.ph - kh * p.dh;
      if (th < 0 || th % p.sh) continue;
      const int oh = th / p.sh;
      if (oh >= p.OH) continue;
      for (int kw = 0; kw < p.KW; kw++) {
        const int tw = iw + p.pw - kw * p.dw;
        if (tw < 0 || tw % p.sw) continue;
        const int ow = tw / p.sw;
        if (ow >= p.OW) continue;
        acc += w[(((size_t)m * Cg + cl) * p.KH + kh) * p.KW + kw] * dy[(((size_t)n * p.M + m) * p.OH + oh) * p.OW + ow];
      }
    }
  }
  dx[i] = acc;
}
/* dw[m][c][kh][kw] for m < mlimit (the sparse 'channels' update leaves the other rows unwritten). */
__global__ void pe_k_conv2d_grad_weight(pe_conv2d_t p, int mlimit, const float *x, const float *dy, float *dw) {
  const int Cg = p.C / p.group, Mg = p.M / p.group;
  const size_t i = PE_TID(); if (i >= (size_t)mlimit * Cg * p.KH * p.KW) return;
  const int kw = (int)(i % p.KW), kh = (int)(i / p.KW % p.KH), c = (int)(i / ((size_t)p.KW * p.KH) % Cg), m = (int)(i / ((size_t)p.KW * p.KH * Cg));
  const int g = m / Mg;
  double total = 0.0;
  for (int n = 0; n < p.N; n++) {
    const float *xc = x + ((size_t)n * p.C + g * Cg + c) * p.H * p.W, *dyc = dy + ((size_t)n * p.M + m) * p.OH * p.OW;
    float s = 0.0f;
    for (int oh = 0; oh < p.OH; oh++) {
      const int ih = oh * p.sh - p.ph + kh * p.dh;
      if (ih < 0 || ih >= p.H) continue;
      for (int ow = 0; ow < p.OW; ow++) {
        const int iw = ow * p.sw - p.pw + kw * p.dw;
        if (iw >= 0 && iw < p.W) s += dyc[(size_t)oh * p.OW + ow] * xc[(size_t)ih * p.W + iw];
      }
    }
    total += s;
  }
  dw[i] = (float)total;
}
__global__ void pe_k_conv2d_grad_bias(int N, int M, int S, const float *dy, float *db) {
  const size_t m = PE_TID(); if (m >= (size_t)M) return;
  double s = 0.0;
  for (int n = 0; n < N; n++) {
    const float *r = dy + ((size_t)n * M + m) * S;
    float t = 0.0f;
    for (int i = 0; i < S; i++) t += r[i];
    s += t;
  }
  db[m] = (float)s;
}

/* ---- BatchNormalization: per-channel statistics (double, as the C kernel), then per-element passes ---- */
__device__ static void pe_d_bn_stats(int N, int C, int S, const float *x, int c, double *mean, double *var) {
  const double cnt = (double)N * S;
  double s = 0.0;
  for (int n = 0; n < N; n++) { const float *r = x + ((size_t)n * C + c) * S; for (int i = 0; i < S; i++) s += r[i]; }
  const double m = s / cnt;
  double q = 0.0;
  for (int n = 0; n < N; n++) { const float *r = x + ((size_t)n * C + c) * S; for (int i = 0; i < S; i++) { const double d = r[i] - m; q += d * d; } }
  *mean = m; *var = q / cnt;
}
/* kb[c], kb[C + c]: the channel's scale and shift y = x * k + b. */
__global__ void pe_k_bn_train_stats(int N, int C, int S, const float *x, const float *scale, const float *bias, float *running_mean, float *running_var,
                                    float momentum, float eps, float *kb, float *saved_mean, float *saved_var) {
  const size_t c = PE_TID(); if (c >= (size_t)C) return;
  const double cnt = (double)N * S, unbias = cnt > 1 ? cnt / (cnt - 1) : 1.0;
  double m, v;
  pe_d_bn_stats(N, C, S, x, (int)c, &m, &v);
  const double k = scale[c] / sqrt(v + eps), b = bias[c] - m * k;
  kb[c] = (float)k; kb[C + c] = (float)b;
  if (running_mean) running_mean[c] = (float)(running_mean[c] * (double)momentum + m * (1.0 - momentum));
  if (running_var) running_var[c] = (float)(running_var[c] * (double)momentum + v * unbias * (1.0 - momentum));
  if (saved_mean) saved_mean[c] = (float)m;
  if (saved_var) saved_var[c] = (float)v;
}
__global__ void pe_k_bn_infer_coef(int C, const float *scale, const float *bias, const float *mean, const float *var, float eps, float *kb) {
  const size_t c = PE_TID(); if (c >= (size_t)C) return;
  const double k = scale[c] / sqrt((double)var[c] + eps), b = bias[c] - mean[c] * k;
  kb[c] = (float)k; kb[C + c] = (float)b;
}
__global__ void pe_k_bn_apply(size_t n, int C, int S, const float *x, const float *kb, float *y) {
  const size_t i = PE_TID(); if (i >= n) return;
  const int c = (int)(i / S % C);
  y[i] = x[i] * kb[c] + kb[C + c];
}
/* Batch statistics: coef[4c..4c+3] = mean, invstd, sum dy, sum dy * xhat; dscale, dbias written here. */
__global__ void pe_k_bn_grad_stats(int N, int C, int S, const float *dy, const float *x, float eps, double *coef, float *dscale, float *dbias) {
  const size_t c = PE_TID(); if (c >= (size_t)C) return;
  double m, v;
  pe_d_bn_stats(N, C, S, x, (int)c, &m, &v);
  const double inv = 1.0 / sqrt(v + eps);
  double sg = 0.0, sgx = 0.0;
  for (int n = 0; n < N; n++) {
    const float *xr = x + ((size_t)n * C + c) * S, *gr = dy + ((size_t)n * C + c) * S;
    for (int i = 0; i < S; i++) { sg += gr[i]; sgx += gr[i] * ((xr[i] - m) * inv); }
  }
  if (dscale) dscale[c] = (float)sgx;
  if (dbias) dbias[c] = (float)sg;
  coef[4 * c] = m; coef[4 * c + 1] = inv; coef[4 * c + 2] = sg; coef[4 * c + 3] = sgx;
}
__global__ void pe_k_bn_grad_dx(size_t n, int N, int C, int S, const float *dy, const float *x, const float *scale, const double *coef, float *dx) {
  const size_t i = PE_TID(); if (i >= n) return;
  const int c = (int)(i / S % C);
  const double cnt = (double)N * S, m = coef[4 * c], inv = coef[4 * c + 1], sg = coef[4 * c + 2], sgx = coef[4 * c + 3], g = scale[c];
  dx[i] = (float)((inv / cnt) * (cnt * dy[i] * g - g * sg - ((x[i] - m) * inv) * g * sgx));
}
/* Frozen running statistics: coef[c] = scale * invstd; dscale, dbias written here. */
__global__ void pe_k_bn_grad_frozen_stats(int N, int C, int S, const float *dy, const float *x, const float *scale, const float *mean, const float *var,
                                          float eps, double *coef, float *dscale, float *dbias) {
  const size_t c = PE_TID(); if (c >= (size_t)C) return;
  const double inv = 1.0 / sqrt((double)var[c] + eps), k = scale[c] * inv;
  double ds = 0.0, db = 0.0;
  for (int n = 0; n < N; n++) {
    const float *xr = x + ((size_t)n * C + c) * S, *gr = dy + ((size_t)n * C + c) * S;
    for (int i = 0; i < S; i++) { ds += gr[i] * (xr[i] - mean[c]) * inv; db += gr[i]; }
  }
  if (dscale) dscale[c] = (float)ds;
  if (dbias) dbias[c] = (float)db;
  coef[c] = k;
}
__global__ void pe_k_bn_grad_frozen_dx(size_t n, int C, int S, const float *dy, const double *coef, float *dx) {
  const size_t i = PE_TID(); if (i >= n) return;
  dx[i] = (float)(dy[i] * coef[i / S % C]);
}

/* ---- reductions: one thread per output, double accumulation in the C kernel's order ---- */
/* Output o decomposes row-major over the kept dims (kd, x strides ks); the reduced dims (rd, rs) are walked
   in x's memory order; inner > 0: the last collapsed dim is reduced and contiguous, summed per row first. */
typedef struct { int kr, rr, inner; int kd[PE_MAX_RANK]; long long ks[PE_MAX_RANK]; int rd[PE_MAX_RANK]; long long rs[PE_MAX_RANK]; } pe_reduce_t;
__global__ void pe_k_reduce_sum(size_t ny, pe_reduce_t r, const float *x, float *y, float scale) {
  const size_t o = PE_TID(); if (o >= ny) return;
  long long base = 0;
  size_t q = o;
  for (int d = r.kr - 1; d >= 0; d--) { base += (long long)(q % r.kd[d]) * r.ks[d]; q /= r.kd[d]; }
  size_t count = 1;
  for (int d = 0; d < r.rr; d++) count *= (size_t)r.rd[d];
  double acc = 0.0;
  for (size_t t = 0; t < count; t++) {
    long long off = base;
    size_t u = t;
    for (int d = r.rr - 1; d >= 0; d--) { off += (long long)(u % r.rd[d]) * r.rs[d]; u /= r.rd[d]; }
    if (r.inner) { double s = 0.0; for (int i = 0; i < r.inner; i++) s += x[off + i]; acc += s; }
    else acc += x[off];
  }
  y[o] = (float)(acc * scale);
}

/* ---- Gather ---- */
__global__ void pe_k_gather(size_t total, int nidx, int n, int inner, const float *x, const int64_t *idx, float *y) {
  const size_t t = PE_TID(); if (t >= total) return;
  const size_t i = t % inner, j = t / inner % nidx, o = t / ((size_t)inner * nidx);
  int64_t k = idx[j];
  if (k < 0) k += n;
  y[t] = x[(o * n + (size_t)k) * inner + i];
}
/* dx[o][r][i] = sum over j with idx[j] == r of dy[o][j][i], in j order. */
__global__ void pe_k_gather_grad(size_t total, int nidx, int n, int inner, const float *dy, const int64_t *idx, float *dx) {
  const size_t t = PE_TID(); if (t >= total) return;
  const size_t i = t % inner, r = t / inner % n, o = t / ((size_t)inner * n);
  float acc = 0.0f;
  for (int j = 0; j < nidx; j++) {
    int64_t k = idx[j];
    if (k < 0) k += n;
    if ((size_t)k == r) acc += dy[(o * nidx + j) * inner + i];
  }
  dx[t] = acc;
}

/* ---- softmax family: one thread per (outer, inner) row ---- */
__global__ void pe_k_softmax(int outer, int n, int inner, int logsm, const float *x, float *y) {
  const size_t t = PE_TID(); if (t >= (size_t)outer * inner) return;
  const size_t base = t / inner * (size_t)n * inner + t % inner;
  float m = -INFINITY;
  for (int i = 0; i < n; i++) m = PE_MAX(m, x[base + (size_t)i * inner]);
  double s = 0.0;
  for (int i = 0; i < n; i++) s += exp((double)x[base + (size_t)i * inner] - m);
  if (logsm) {
    const double ls = log(s);
    for (int i = 0; i < n; i++) y[base + (size_t)i * inner] = (float)(x[base + (size_t)i * inner] - m - ls);
  } else {
    for (int i = 0; i < n; i++) y[base + (size_t)i * inner] = (float)(exp((double)x[base + (size_t)i * inner] - m) / s);
  }
}
__global__ void pe_k_softmax_grad(int outer, int n, int inner, int logsm, const float *dy, const float *y, float *dx) {
  const size_t t = PE_TID(); if (t >= (size_t)outer * inner) return;
  const size_t base = t / inner * (size_t)n * inner + t % inner;
  double s = 0.0;
  for (int i = 0; i < n; i++) { const size_t k = base + (size_t)i * inner; s += logsm ? dy[k] : (double)dy[k] * y[k]; }
  for (int i = 0; i < n; i++) {
    const size_t k = base + (size_t)i * inner;
    dx[k] = logsm ? (float)(dy[k] - exp((double)y[k]) * s) : (float)(y[k] * (dy[k] - s));
  }
}
/* The mean over rows: one thread (the loss is a handful of rows). */
__global__ void pe_k_softmax_xent(int rows, int C, const float *x, const int64_t *labels, float *loss) {
  if (PE_TID() != 0) return;
  double total = 0.0;
  for (int r = 0; r < rows; r++) {
    const float *xr = x + (size_t)r * C;
    float m = -INFINITY;
    for (int k = 0; k < C; k++) m = PE_MAX(m, xr[k]);
    double s = 0.0;
    for (int k = 0; k < C; k++) s += exp((double)xr[k] - m);
    total += m + log(s) - xr[labels[r]];
  }
  loss[0] = (float)(total / rows);
}
__global__ void pe_k_softmax_xent_grad(int rows, int C, const float *dloss, const float *x, const int64_t *labels, float *dx) {
  const size_t r = PE_TID(); if (r >= (size_t)rows) return;
  const double k0 = (double)dloss[0] / rows;
  const float *xr = x + r * C;
  float *d = dx + r * C;
  float m = -INFINITY;
  for (int k = 0; k < C; k++) m = PE_MAX(m, xr[k]);
  double s = 0.0;
  for (int k = 0; k < C; k++) s += exp((double)xr[k] - m);
  for (int k = 0; k < C; k++) d[k] = (float)(k0 * (exp((double)xr[k] - m) / s - (k == labels[r] ? 1.0 : 0.0)));
}

/* ---- pooling; the gradients gather per input element over the windows holding it, in the C kernel's window order ---- */
typedef struct { int planes, H, W, KH, KW, OH, OW, sh, sw, ph, pw, eh, ew, dh, dw; } pe_pool2d_t;
__device__ static int pe_d_pool_argmax(const pe_pool2d_t *p, const float *x, int oh, int ow) {
  int at = -1; float best = 0.0f;
  for (int kh = 0; kh < p->KH; kh++) {
    const int ih = oh * p->sh - p->ph + kh * p->dh;
    if (ih < 0 || ih >= p->H) continue;
    for (int kw = 0; kw < p->KW; kw++) {
      const int iw = ow * p->sw - p->pw + kw * p->dw;
      if (iw < 0 || iw >= p->W) continue;
      const float v = x[ih * p->W + iw];
      if (at < 0 || v > best) { best = v; at = ih * p->W + iw; }
    }
  }
  return at;
}
__device__ static int pe_d_pool_count(const pe_pool2d_t *p, int oh, int ow, int include_pad) {
  int cnt = 0;
  for (int kh = 0; kh < p->KH; kh++) {
    const int ih = oh * p->sh - p->ph + kh * p->dh;
    const int lo = include_pad ? -p->ph : 0, hi = include_pad ? p->H + p->eh : p->H;
    if (ih < lo || ih >= hi) continue;
    for (int kw = 0; kw < p->KW; kw++) {
      const int iw = ow * p->sw - p->pw + kw * p->dw;
      const int wl = include_pad ? -p->pw : 0, wh = include_pad ? p->W + p->ew : p->W;
      if (iw >= wl && iw < wh) cnt++;
    }
  }
  return cnt;
}
__global__ void pe_k_maxpool(pe_pool2d_t p, const float *x, float *y) {
  const size_t i = PE_TID(); if (i >= (size_t)p.planes * p.OH * p.OW) return;
  const int ow = (int)(i % p.OW), oh = (int)(i / p.OW % p.OH);
  const float *xp = x + i / ((size_t)p.OW * p.OH) * p.H * p.W;
  const int at = pe_d_pool_argmax(&p, xp, oh, ow);
  y[i] = at < 0 ? 0.0f : xp[at];
}
/* Windows (oh, ow) holding input (ih, iw), oh and ow ascending: kh and kw descending. */
#define PE_POOL_WINDOWS(BODY) \
  for (int kh = p.KH - 1; kh >= 0; kh--) { \
    const int th = ih + p.ph - kh * p.dh; \
    if (th < 0 || th % p.sh || th / p.sh >= p.OH) continue; \
    const int oh = th / p.sh; \
    for (int kw = p.KW - 1; kw >= 0; kw--) { \
      const int tw = iw + p.pw - kw * p.dw; \
      if (tw < 0 || tw % p.sw || tw / p.sw >= p.OW) continue; \
      const int ow = tw / p.sw; \
      BODY \
    } \
  }
__global__ void pe_k_maxpool_grad(pe_pool2d_t p, const float *dy, const float *x, float *dx) {
  const size_t i = PE_TID(); if (i >= (size_t)p.planes * p.H * p.W) return;
  const int iw = (int)(i % p.W), ih = (int)(i / p.W % p.H);
  const size_t q = i / ((size_t)p.W * p.H);
  const float *xp = x + q * p.H * p.W, *dyp = dy + q * p.OH * p.OW;
  float acc = 0.0f;
  PE_POOL_WINDOWS(if (pe_d_pool_argmax(&p, xp, oh, ow) == ih * p.W + iw) acc += dyp[(size_t)oh * p.OW + ow];)
  dx[i] = acc;
}
__global__ void pe_k_avgpool(pe_pool2d_t p, int include_pad, const float *x, float *y) {
  const size_t i = PE_TID(); if (i >= (size_t)p.planes * p.OH * p.OW) return;
  const int ow = (int)(i % p.OW), oh = (int)(i / p.OW % p.OH);
  const float *xp = x + i / ((size_t)p.OW * p.OH) * p.H * p.W;
  float s = 0.0f;
  for (int kh = 0; kh < p.KH; kh++) {
    const int ih = oh * p.sh - p.ph + kh * p.dh;
    if (ih < 0 || ih >= p.H) continue;
    for (int kw = 0; kw < p.KW; kw++) {
      const int iw = ow * p.sw - p.pw + kw * p.dw;
      if (iw >= 0 && iw < p.W) s += xp[ih * p.W + iw];
    }
  }
  const int cnt = pe_d_pool_count(&p, oh, ow, include_pad);
  y[i] = cnt > 0 ? s / cnt : 0.0f;
}
__global__ void pe_k_avgpool_grad(pe_pool2d_t p, int include_pad, const float *dy, float *dx) {
  const size_t i = PE_TID(); if (i >= (size_t)p.planes * p.H * p.W) return;
  const int iw = (int)(i % p.W), ih = (int)(i / p.W % p.H);
  const float *dyp = dy + i / ((size_t)p.W * p.H) * p.OH * p.OW;
  float acc = 0.0f;
  PE_POOL_WINDOWS({ const int cnt = pe_d_pool_count(&p, oh, ow, include_pad); if (cnt > 0) acc += dyp[(size_t)oh * p.OW + ow] / cnt; })
  dx[i] = acc;
}
__global__ void pe_k_global_avgpool(int planes, int S, const float *x, float *y) {
  const size_t q = PE_TID(); if (q >= (size_t)planes) return;
  const float *r = x + q * S;
  double s = 0.0;
  for (int i = 0; i < S; i++) s += r[i];
  y[q] = (float)(s / S);
}
__global__ void pe_k_global_avgpool_grad(size_t n, int S, const float *dy, float *dx) {
  const size_t i = PE_TID(); if (i < n) dx[i] = dy[i / S] / S;
}

/* ---- optimizers (double arithmetic, as the C kernels); the step counter is read on the device ----
   n elements of the gradient (and state) in runs of \`run\`; the parameter's runs start every \`pstride\`
   elements (run == pstride but for a channel-sliced update, whose gradient holds the first channels). */
__global__ void pe_k_sgd(size_t n, size_t run, size_t pstride, float *p, const float *g, float *buf, float lr, float momentum, float dampening, float wd, int nesterov, const void *stepc, int stepc_type) {
  const size_t i = PE_TID(); if (i >= n) return;
  float *pp = p + i / run * pstride + i % run;
  const double lrd = lr, md = momentum, dd = dampening, wdd = wd;
  if (momentum == 0.0f || !buf) { *pp = (float)(*pp - lrd * (g[i] + wdd * *pp)); return; }
  const int first = stepc ? pe_d_scalar(stepc, stepc_type) == 0.0 : 0;
  const double d = g[i] + wdd * *pp;
  const float b = (float)(first ? d : md * buf[i] + (1.0 - dd) * d);
  buf[i] = b;
  *pp = (float)(*pp - lrd * (nesterov ? d + md * b : (double)b));
}
__global__ void pe_k_adam(size_t n, size_t run, size_t pstride, float *p, const float *g, float *m, float *v, const void *stepc, int stepc_type, float lr, float beta1, float beta2, float eps, float wd, int decoupled) {
  const size_t i = PE_TID(); if (i >= n) return;
  float *pp = p + i / run * pstride + i % run;
  const long t = (long)pe_d_scalar(stepc, stepc_type) + 1;
  const double b1 = beta1, b2 = beta2, lrd = lr;
  const double bc1 = 1.0 - pow(b1, (double)t), bc2 = 1.0 - pow(b2, (double)t);
  const double step = lrd / bc1, bc2s = sqrt(bc2);
  double pi = *pp, gi = g[i];
  if (decoupled) pi *= 1.0 - lrd * wd;
  else gi += (double)wd * pi;
  const double mi = b1 * m[i] + (1.0 - b1) * gi, vi = b2 * v[i] + (1.0 - b2) * gi * gi;
  m[i] = (float)mi; v[i] = (float)vi;
  *pp = (float)(pi - (step * mi) / (sqrt(vi) / bc2s + (double)eps));
}
`;
