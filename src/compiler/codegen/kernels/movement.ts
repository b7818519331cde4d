// Gather (embedding lookup) and its scatter-add backward for the emitted C. x is viewed as
// [outer, n, inner] around the gather axis; indices are int64 as ONNX stores them (negative ones count
// from the end).

import type { CKernel } from './types';

export const movement: CKernel = {
  name: 'movement',
  deps: ['common', 'reduce'],
  source: String.raw`/* ---- movement ---- */
/* y[o][j][:] = x[o][idx[j]][:]. */
void pe_gather(int outer, int nidx, int n, int inner, const float *x, const int64_t *idx, float *y) {
  for (int o = 0; o < outer; o++) for (int j = 0; j < nidx; j++) {
    int64_t k = idx[j];
    if (k < 0) k += n;
    memcpy(y + ((size_t)o * nidx + j) * inner, x + ((size_t)o * n + (size_t)k) * inner, sizeof(float) * (size_t)inner);
  }
}

/* dx (overwritten) = Σ over j of dy[o][j][:] added at row idx[j] (repeated indices accumulate). */
void pe_gather_grad(int outer, int nidx, int n, int inner, const float *dy, const int64_t *idx, float *dx) {
  memset(dx, 0, sizeof(float) * (size_t)outer * n * inner);
  for (int o = 0; o < outer; o++) for (int j = 0; j < nidx; j++) {
    int64_t k = idx[j];
    if (k < 0) k += n;
    float *d = dx + ((size_t)o * n + (size_t)k) * inner;
    const float *s = dy + ((size_t)o * nidx + j) * inner;
    for (int i = 0; i < inner; i++) d[i] += s[i];
  }
}
`,
};
