// Optimizer updates for the emitted C, in place on the parameter and its state, with torch.optim's
// semantics (as the reference runtime's SGD / Adam operators). A sparse 'channels' update (the update
// node's `channel_axis`) touches only the first k channels along that axis: the parameter viewed as
// [outer, c, inner], the gradient and the state as [outer, k, inner]. On axis 0 that is a prefix of the
// parameter, so the kernels take a length; the _sliced forms run it once per outer block (a Gemm weight
// [K, N] slices its columns, axis 1). Arithmetic in double, as the runtime's.

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

/* The channel-sliced forms: p is [outer, c, inner]; g, buf / m, v are [outer, k, inner]. */
void pe_sgd_sliced(int outer, int k, int c, int inner, float *p, const float *g, float *buf, float lr, float momentum, float dampening, float wd, int nesterov, int first) {
  const size_t run = (size_t)k * inner;
  for (int o = 0; o < outer; o++)
    pe_sgd(run, p + (size_t)o * c * inner, g + o * run, buf ? buf + o * run : NULL, lr, momentum, dampening, wd, nesterov, first);
}

void pe_adam_sliced(int outer, int k, int c, int inner, float *p, const float *g, float *m, float *v, long t, float lr, float beta1, float beta2, float eps, float wd, int decoupled) {
  const size_t run = (size_t)k * inner;
  for (int o = 0; o < outer; o++)
    pe_adam(run, p + (size_t)o * c * inner, g + o * run, m + o * run, v + o * run, t, lr, beta1, beta2, eps, wd, decoupled);
}
`,
};
