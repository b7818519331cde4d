// BatchNormalization for the emitted C, x viewed as [N, C, S]: training forward (batch statistics; the
// running statistics updated in place with PyTorch's unbiased variance, as the reference runtime does),
// inference forward, and the backward with batch statistics or with frozen running statistics.
// Statistics accumulate in double.

import type { CKernel } from './types';

export const norm: CKernel = {
  name: 'norm',
  deps: ['common'],
  source: String.raw`/* ---- norm ---- */
static void pe_bn_stats(int N, int C, int S, const float *x, int c, double *mean, double *var) {
  const double cnt = (double)N * S;
  double s = 0.0;
  for (int n = 0; n < N; n++) { const float *r = x + ((size_t)n * C + c) * S; for (int i = 0; i < S; i++) s += r[i]; }
  const double m = s / cnt;
  double q = 0.0;
  for (int n = 0; n < N; n++) { const float *r = x + ((size_t)n * C + c) * S; for (int i = 0; i < S; i++) { const double d = r[i] - m; q += d * d; } }
  *mean = m; *var = q / cnt;
}

/* Training mode: y from batch statistics; running_mean/var updated in place (momentum as ONNX: new =
   old·momentum + batch·(1 − momentum)); saved_mean/var (may be NULL) get the batch statistics. */
void pe_batchnorm_train(int N, int C, int S, const float *x, const float *scale, const float *bias, float *running_mean, float *running_var,
                        float momentum, float eps, float *y, float *saved_mean, float *saved_var) {
  const double cnt = (double)N * S, unbias = cnt > 1 ? cnt / (cnt - 1) : 1.0;
  #pragma omp parallel for schedule(static) if ((double)N * C * S > PE_PAR_WORK)
  for (int c = 0; c < C; c++) {
    double m, v;
    pe_bn_stats(N, C, S, x, c, &m, &v);
    const double k = scale[c] / sqrt(v + eps), b = bias[c] - m * k;
    for (int n = 0; n < N; n++) {
      const float *xr = x + ((size_t)n * C + c) * S;
      float *yr = y + ((size_t)n * C + c) * S;
      const float kf = (float)k, bf = (float)b;
      for (int i = 0; i < S; i++) yr[i] = xr[i] * kf + bf;
    }
    if (running_mean) running_mean[c] = (float)(running_mean[c] * (double)momentum + m * (1.0 - momentum));
    if (running_var) running_var[c] = (float)(running_var[c] * (double)momentum + v * unbias * (1.0 - momentum));
    if (saved_mean) saved_mean[c] = (float)m;
    if (saved_var) saved_var[c] = (float)v;
  }
}

void pe_batchnorm_infer(int N, int C, int S, const float *x, const float *scale, const float *bias, const float *mean, const float *var, float eps, float *y) {
  for (int c = 0; c < C; c++) {
    const double k = scale[c] / sqrt((double)var[c] + eps), b = bias[c] - mean[c] * k;
    const float kf = (float)k, bf = (float)b;
    for (int n = 0; n < N; n++) {
      const float *xr = x + ((size_t)n * C + c) * S;
      float *yr = y + ((size_t)n * C + c) * S;
      for (int i = 0; i < S; i++) yr[i] = xr[i] * kf + bf;
    }
  }
}

/* Batch statistics: dx = scale·invstd/m · (m·dy − Σdy − x̂·Σ(dy·x̂)); dscale = Σ dy·x̂; dbias = Σ dy.
   dx, dscale, dbias may each be NULL when not needed (pruned). */
void pe_batchnorm_grad(int N, int C, int S, const float *dy, const float *x, const float *scale, float eps, float *dx, float *dscale, float *dbias) {
  const double cnt = (double)N * S;
  #pragma omp parallel for schedule(static) if ((double)N * C * S > PE_PAR_WORK)
  for (int c = 0; c < C; c++) {
    double m, v;
    pe_bn_stats(N, C, S, x, c, &m, &v);
    const double inv = 1.0 / sqrt(v + eps);
    double sg = 0.0, sgx = 0.0;
    for (int n = 0; n < N; n++) {
      const float *xr = x + ((size_t)n * C + c) * S, *gr = dy + ((size_t)n * C + c) * S;
      for (int i = 0; i < S; i++) { sg += gr[i]; sgx += gr[i] * ((xr[i] - m) * inv); }
    }
    if (dscale) dscale[c] = (float)sgx;
    if (dbias) dbias[c] = (float)sg;
    if (dx) {
      const double g = scale[c];
      for (int n = 0; n < N; n++) {
        const float *xr = x + ((size_t)n * C + c) * S, *gr = dy + ((size_t)n * C + c) * S;
        float *d = dx + ((size_t)n * C + c) * S;
        for (int i = 0; i < S; i++) d[i] = (float)((inv / cnt) * (cnt * gr[i] * g - g * sg - ((xr[i] - m) * inv) * g * sgx));
      }
    }
  }
}

/* Frozen running statistics: dx = dy·scale·invstd; dscale = Σ dy·(x − mean)·invstd; dbias = Σ dy. */
void pe_batchnorm_grad_frozen(int N, int C, int S, const float *dy, const float *x, const float *scale, const float *mean, const float *var,
                              float eps, float *dx, float *dscale, float *dbias) {
  for (int c = 0; c < C; c++) {
    const double inv = 1.0 / sqrt((double)var[c] + eps), k = scale[c] * inv;
    double ds = 0.0, db = 0.0;
    for (int n = 0; n < N; n++) {
      const float *xr = x + ((size_t)n * C + c) * S, *gr = dy + ((size_t)n * C + c) * S;
      for (int i = 0; i < S; i++) {
        if (dx) dx[((size_t)n * C + c) * S + i] = (float)(gr[i] * k);
        ds += gr[i] * (xr[i] - mean[c]) * inv;
        db += gr[i];
      }
    }
    if (dscale) dscale[c] = (float)ds;
    if (dbias) dbias[c] = (float)db;
  }
}
`,
};
