// The prelude every emitted C file starts with: headers, the OpenMP shim (builds without -fopenmp run on
// one thread) and small helpers shared by the kernel families.

import type { CKernel } from './types';

export const common: CKernel = {
  name: 'common',
  deps: [],
  source: String.raw`#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <math.h>
#ifdef _OPENMP
#include <omp.h>
#define PE_THREAD_ID() omp_get_thread_num()
#define PE_NUM_THREADS() omp_get_num_threads()
#else
#define PE_THREAD_ID() 0
#define PE_NUM_THREADS() 1
#endif
#define PE_MIN(a, b) ((a) < (b) ? (a) : (b))
#define PE_MAX(a, b) ((a) > (b) ? (a) : (b))
/* Parallelise a loop only when it has enough work to pay for waking the threads. */
#define PE_PAR_WORK 32768

/* Tensors of up to PE_MAX_RANK dims are walked as an odometer over (dims, per-operand strides). */
#define PE_MAX_RANK 8

/* ceil(a / b) for b > 0 and any sign of a. */
static inline int pe_ceil_div(int a, int b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }
/* floor(a / b) for b > 0 and any sign of a. */
static inline int pe_floor_div(int a, int b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
`,
};
