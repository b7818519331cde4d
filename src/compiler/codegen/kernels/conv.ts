// 2-D convolutions and their gradients for the emitted C (1-D convolutions run with H = 1):
//   forward        im2col + GEMM per image and group; 1×1 stride-1 unpadded convolutions skip im2col;
//                  depthwise (one input and one output channel per group) runs a direct loop.
//   grad input     GEMM Wᵀ·dY then col2im (the adjoint of im2col); depthwise direct.
//   grad weight    GEMM dY·colᵀ accumulated over the batch, optionally for the first `mlimit` output
//                  channels only (the sparse 'channels' update); depthwise direct.
//   grad bias      sum of dY over batch and space.
// Layouts are ONNX's: x [N, C, H, W], w [M, C/group, KH, KW], y [N, M, OH, OW].

import { GEMM_MAX_THREADS, gemmWorkspace } from './gemm';
import type { CKernel } from './types';

/** The geometry every conv kernel takes (`pe_conv2d_t` in C). pads are the begin pads; OH/OW already include the end pads. */
export interface Conv2dParams {
  N: number; C: number; H: number; W: number; M: number; KH: number; KW: number; OH: number; OW: number;
  sh: number; sw: number; ph: number; pw: number; dh: number; dw: number; group: number;
}

const FIELDS: (keyof Conv2dParams)[] = ['N', 'C', 'H', 'W', 'M', 'KH', 'KW', 'OH', 'OW', 'sh', 'sw', 'ph', 'pw', 'dh', 'dw', 'group'];

/** A C initializer for `pe_conv2d_t`, e.g. for `static const pe_conv2d_t g = {...};`. */
export function conv2dInit(p: Conv2dParams): string {
  return `{${FIELDS.map((f) => p[f]).join(', ')}}`;
}

export function isDepthwise(p: Conv2dParams): boolean {
  return p.C === p.group && p.M === p.group;
}

export function isPointwise(p: Conv2dParams): boolean {
  return p.KH === 1 && p.KW === 1 && p.sh === 1 && p.sw === 1 && p.ph === 0 && p.pw === 0 && p.OH === p.H && p.OW === p.W;
}

/** Floats of workspace the forward, grad-input and grad-weight kernels need for these shapes. */
export function conv2dWorkspace(p: Conv2dParams): number {
  // Depthwise: one column-phase split of a channel plane per thread (see pe_dw_split).
  if (isDepthwise(p)) return GEMM_MAX_THREADS * (p.H + 1) * p.sw * (p.OW + Math.floor(((p.KW - 1) * p.dw) / p.sw) + 1);
  const col = isPointwise(p) ? 0 : (p.C / p.group) * p.KH * p.KW * p.OH * p.OW;
  return col + gemmWorkspace();
}

export const conv2d: CKernel = {
  name: 'conv2d',
  deps: ['common', 'gemm'],
  source: String.raw`/* ---- conv2d ---- */
typedef struct { int N, C, H, W, M, KH, KW, OH, OW, sh, sw, ph, pw, dh, dw, group; } pe_conv2d_t;

static int pe_conv_pointwise(const pe_conv2d_t *p) {
  return p->KH == 1 && p->KW == 1 && p->sh == 1 && p->sw == 1 && p->ph == 0 && p->pw == 0 && p->OH == p->H && p->OW == p->W;
}

/* Output columns ow whose input column ow*sw - pw + kw*dw lies in [0, W): [*lo, *hi). */
static inline void pe_conv_ow_range(const pe_conv2d_t *p, int kw, int *lo, int *hi) {
  const int off = kw * p->dw - p->pw;
  *lo = PE_MAX(0, pe_ceil_div(-off, p->sw));
  *hi = PE_MIN(p->OW, pe_floor_div(p->W - 1 - off, p->sw) + 1);
  if (*hi < *lo) *hi = *lo;
}

/* col[(c·KH + kh)·KW + kw][oh·OW + ow] = x[c][oh·sh − ph + kh·dh][ow·sw − pw + kw·dw], 0 in the padding. */
void pe_im2col(const float *x, int C, const pe_conv2d_t *p, float *col) {
  const int OHW = p->OH * p->OW, rows = C * p->KH * p->KW;
  #pragma omp parallel for schedule(static) if ((double)rows * OHW > PE_PAR_WORK)
  for (int row = 0; row < rows; row++) {
    const int kw = row % p->KW, kh = (row / p->KW) % p->KH, c = row / (p->KW * p->KH);
    const float *xc = x + (size_t)c * p->H * p->W;
    float *o = col + (size_t)row * OHW;
    int lo, hi;
    pe_conv_ow_range(p, kw, &lo, &hi);
    const int off = kw * p->dw - p->pw;
    for (int oh = 0; oh < p->OH; oh++, o += p->OW) {
      const int ih = oh * p->sh - p->ph + kh * p->dh;
      if (ih < 0 || ih >= p->H) { memset(o, 0, sizeof(float) * (size_t)p->OW); continue; }
      const float *xr = xc + (size_t)ih * p->W + off;
      for (int ow = 0; ow < lo; ow++) o[ow] = 0.0f;
      if (p->sw == 1) for (int ow = lo; ow < hi; ow++) o[ow] = xr[ow];
      else for (int ow = lo; ow < hi; ow++) o[ow] = xr[ow * p->sw];
      for (int ow = hi; ow < p->OW; ow++) o[ow] = 0.0f;
    }
  }
}

/* The adjoint of im2col: x[c][ih][iw] += col entries (padding entries dropped). Parallel over channels,
   which own disjoint parts of x. */
void pe_col2im(const float *col, int C, const pe_conv2d_t *p, float *x) {
  const int OHW = p->OH * p->OW;
  #pragma omp parallel for schedule(static) if ((double)C * p->KH * p->KW * OHW > PE_PAR_WORK)
  for (int c = 0; c < C; c++) {
    float *xc = x + (size_t)c * p->H * p->W;
    for (int kh = 0; kh < p->KH; kh++) for (int kw = 0; kw < p->KW; kw++) {
      const float *o = col + ((size_t)(c * p->KH + kh) * p->KW + kw) * OHW;
      int lo, hi;
      pe_conv_ow_range(p, kw, &lo, &hi);
      const int off = kw * p->dw - p->pw;
      for (int oh = 0; oh < p->OH; oh++, o += p->OW) {
        const int ih = oh * p->sh - p->ph + kh * p->dh;
        if (ih < 0 || ih >= p->H) continue;
        float *xr = xc + (size_t)ih * p->W + off;
        if (p->sw == 1) for (int ow = lo; ow < hi; ow++) xr[ow] += o[ow];
        else for (int ow = lo; ow < hi; ow++) xr[ow * p->sw] += o[ow];
      }
    }
  }
}

/* Depthwise kernels read input row ih at columns ow·sw − pw + kw·dw. Each channel's rows are first split
   into sw zero-padded phases, phase r holding padded columns r, r + sw, r + 2·sw, ...; tap kw then reads
   phase (kw·dw) mod sw contiguously from (kw·dw) / sw, so every inner loop is unit-stride and vectorises
   for any stride and dilation (the strided form measured under 5 GFLOP/s on a MobileNetV2 stride-2
   layer). The split plane lives in the workspace, one per thread. */
static inline int pe_dw_phase_len(const pe_conv2d_t *p) { return p->OW + ((p->KW - 1) * p->dw) / p->sw + 1; }

static void pe_dw_split(const pe_conv2d_t *p, const float *x, float *pl, int len) {
  for (int ih = 0; ih < p->H; ih++) {
    const float *xr = x + (size_t)ih * p->W;
    float *row = pl + (size_t)ih * p->sw * len;
    if (p->sw == 1) {
      int i = 0;
      for (; i < PE_MIN(p->pw, len); i++) row[i] = 0.0f;
      const int n = PE_MIN(p->W, len - i);
      if (n > 0) { memcpy(row + i, xr, sizeof(float) * (size_t)n); i += n; }
      for (; i < len; i++) row[i] = 0.0f;
    } else {
      for (int r = 0; r < p->sw; r++) {
        /* Phase entries i with input column i·sw + r − pw inside [0, W): [lo, hi); zeros around. */
        const int lo = PE_MIN(len, PE_MAX(0, pe_ceil_div(p->pw - r, p->sw)));
        const int hi = PE_MAX(lo, PE_MIN(len, pe_floor_div(p->W - 1 + p->pw - r, p->sw) + 1));
        float *restrict dst = row + r * len;
        const float *src = xr + r - p->pw;
        for (int i = 0; i < lo; i++) dst[i] = 0.0f;
        for (int i = lo; i < hi; i++) dst[i] = src[i * p->sw];
        for (int i = hi; i < len; i++) dst[i] = 0.0f;
      }
    }
  }
}

/* One depthwise channel: y[oh][ow] = Σ w[kh][kw]·x[ih][iw] (y is overwritten); pl: (H + 1)·sw·len floats. */
static void pe_dw_channel(const pe_conv2d_t *p, const float *x, const float *w, float *y, float *pl) {
  const int len = pe_dw_phase_len(p);
  pe_dw_split(p, x, pl, len);
  if (p->KH == 3 && p->KW == 3) {
    /* MobileNet's case: all nine taps in one pass over each output row (rows outside the input read a
       zero row kept after the plane), so y is written once and short rows pay one loop overhead. */
    float *zero = pl + (size_t)p->H * p->sw * len;
    memset(zero, 0, sizeof(float) * (size_t)p->sw * len);
    const int o1 = p->dw, o2 = 2 * p->dw;
    const int f0 = 0, f1 = (o1 % p->sw) * len + o1 / p->sw, f2 = (o2 % p->sw) * len + o2 / p->sw;
    for (int oh = 0; oh < p->OH; oh++) {
      const float *r[3];
      for (int kh = 0; kh < 3; kh++) {
        const int ih = oh * p->sh - p->ph + kh * p->dh;
        r[kh] = ih < 0 || ih >= p->H ? zero : pl + (size_t)ih * p->sw * len;
      }
      const float *restrict a0 = r[0] + f0, *restrict a1 = r[0] + f1, *restrict a2 = r[0] + f2;
      const float *restrict b0 = r[1] + f0, *restrict b1 = r[1] + f1, *restrict b2 = r[1] + f2;
      const float *restrict c0 = r[2] + f0, *restrict c1 = r[2] + f1, *restrict c2 = r[2] + f2;
      const float w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3], w4 = w[4], w5 = w[5], w6 = w[6], w7 = w[7], w8 = w[8];
      float *restrict yr = y + (size_t)oh * p->OW;
      for (int ow = 0; ow < p->OW; ow++)
        yr[ow] = ((w0 * a0[ow] + w1 * a1[ow]) + (w2 * a2[ow] + w3 * b0[ow])) + ((w4 * b1[ow] + w5 * b2[ow]) + (w6 * c0[ow] + w7 * c1[ow])) + w8 * c2[ow];
    }
    return;
  }
  for (int oh = 0; oh < p->OH; oh++) {
    float *restrict yr = y + (size_t)oh * p->OW;
    for (int ow = 0; ow < p->OW; ow++) yr[ow] = 0.0f;
    for (int kh = 0; kh < p->KH; kh++) {
      const int ih = oh * p->sh - p->ph + kh * p->dh;
      if (ih < 0 || ih >= p->H) continue;
      const float *row = pl + (size_t)ih * p->sw * len;
      for (int kw = 0; kw < p->KW; kw++) {
        const float wv = w[kh * p->KW + kw];
        const float *restrict src = row + ((kw * p->dw) % p->sw) * len + (kw * p->dw) / p->sw;
        for (int ow = 0; ow < p->OW; ow++) yr[ow] += wv * src[ow];
      }
    }
  }
}

/* dx (one channel, overwritten) = the depthwise transpose of dy: taps accumulate into the split plane,
   which is then folded back onto the rows. */
static void pe_dw_channel_grad_input(const pe_conv2d_t *p, const float *dy, const float *w, float *dx, float *pl) {
  const int len = pe_dw_phase_len(p);
  memset(pl, 0, sizeof(float) * (size_t)p->H * p->sw * len);
  for (int oh = 0; oh < p->OH; oh++) {
    const float *restrict yr = dy + (size_t)oh * p->OW;
    for (int kh = 0; kh < p->KH; kh++) {
      const int ih = oh * p->sh - p->ph + kh * p->dh;
      if (ih < 0 || ih >= p->H) continue;
      float *row = pl + (size_t)ih * p->sw * len;
      for (int kw = 0; kw < p->KW; kw++) {
        const float wv = w[kh * p->KW + kw];
        float *restrict dst = row + ((kw * p->dw) % p->sw) * len + (kw * p->dw) / p->sw;
        for (int ow = 0; ow < p->OW; ow++) dst[ow] += wv * yr[ow];
      }
    }
  }
  for (int ih = 0; ih < p->H; ih++) {
    float *xr = dx + (size_t)ih * p->W;
    const float *row = pl + (size_t)ih * p->sw * len;
    for (int r = 0; r < p->sw; r++) for (int i = 0; i < len; i++) {
      const int iw = i * p->sw + r - p->pw;
      if (iw >= 0 && iw < p->W) xr[iw] = row[r * len + i];
    }
  }
}

/* dw[kh][kw] += Σ x[ih][iw]·dy[oh][ow] over one channel of one image (double accumulators across rows). */
static void pe_dw_channel_grad_weight(const pe_conv2d_t *p, const float *x, const float *dy, double *acc, float *pl) {
  const int len = pe_dw_phase_len(p);
  pe_dw_split(p, x, pl, len);
  for (int oh = 0; oh < p->OH; oh++) {
    const float *restrict yr = dy + (size_t)oh * p->OW;
    for (int kh = 0; kh < p->KH; kh++) {
      const int ih = oh * p->sh - p->ph + kh * p->dh;
      if (ih < 0 || ih >= p->H) continue;
      const float *row = pl + (size_t)ih * p->sw * len;
      for (int kw = 0; kw < p->KW; kw++) {
        const float *restrict src = row + ((kw * p->dw) % p->sw) * len + (kw * p->dw) / p->sw;
        /* Eight partial sums: independent multiply-adds without reassociating one float chain. */
        float s8[8] = {0};
        int ow = 0;
        for (; ow + 8 <= p->OW; ow += 8) for (int j = 0; j < 8; j++) s8[j] += src[ow + j] * yr[ow + j];
        float s = 0.0f;
        for (; ow < p->OW; ow++) s += src[ow] * yr[ow];
        acc[kh * p->KW + kw] += (double)s + ((s8[0] + s8[1]) + (s8[2] + s8[3])) + ((s8[4] + s8[5]) + (s8[6] + s8[7]));
      }
    }
  }
}

/* Threads for a depthwise loop (each needs its own share of the workspace). */
static int pe_dw_threads(double work) {
  int T = 1;
#ifdef _OPENMP
  if (!omp_in_parallel()) T = PE_MIN(omp_get_max_threads(), PE_MAX_THREADS);
#endif
  return work > PE_PAR_WORK ? T : 1;
}

static int pe_conv_depthwise(const pe_conv2d_t *p) { return p->C == p->group && p->M == p->group; }

/* y = conv(x, w) + b (b may be NULL). ws: conv2dWorkspace(p) floats. */
void pe_conv2d(const pe_conv2d_t *p, const float *x, const float *w, const float *b, float *y, float *ws) {
  const size_t inS = (size_t)p->H * p->W, outS = (size_t)p->OH * p->OW;
  if (pe_conv_depthwise(p)) {
    const int planes = p->N * p->C, T = pe_dw_threads((double)planes * outS * p->KH * p->KW);
    const size_t share = (size_t)(p->H + 1) * p->sw * pe_dw_phase_len(p);
    (void)T;
    #pragma omp parallel for schedule(static) num_threads(T) if (T > 1)
    for (int nc = 0; nc < planes; nc++) {
      const int c = nc % p->C;
      pe_dw_channel(p, x + nc * inS, w + (size_t)c * p->KH * p->KW, y + nc * outS, ws + share * PE_THREAD_ID());
    }
  } else {
    const int Cg = p->C / p->group, Mg = p->M / p->group, Kd = Cg * p->KH * p->KW;
    const int pw1 = pe_conv_pointwise(p);
    float *col = ws, *gws = pw1 ? ws : ws + (size_t)Kd * outS;
    for (int n = 0; n < p->N; n++) for (int g = 0; g < p->group; g++) {
      const float *xg = x + ((size_t)n * p->C + (size_t)g * Cg) * inS;
      const float *B = xg;
      if (!pw1) { pe_im2col(xg, Cg, p, col); B = col; }
      pe_sgemm(0, 0, Mg, (int)outS, Kd, 1.0f, w + (size_t)g * Mg * Kd, Kd, B, (int)outS, 0.0f,
               y + ((size_t)n * p->M + (size_t)g * Mg) * outS, (int)outS, gws);
    }
  }
  if (b) {
    for (int n = 0; n < p->N; n++) for (int m = 0; m < p->M; m++) {
      float *yr = y + ((size_t)n * p->M + m) * outS;
      const float bv = b[m];
      for (size_t i = 0; i < outS; i++) yr[i] += bv;
    }
  }
}

/* dx = the gradient of conv(x, w) with respect to x, given dy (dx is overwritten). */
void pe_conv2d_grad_input(const pe_conv2d_t *p, const float *dy, const float *w, float *dx, float *ws) {
  const size_t inS = (size_t)p->H * p->W, outS = (size_t)p->OH * p->OW;
  if (pe_conv_depthwise(p)) {
    const int planes = p->N * p->C, T = pe_dw_threads((double)planes * outS * p->KH * p->KW);
    const size_t share = (size_t)(p->H + 1) * p->sw * pe_dw_phase_len(p);
    (void)T;
    #pragma omp parallel for schedule(static) num_threads(T) if (T > 1)
    for (int nc = 0; nc < planes; nc++) {
      const int c = nc % p->C;
      pe_dw_channel_grad_input(p, dy + nc * outS, w + (size_t)c * p->KH * p->KW, dx + nc * inS, ws + share * PE_THREAD_ID());
    }
    return;
  }
  const int Cg = p->C / p->group, Mg = p->M / p->group, Kd = Cg * p->KH * p->KW;
  const int pw1 = pe_conv_pointwise(p);
  float *col = ws, *gws = pw1 ? ws : ws + (size_t)Kd * outS;
  if (!pw1) memset(dx, 0, sizeof(float) * (size_t)p->N * p->C * inS);
  for (int n = 0; n < p->N; n++) for (int g = 0; g < p->group; g++) {
    const float *wg = w + (size_t)g * Mg * Kd, *dyg = dy + ((size_t)n * p->M + (size_t)g * Mg) * outS;
    float *dxg = dx + ((size_t)n * p->C + (size_t)g * Cg) * inS;
    /* col = W_gᵀ · dY_g, folded back onto the input grid. */
    if (pw1) pe_sgemm(1, 0, Cg, (int)outS, Mg, 1.0f, wg, Kd, dyg, (int)outS, 0.0f, dxg, (int)outS, gws);
    else {
      pe_sgemm(1, 0, Kd, (int)outS, Mg, 1.0f, wg, Kd, dyg, (int)outS, 0.0f, col, (int)outS, gws);
      pe_col2im(col, Cg, p, dxg);
    }
  }
}

/* dw[m] for output channels m < mlimit (all when mlimit >= M): Σ over the batch of dY·colᵀ. Rows of dw from
   mlimit on are not written, so a sparse update reads only what was computed. */
void pe_conv2d_grad_weight(const pe_conv2d_t *p, const float *x, const float *dy, float *dw, int mlimit, float *ws) {
  const size_t inS = (size_t)p->H * p->W, outS = (size_t)p->OH * p->OW;
  const int M = PE_MIN(mlimit, p->M), KK = p->KH * p->KW;
  if (M <= 0) return;
  if (pe_conv_depthwise(p)) {
    const int T = pe_dw_threads((double)p->N * M * outS * KK);
    const size_t share = (size_t)(p->H + 1) * p->sw * pe_dw_phase_len(p);
    (void)T;
    #pragma omp parallel for schedule(static) num_threads(T) if (T > 1)
    for (int c = 0; c < M; c++) {
      double acc[64];
      double *a = acc;
      double big[KK > 64 ? KK : 1];
      if (KK > 64) a = big;
      for (int k = 0; k < KK; k++) a[k] = 0.0;
      for (int n = 0; n < p->N; n++) pe_dw_channel_grad_weight(p, x + ((size_t)n * p->C + c) * inS, dy + ((size_t)n * p->M + c) * outS, a, ws + share * PE_THREAD_ID());
      for (int k = 0; k < KK; k++) dw[(size_t)c * KK + k] = (float)a[k];
    }
    return;
  }
  const int Cg = p->C / p->group, Mg = p->M / p->group, Kd = Cg * KK;
  const int pw1 = pe_conv_pointwise(p);
  float *col = ws, *gws = pw1 ? ws : ws + (size_t)Kd * outS;
  for (int g = 0; g * Mg < M; g++) {
    const int rows = PE_MIN(Mg, M - g * Mg);
    for (int n = 0; n < p->N; n++) {
      const float *xg = x + ((size_t)n * p->C + (size_t)g * Cg) * inS;
      const float *B = xg;
      if (!pw1) { pe_im2col(xg, Cg, p, col); B = col; }
      pe_sgemm(0, 1, rows, Kd, (int)outS, 1.0f, dy + ((size_t)n * p->M + (size_t)g * Mg) * outS, (int)outS, B, (int)outS,
               n == 0 ? 0.0f : 1.0f, dw + (size_t)g * Mg * Kd, Kd, gws);
    }
  }
}

/* db[m] = Σ_n Σ_s dy[n][m][s] (double accumulation). */
void pe_conv2d_grad_bias(int N, int M, int S, const float *dy, float *db) {
  for (int m = 0; m < M; m++) {
    double s = 0.0;
    for (int n = 0; n < N; n++) {
      const float *r = dy + ((size_t)n * M + m) * S;
      float t = 0.0f;
      for (int i = 0; i < S; i++) t += r[i];
      s += t;
    }
    db[m] = (float)s;
  }
}
`,
};
