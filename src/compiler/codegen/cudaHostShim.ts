// A stand-in for <cuda_runtime.h> that lets step_cuda.cu compile as plain C++ (`g++ -x c++ -I<shim dir>`)
// and run on the CPU: __global__/__device__ vanish, blockIdx/threadIdx/blockDim are globals that
// PE_LAUNCH sets while it calls the kernel once per thread of every block in turn, managed memory is an
// aligned malloc and copies are memmove. The kernels use no shared memory, barriers or order-dependent
// atomics (cudaKernels.ts), so this serial run computes exactly what the GPU would, up to the device's
// own math library. At exit it prints how many launchers ran, so a test can check that every GPU
// operator of the step went through its launcher. Written into an export only on request (a test and
// development aid); a board builds step_cuda.cu with the real CUDA toolkit.

export const CUDA_HOST_SHIM_DIR = 'cuda-host-shim';

export const CUDA_HOST_SHIM = String.raw`/* Host emulation of the CUDA runtime for step_cuda.cu (exportTraining with cudaHostShim: true): runs the kernels on the CPU. Not CUDA. */
#ifndef PE_CUDA_HOST_SHIM
#define PE_CUDA_HOST_SHIM 1
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline

struct dim3 { unsigned x, y, z; };
static dim3 gridDim = {1, 1, 1}, blockDim = {1, 1, 1}, blockIdx = {0, 0, 0}, threadIdx = {0, 0, 0};

typedef int cudaError_t;
typedef void *cudaStream_t;
enum { cudaSuccess = 0, cudaErrorMemoryAllocation = 2 };
enum cudaMemcpyKind { cudaMemcpyHostToHost = 0, cudaMemcpyHostToDevice = 1, cudaMemcpyDeviceToHost = 2, cudaMemcpyDeviceToDevice = 3, cudaMemcpyDefault = 4 };
#define cudaMemAttachGlobal 1u

static inline const char *cudaGetErrorString(cudaError_t e) { return e == cudaSuccess ? "no error" : e == cudaErrorMemoryAllocation ? "out of memory" : "unknown error"; }
static inline cudaError_t cudaGetLastError(void) { return cudaSuccess; }
static inline cudaError_t cudaDeviceSynchronize(void) { return cudaSuccess; }
static inline cudaError_t cudaMallocManaged(void **p, size_t bytes, unsigned flags = cudaMemAttachGlobal) {
  (void)flags;
  *p = aligned_alloc(256, (bytes + 255) / 256 * 256);
  if (*p) memset(*p, 0, bytes);
  return *p ? cudaSuccess : cudaErrorMemoryAllocation;
}
static inline cudaError_t cudaMalloc(void **p, size_t bytes) { return cudaMallocManaged(p, bytes); }
static inline cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind, cudaStream_t s = 0) {
  (void)kind; (void)s; memmove(dst, src, bytes); return cudaSuccess;
}
static inline cudaError_t cudaMemsetAsync(void *p, int v, size_t bytes, cudaStream_t s = 0) { (void)s; memset(p, v, bytes); return cudaSuccess; }

/* Counters printed at exit: launcher calls, distinct launchers called, kernel launches. */
#define PE_SHIM_MAX_LAUNCHERS 65536
static unsigned long pe_shim_calls, pe_shim_kernels;
static unsigned char pe_shim_seen[PE_SHIM_MAX_LAUNCHERS];
static void pe_shim_report(void) {
  unsigned long distinct = 0;
  for (int k = 0; k < PE_SHIM_MAX_LAUNCHERS; k++) distinct += pe_shim_seen[k];
  fprintf(stderr, "pe_cuda_shim: %lu launcher calls, %lu distinct launchers, %lu kernel launches\n", pe_shim_calls, distinct, pe_shim_kernels);
}
static struct pe_shim_init { pe_shim_init() { atexit(pe_shim_report); } } pe_shim_init_;
#define PE_GPU_ENTER(k) do { pe_shim_calls++; if ((k) < PE_SHIM_MAX_LAUNCHERS) pe_shim_seen[(k)] = 1; } while (0)

/* Every thread of every block, one after another. */
#define PE_BLOCK 256
#define PE_LAUNCH(kernel, n, ...) do { \
    const size_t pe_n_ = (size_t)(n); \
    if (pe_n_) { \
      pe_shim_kernels++; \
      gridDim.x = (unsigned)((pe_n_ + PE_BLOCK - 1) / PE_BLOCK); blockDim.x = PE_BLOCK; \
      for (blockIdx.x = 0; blockIdx.x < gridDim.x; blockIdx.x++) \
        for (threadIdx.x = 0; threadIdx.x < blockDim.x; threadIdx.x++) kernel(__VA_ARGS__); \
    } \
  } while (0)
#endif
`;
