// 2-D pooling for the emitted C over planes (N·C) of H×W: MaxPool (first maximum wins, as PyTorch) and
// AveragePool (count_include_pad counts positions inside the explicit padding, never beyond it), their
// gradients, and GlobalAveragePool with its gradient. 1-D pools run with H = 1.

import type { CKernel } from './types';

export interface Pool2dParams {
  planes: number; H: number; W: number; KH: number; KW: number; OH: number; OW: number;
  sh: number; sw: number; ph: number; pw: number; eh: number; ew: number; dh: number; dw: number;
}

const FIELDS: (keyof Pool2dParams)[] = ['planes', 'H', 'W', 'KH', 'KW', 'OH', 'OW', 'sh', 'sw', 'ph', 'pw', 'eh', 'ew', 'dh', 'dw'];

/** A C initializer for `pe_pool2d_t`. */
export function pool2dInit(p: Pool2dParams): string {
  return `{${FIELDS.map((f) => p[f]).join(', ')}}`;
}

export const pool: CKernel = {
  name: 'pool',
  deps: ['common'],
  source: String.raw`/* ---- pool ---- */
typedef struct { int planes, H, W, KH, KW, OH, OW, sh, sw, ph, pw, eh, ew, dh, dw; } pe_pool2d_t;

/* Index (ih·W + iw) of the first maximum of window (oh, ow), or −1 when it holds no input position. */
static inline int pe_pool_argmax(const pe_pool2d_t *p, const float *x, int oh, int ow) {
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

void pe_maxpool2d(const pe_pool2d_t *p, const float *x, float *y) {
  const size_t inS = (size_t)p->H * p->W, outS = (size_t)p->OH * p->OW;
  #pragma omp parallel for schedule(static) if ((double)p->planes * outS * p->KH * p->KW > PE_PAR_WORK)
  for (int q = 0; q < p->planes; q++) {
    const float *xp = x + q * inS;
    for (int oh = 0; oh < p->OH; oh++) for (int ow = 0; ow < p->OW; ow++) {
      const int at = pe_pool_argmax(p, xp, oh, ow);
      y[q * outS + (size_t)oh * p->OW + ow] = at < 0 ? 0.0f : xp[at];
    }
  }
}

/* dx (overwritten): each dy routed to its window's first maximum. */
void pe_maxpool2d_grad(const pe_pool2d_t *p, const float *dy, const float *x, float *dx) {
  const size_t inS = (size_t)p->H * p->W, outS = (size_t)p->OH * p->OW;
  memset(dx, 0, sizeof(float) * inS * p->planes);
  #pragma omp parallel for schedule(static) if ((double)p->planes * outS * p->KH * p->KW > PE_PAR_WORK)
  for (int q = 0; q < p->planes; q++) {
    for (int oh = 0; oh < p->OH; oh++) for (int ow = 0; ow < p->OW; ow++) {
      const int at = pe_pool_argmax(p, x + q * inS, oh, ow);
      if (at >= 0) dx[q * inS + at] += dy[q * outS + (size_t)oh * p->OW + ow];
    }
  }
}

/* The divisor of window (oh, ow): its in-bounds positions, or with include_pad those inside the explicit pads. */
static inline int pe_pool_count(const pe_pool2d_t *p, int oh, int ow, int include_pad) {
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

void pe_avgpool2d(const pe_pool2d_t *p, int include_pad, const float *x, float *y) {
  const size_t inS = (size_t)p->H * p->W, outS = (size_t)p->OH * p->OW;
  for (int q = 0; q < p->planes; q++) {
    const float *xp = x + q * inS;
    for (int oh = 0; oh < p->OH; oh++) for (int ow = 0; ow < p->OW; ow++) {
      float s = 0.0f;
      for (int kh = 0; kh < p->KH; kh++) {
        const int ih = oh * p->sh - p->ph + kh * p->dh;
        if (ih < 0 || ih >= p->H) continue;
        for (int kw = 0; kw < p->KW; kw++) {
          const int iw = ow * p->sw - p->pw + kw * p->dw;
          if (iw >= 0 && iw < p->W) s += xp[ih * p->W + iw];
        }
      }
      const int cnt = pe_pool_count(p, oh, ow, include_pad);
      y[q * outS + (size_t)oh * p->OW + ow] = cnt > 0 ? s / cnt : 0.0f;
    }
  }
}

void pe_avgpool2d_grad(const pe_pool2d_t *p, int include_pad, const float *dy, float *dx) {
  const size_t inS = (size_t)p->H * p->W, outS = (size_t)p->OH * p->OW;
  memset(dx, 0, sizeof(float) * inS * p->planes);
  for (int q = 0; q < p->planes; q++) {
    float *dp = dx + q * inS;
    for (int oh = 0; oh < p->OH; oh++) for (int ow = 0; ow < p->OW; ow++) {
      const int cnt = pe_pool_count(p, oh, ow, include_pad);
      if (cnt == 0) continue;
      const float v = dy[q * outS + (size_t)oh * p->OW + ow] / cnt;
      for (int kh = 0; kh < p->KH; kh++) {
        const int ih = oh * p->sh - p->ph + kh * p->dh;
        if (ih < 0 || ih >= p->H) continue;
        for (int kw = 0; kw < p->KW; kw++) {
          const int iw = ow * p->sw - p->pw + kw * p->dw;
          if (iw >= 0 && iw < p->W) dp[ih * p->W + iw] += v;
        }
      }
    }
  }
}

void pe_global_avgpool(int planes, int S, const float *x, float *y) {
  for (int q = 0; q < planes; q++) {
    const float *r = x + (size_t)q * S;
    double s = 0.0;
    for (int i = 0; i < S; i++) s += r[i];
    y[q] = (float)(s / S);
  }
}

void pe_global_avgpool_grad(int planes, int S, const float *dy, float *dx) {
  for (int q = 0; q < planes; q++) {
    const float v = dy[q] / S;
    for (int i = 0; i < S; i++) dx[(size_t)q * S + i] = v;
  }
}
`,
};
