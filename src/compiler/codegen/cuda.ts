// CUDA C for the operators the backend assignment put on a Jetson's GPU: one launcher per operator
// (`pe_gpu_<k>(unsigned char *arena)`, the arena being the plan's, in unified memory on Jetson boards)
// over a few device kernels: naive GEMM / batched MatMul, direct 2-D convolution, pointwise operators,
// activation gradients and SGD. Operators of other kinds listed in the file run on the CPU kernels.
// The sources are compiled here with `nvcc -c` for sm_87 (Orin) and sm_53 (Nano); no GPU needed.

import type { Tensor } from '../ir/tensor';
import type { CompileResult } from '../compile';
import type { Node } from '../ir/graph';
import { attrFloat, attrInt } from '../ir/graph';
import { slotResolver } from './cstep';
import { UNARY_OPS, UNARY_GRAD_OPS } from './kernels/elementwise';

export function cudaOps(r: CompileResult): Node[] {
  return r.program.order.filter((_, i) => /gpu|cuda/i.test(r.assignment.ops[i]?.unit ?? ''));
}

const DEVICE = String.raw`#include <cuda_runtime.h>
#include <stdint.h>
#include <math.h>

__device__ static float pe_d_unary(int op, float x, float p0, float p1) {
  switch (op) {
    case ${UNARY_OPS.Relu}: return x > 0.f ? x : 0.f;
    case ${UNARY_OPS.Neg}: return -x;
    case ${UNARY_OPS.Sigmoid}: return 1.f / (1.f + expf(-x));
    case ${UNARY_OPS.Tanh}: return tanhf(x);
    case ${UNARY_OPS.Exp}: return expf(x);
    case ${UNARY_OPS.Sqrt}: return sqrtf(x);
    case ${UNARY_OPS.Clip}: return fminf(fmaxf(x, p0), p1);
    default: return x;
  }
}
__device__ static float pe_d_unary_grad(int op, float dy, float s, float p0, float p1) {
  switch (op) {
    case ${UNARY_GRAD_OPS.ReluGrad}: return s > 0.f ? dy : 0.f;
    case ${UNARY_GRAD_OPS.SigmoidGrad}: return dy * s * (1.f - s);
    case ${UNARY_GRAD_OPS.TanhGrad}: return dy * (1.f - s * s);
    case ${UNARY_GRAD_OPS.ClipGrad}: return (s > p0 && s < p1) ? dy : 0.f;
    default: return dy;
  }
}
__global__ void pe_k_unary(int op, size_t n, const float *x, float *y, float p0, float p1) {
  size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; if (i < n) y[i] = pe_d_unary(op, x[i], p0, p1);
}
__global__ void pe_k_unary_grad(int op, size_t n, const float *dy, const float *s, float *dx, float p0, float p1) {
  size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; if (i < n) dx[i] = pe_d_unary_grad(op, dy[i], s[i], p0, p1);
}
/* y = a op b with b repeating every nb elements (same shape, scalar or trailing broadcast). */
__global__ void pe_k_binary(int op, size_t n, const float *a, const float *b, size_t nb, float *y) {
  size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; if (i >= n) return;
  float u = a[i], v = b[i % nb];
  y[i] = op == 0 ? u + v : op == 1 ? u - v : op == 2 ? u * v : op == 3 ? u / v : powf(u, v);
}
__global__ void pe_k_sgd(size_t n, float *p, const float *g, float lr) {
  size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; if (i < n) p[i] -= lr * g[i];
}
/* Batched C[b] = op(A[b]) op(B[b]) (+ bias row): one thread per output element. */
__global__ void pe_k_gemm(int batch, int M, int N, int K, int ta, int tb, size_t sa, size_t sb, float alpha, const float *A, const float *B, const float *bias, float beta, float *C) {
  size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; if (i >= (size_t)batch * M * N) return;
  int bt = (int)(i / ((size_t)M * N)), m = (int)(i / N % M), n = (int)(i % N);
  const float *a = A + bt * sa, *b = B + bt * sb;
  float acc = 0.f;
  for (int k = 0; k < K; k++) acc += (ta ? a[(size_t)k * M + m] : a[(size_t)m * K + k]) * (tb ? b[(size_t)n * K + k] : b[(size_t)k * N + n]);
  C[i] = alpha * acc + (bias ? beta * bias[n] : 0.f);
}
/* Direct 2-D convolution, grouped, one thread per output element. */
__global__ void pe_k_conv2d(int N, int C, int H, int W, int M, int KH, int KW, int OH, int OW, int sh, int sw, int ph, int pw, int dh, int dw, int group,
                            const float *x, const float *w, const float *bias, float *y) {
  size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; if (i >= (size_t)N * M * OH * OW) return;
  int ow = i % OW, oh = i / OW % OH, m = i / ((size_t)OW * OH) % M, n = i / ((size_t)OW * OH * M);
  int cg = C / group, g = m / (M / group);
  float acc = bias ? bias[m] : 0.f;
  for (int c = 0; c < cg; c++) for (int kh = 0; kh < KH; kh++) {
    int ih = oh * sh - ph + kh * dh; if (ih < 0 || ih >= H) continue;
    for (int kw = 0; kw < KW; kw++) {
      int iw = ow * sw - pw + kw * dw; if (iw < 0 || iw >= W) continue;
      acc += x[(((size_t)n * C + g * cg + c) * H + ih) * W + iw] * w[(((size_t)m * cg + c) * KH + kh) * KW + kw];
    }
  }
  y[i] = acc;
}
#define PE_GRID(n) (unsigned)(((n) + 255) / 256), 256
`;

export function emitCuda(r: CompileResult, values: Map<string, Tensor>, ops: Node[]): string {
  const slotOf = slotResolver(r);
  const at = (v: string): string => {
    const t = slotOf(v);
    if (!t) throw new Error(`value "${v}" has no place in the memory plan`);
    return `(float *)(arena + ${t.offset})`;
  };
  const dims = (v: string): number[] => values.get(v)?.dims ?? [];
  const numel = (d: number[]): number => d.reduce((p, x) => p * x, 1);
  const launchers: string[] = [];
  const onCpu: string[] = [];
  ops.forEach((n, k) => {
    const [i0, i1, i2] = n.inputs, o0 = n.outputs[0];
    let body: string | undefined;
    if (n.opType in UNARY_OPS && ['Relu', 'Neg', 'Sigmoid', 'Tanh', 'Exp', 'Sqrt'].includes(n.opType)) {
      body = `pe_k_unary<<<PE_GRID(${numel(dims(i0))})>>>(${UNARY_OPS[n.opType as keyof typeof UNARY_OPS]}, ${numel(dims(i0))}, ${at(i0)}, ${at(o0)}, 0.f, 0.f);`;
    } else if (['ReluGrad', 'SigmoidGrad', 'TanhGrad'].includes(n.opType)) {
      body = `pe_k_unary_grad<<<PE_GRID(${numel(dims(i0))})>>>(${UNARY_GRAD_OPS[n.opType as keyof typeof UNARY_GRAD_OPS]}, ${numel(dims(i0))}, ${at(i0)}, ${at(i1)}, ${at(o0)}, 0.f, 0.f);`;
    } else if (['Add', 'Sub', 'Mul', 'Div'].includes(n.opType) && values.get(i0)?.dtype === 'float32') {
      const a = dims(i0), b = dims(i1), na = numel(a), nb = numel(b);
      const trailing = nb === 1 || (b.length <= a.length && b.every((d, i) => d === a[a.length - b.length + i]));
      if (trailing && numel(dims(o0)) === na) body = `pe_k_binary<<<PE_GRID(${na})>>>(${['Add', 'Sub', 'Mul', 'Div'].indexOf(n.opType)}, ${na}, ${at(i0)}, ${at(i1)}, ${nb}, ${at(o0)});`;
    } else if (n.opType === 'SGD' && attrFloat(n, 'momentum', 0) === 0 && !n.attrs.channels) {
      const src = slotOf(i0), dst = slotOf(o0);
      if (src && dst && src.offset === dst.offset) body = `pe_k_sgd<<<PE_GRID(${numel(dims(i1))})>>>(${numel(dims(i1))}, ${at(o0)}, ${at(i1)}, ${attrFloat(n, 'lr', 0.01)}f);`;
    } else if (n.opType === 'Gemm') {
      const a = dims(i0), bb = dims(i1), ta = attrInt(n, 'transA', 0), tb = attrInt(n, 'transB', 0);
      const M = ta ? a[1] : a[0], K = ta ? a[0] : a[1], N = tb ? bb[0] : bb[1];
      const biasRow = i2 && numel(dims(i2)) === N;
      if (!i2 || biasRow) body = `pe_k_gemm<<<PE_GRID(${M * N})>>>(1, ${M}, ${N}, ${K}, ${ta}, ${tb}, 0, 0, ${attrFloat(n, 'alpha', 1)}f, ${at(i0)}, ${at(i1)}, ${i2 ? at(i2) : 'NULL'}, ${attrFloat(n, 'beta', 1)}f, ${at(o0)});`;
    } else if (n.opType === 'Conv') {
      const x = dims(i0), w = dims(i1), y = dims(o0);
      if (x.length === 4) {
        const pads = (n.attrs.pads ? (n.attrs.pads as { ints?: number[] }).ints : undefined) ?? [0, 0, 0, 0];
        const st = (n.attrs.strides ? (n.attrs.strides as { ints?: number[] }).ints : undefined) ?? [1, 1];
        const dl = (n.attrs.dilations ? (n.attrs.dilations as { ints?: number[] }).ints : undefined) ?? [1, 1];
        const g = attrInt(n, 'group', 1);
        body = `pe_k_conv2d<<<PE_GRID(${numel(y)})>>>(${x[0]}, ${x[1]}, ${x[2]}, ${x[3]}, ${w[0]}, ${w[2]}, ${w[3]}, ${y[2]}, ${y[3]}, ${st[0]}, ${st[1]}, ${pads[0]}, ${pads[1]}, ${dl[0]}, ${dl[1]}, ${g}, ${at(i0)}, ${at(i1)}, ${i2 ? at(i2) : 'NULL'}, ${at(o0)});`;
      }
    }
    if (body) launchers.push(`/* ${n.id}: ${n.opType} */\nextern "C" void pe_gpu_${k}(unsigned char *arena) {\n  ${body}\n}`);
    else onCpu.push(`${n.id} (${n.opType})`);
  });
  return `/* GPU operators of ${r.model.name || 'the model'} for ${r.target}: generated by pockengine export, do not edit.
   ${launchers.length} of the ${ops.length} operators the backend assignment put on the GPU have CUDA launchers here;
   the rest run on the CPU kernels of step.c: ${onCpu.length ? onCpu.slice(0, 40).join(', ') + (onCpu.length > 40 ? ', ...' : '') : 'none'}. */
${DEVICE}
${launchers.join('\n\n')}
`;
}
