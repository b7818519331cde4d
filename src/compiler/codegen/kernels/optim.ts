// Optimizer updates for the emitted C, in place on the parameter and its state, with torch.optim's
// semantics (as the reference runtime's SGD / Adam operators). A sparse 'channels' update passes only the
// first k output channels: in ONNX layout [M, ...] they are the first n = k·(size / M) elements, so the
// kernels take a length and the caller passes that prefix. Arithmetic in double, as the runtime's.

import type { CKernel } from './types';

export const optim: CKernel = {
  name: 'optim',
  deps: ['common'],
  source: String.raw`/* ---- optim ---- */
/* SGD with momentum, dampening, weight decay, Nesterov. buf may be NULL when momentum is 0; first != 0 on
   the first step (torch then sets the buffer to the gradient, without dampening). */
void pe_sgd(size_t n, float *p, const float *g, float *buf, float lr, float momentum, float dampening, float wd, int nesterov, int first) {
  const double lrd = lr, md = momentum, dd = dampening, wdd = wd;
  if (momentum == 0.0f || !buf) {
    for (size_t i = 0; i < n; i++) p[i] = (float)(p[i] - lrd * (g[i] + wdd * p[i]));
    return;
  }
  for (size_t i = 0; i < n; i++) {
    const double d = g[i] + wdd * p[i];
    const float b = (float)(first ? d : md * buf[i] + (1.0 - dd) * d);
    buf[i] = b;
    p[i] = (float)(p[i] - lrd * (nesterov ? d + md * b : (double)b));
  }
}

/* Adam / AdamW (decoupled) at step t (1 for the first update). */
void pe_adam(size_t n, float *p, const float *g, float *m, float *v, long t, float lr, float beta1, float beta2, float eps, float wd, int decoupled) {
  const double b1 = beta1, b2 = beta2, lrd = lr;
  const double bc1 = 1.0 - pow(b1, (double)t), bc2 = 1.0 - pow(b2, (double)t);
  const double step = lrd / bc1, bc2s = sqrt(bc2);
  for (size_t i = 0; i < n; i++) {
    double pi = p[i], gi = g[i];
    if (decoupled) pi *= 1.0 - lrd * wd;
    else gi += (double)wd * pi;
    const double mi = b1 * m[i] + (1.0 - b1) * gi, vi = b2 * v[i] + (1.0 - b2) * gi * gi;
    m[i] = (float)mi; v[i] = (float)vi;
    p[i] = (float)(pi - (step * mi) / (sqrt(vi) / bc2s + (double)eps));
  }
}
`,
};
