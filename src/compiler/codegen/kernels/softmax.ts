// Softmax / LogSoftmax over one axis of x viewed as [outer, n, inner], their gradients from the saved
// output, and the fused mean softmax cross-entropy loss (class axis last, int64 labels) with its gradient.

import type { CKernel } from './types';

export const softmax: CKernel = {
  name: 'softmax',
  deps: ['common'],
  source: String.raw`/* ---- softmax ---- */
void pe_softmax(int outer, int n, int inner, int logsm, const float *x, float *y) {
  for (int o = 0; o < outer; o++) for (int j = 0; j < inner; j++) {
    const size_t base = (size_t)o * n * inner + j;
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
}

/* Softmax: dx = y·(dy − Σ dy·y).  LogSoftmax: dx = dy − exp(y)·Σ dy. */
void pe_softmax_grad(int outer, int n, int inner, int logsm, const float *dy, const float *y, float *dx) {
  for (int o = 0; o < outer; o++) for (int j = 0; j < inner; j++) {
    const size_t base = (size_t)o * n * inner + j;
    double s = 0.0;
    for (int i = 0; i < n; i++) { const size_t k = base + (size_t)i * inner; s += logsm ? dy[k] : (double)dy[k] * y[k]; }
    for (int i = 0; i < n; i++) {
      const size_t k = base + (size_t)i * inner;
      dx[k] = logsm ? (float)(dy[k] - exp((double)y[k]) * s) : (float)(y[k] * (dy[k] - s));
    }
  }
}

/* loss[0] = mean over rows of (logsumexp(x_row) − x_row[label]). */
void pe_softmax_xent(int rows, int C, const float *x, const int64_t *labels, float *loss) {
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

/* dx = dloss/rows · (softmax(x) − onehot(label)). */
void pe_softmax_xent_grad(int rows, int C, const float *dloss, const float *x, const int64_t *labels, float *dx) {
  const double k0 = (double)dloss[0] / rows;
  for (int r = 0; r < rows; r++) {
    const float *xr = x + (size_t)r * C;
    float *d = dx + (size_t)r * C;
    float m = -INFINITY;
    for (int k = 0; k < C; k++) m = PE_MAX(m, xr[k]);
    double s = 0.0;
    for (int k = 0; k < C; k++) s += exp((double)xr[k] - m);
    for (int k = 0; k < C; k++) d[k] = (float)(k0 * (exp((double)xr[k] - m) / s - (k == labels[r] ? 1.0 : 0.0)));
  }
}
`,
};
