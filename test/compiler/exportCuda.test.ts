// Proof of the Jetson GPU export without a GPU: step_cuda.cu is built with g++ against the export's host
// shim of the CUDA runtime (every kernel run serially, thread by thread), linked with step.c and main.c
// built with -DPE_CUDA, and run on the fixtures' batches. Its first loss is PyTorch's, its loss after one
// SGD step is PyTorch's, its parameters after one step are the reference runtime's (1e-5 relative), and
// the shim's counter shows every GPU operator went through its launcher. The assignment for the Orin Nano
// keeps the MLP and tiny LLaMA wholly on the CPU (their operators are too small for a kernel launch), so
// those two are forced onto the GPU with a layer override; MobileNetV2 and the CNN mix both units as
// assigned, and also run with every operator on the GPU. Masks are bit-packed. MobileNetV2's step_cuda.cu
// is also compiled with the real nvcc for sm_87.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { exportTraining, type ExportResult } from '../../src/compiler/export/exportTraining';
import { loadModel } from '../../src/compiler/loadModel';
import { compile } from '../../src/compiler/compile';
import { TrainingSession } from '../../src/compiler/train/session';
import { readBatch } from '../../src/compiler/train/data';
import { findToolchain } from '../../src/compiler/codegen/toolchains';
import { CUDA_OPS, GPU_PROFILE_OPS, nd, reduceSpec } from '../../src/compiler/codegen/cuda';
import { CUDA_KERNELS } from '../../src/compiler/codegen/cudaKernels';
import { CUDA_HOST_SHIM, CUDA_HOST_SHIM_DIR } from '../../src/compiler/codegen/cudaHostShim';
import { emitKernels, opFamilies } from '../../src/compiler/codegen/kernels';
import { conv2dInit, type Conv2dParams } from '../../src/compiler/codegen/kernels/conv';
import { pool2dInit } from '../../src/compiler/codegen/kernels/pool';
import { BINARY_OPS, UNARY_GRAD_OPS, UNARY_OPS, binaryArgs } from '../../src/compiler/codegen/kernels/elementwise';
import { reduceArgs } from '../../src/compiler/codegen/kernels/reduce';
import { getProfile } from '../../src/compiler/backends/profiles';
import type { Tensor } from '../../src/compiler/ir/tensor';
import type { OptimizerSpec } from '../../src/compiler/train/optimizer';
import { fixtures, lossJson, referenceParams, rel, worstSavedParam } from './support/exportCheck';

const run = promisify(execFile);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'pe-export-cuda-'));
const SPARSE: Record<string, string> = { mlp: 'last-1', cnn_small: 'last-2', mobilenetv2_035: 'last-2', tiny_llama: 'last-1' };
const ALL_ON_GPU = { layers: [{ match: '*', unit: 'gpu' }] };

interface Case { model: string; scheme: string; allOnGpu: boolean }
const CASES: Case[] = [
  ...Object.keys(SPARSE).flatMap((model) => ['full', SPARSE[model]].map((scheme) => ({ model, scheme, allOnGpu: model === 'mlp' || model === 'tiny_llama' }))),
  { model: 'mobilenetv2_035', scheme: 'full', allOnGpu: true },
  { model: 'cnn_small', scheme: 'full', allOnGpu: true },
];

interface Emulated { res: ExportResult; bin: string; buildMs: number }
const exports = new Map<string, Promise<Emulated>>();
const keyOf = (c: Case): string => `${c.model}-${c.scheme}${c.allOnGpu ? '-allgpu' : ''}`;

/** Exports for the Orin Nano with the host shim (masks bit-packed, as the plan the views show), then builds step.c/main.c with gcc -DPE_CUDA and step_cuda.cu with g++. */
function emulated(c: Case): Promise<Emulated> {
  const key = keyOf(c);
  if (!exports.has(key)) {
    exports.set(key, (async () => {
      const res = await exportTraining({
        model: path.join(fixtures, c.model, 'model.onnx'), scheme: c.scheme, target: 'jetson-orin-nano', format: 'c', out: path.join(work, key),
        cudaHostShim: true, bitPackMasks: true, backendOverrides: c.allOnGpu ? ALL_ON_GPU : undefined,
      });
      const t0 = performance.now();
      const opts = { cwd: res.out, timeout: 300_000, maxBuffer: 16 << 20 };
      await run('gcc', ['-O1', '-std=gnu99', '-DPE_CUDA', '-fopenmp', '-c', 'main.c', 'step.c'], opts);
      await run('g++', ['-O1', '-x', 'c++', `-I${CUDA_HOST_SHIM_DIR}`, '-c', 'step_cuda.cu', '-o', 'step_cuda.o'], opts);
      await run('g++', ['-fopenmp', 'main.o', 'step.o', 'step_cuda.o', '-o', 'train-emulated', '-lm'], opts);
      return { res, bin: path.join(res.out, 'train-emulated'), buildMs: performance.now() - t0 };
    })());
  }
  return exports.get(key)!;
}

interface RunOut { losses: number[]; calls: number; distinct: number; kernels: number }
async function runEmulated(bin: string, args: string[]): Promise<RunOut> {
  const { stdout, stderr } = await run(bin, args, { timeout: 300_000, maxBuffer: 16 << 20, env: { ...process.env, OMP_NUM_THREADS: '2' } });
  const losses = stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>).filter((l) => 'step' in l).map((l) => l.loss);
  const m = /pe_cuda_shim: (\d+) launcher calls, (\d+) distinct launchers, (\d+) kernel launches/.exec(stderr);
  assert.ok(m, `no launch counter on stderr: ${stderr}`);
  return { losses, calls: +m[1], distinct: +m[2], kernels: +m[3] };
}


test('the Jetson profiles put on the GPU exactly the operators that have CUDA launchers', () => {
  for (const name of ['jetson-nano', 'jetson-orin-nano', 'jetson-agx-orin']) {
    const gpu = getProfile(name).units.find((u) => u.kind === 'gpu')!;
    assert.ok(typeof gpu.ops === 'object' && 'only' in gpu.ops, `${name}: the GPU unit lists its operators`);
    assert.deepEqual([...gpu.ops.only].sort(), [...GPU_PROFILE_OPS].sort(), `${name}: GPU ops`);
  }
  // Constant is the one listed operator without a launcher: it is folded before the step.
  assert.deepEqual(GPU_PROFILE_OPS.filter((op) => !CUDA_OPS.includes(op)), ['Constant']);
  // Each launcher stands for a C kernel: the CPU build of the same step.c runs every one of them too.
  assert.deepEqual(CUDA_OPS.filter((op) => !(op in opFamilies)), []);
});

for (const c of CASES) {
  const how = c.allOnGpu ? 'every operator on the GPU' : 'as assigned';
  test(`Jetson Orin Nano export of ${c.model}, scheme ${c.scheme}, ${how}: step_cuda.cu under the host shim gives PyTorch's losses and the reference runtime's parameters`, async () => {
    const t0 = performance.now();
    const { res, bin, buildMs } = await emulated(c);
    const cuda = res.manifest.cuda!;
    const gpu = cuda.gpuOperators;
    assert.ok(gpu > 0, 'operators run on the GPU');
    assert.equal(res.manifest.step.cudaOperators, gpu);
    assert.deepEqual(cuda.cpuFallback, [], 'every GPU-assigned operator has a CUDA launcher');
    const stepC = fs.readFileSync(path.join(res.out, 'step.c'), 'utf8'), cu = fs.readFileSync(path.join(res.out, 'step_cuda.cu'), 'utf8');
    assert.equal(stepC.match(/pe_gpu_\d+\(o\);/g)?.length, gpu, 'step.c dispatches each GPU operator once');
    assert.equal(cu.match(/^extern "C" void pe_gpu_\d+\(void \*const \*o\) \{/gm)?.length, gpu, 'step_cuda.cu defines each launcher');
    // MobileNetV2 saves its ReLU6 masks as bits: the GPU writes and reads them, also across units when mixed.
    if (c.model === 'mobilenetv2_035') assert.ok(res.manifest.tensors.some((t) => t.name.endsWith('#mask')) && /PE_LAUNCH\(pe_k_mask_pack/.test(cu) && /PE_LAUNCH\(pe_k_mask_grad/.test(cu), 'masks are packed and read on the GPU');

    const data = path.join(fixtures, c.model, 'test_data');
    const two = await runEmulated(bin, ['--data', data, '--steps', '2', '--lr', '0.01']);
    const L = lossJson(c.model);
    const after = c.scheme === 'full' ? L.loss_after_sgd_full : L.loss_after_sgd_sparse;
    assert.equal(two.losses.length, 2);
    assert.ok(rel(two.losses[0], L.loss) <= 1e-5, `first loss ${two.losses[0]}, PyTorch ${L.loss}`);
    assert.ok(rel(two.losses[1], after) <= 1e-4, `loss after the step ${two.losses[1]}, PyTorch ${after}`);
    assert.equal(two.distinct, gpu, 'every GPU operator went through its launcher');
    assert.equal(two.calls, 2 * gpu, 'once per step');

    const saved = path.join(work, `${keyOf(c)}-saved`);
    await runEmulated(bin, ['--data', data, '--steps', '1', '--save', saved]);
    const cmp = worstSavedParam(referenceParams(c.model, c.scheme), saved);
    // As in export.test.ts: float32 rounding through MobileNetV2's 52 train-mode BatchNorms reaches 1.3e-5.
    const tol = c.model === 'mobilenetv2_035' && c.scheme === 'full' ? 2e-5 : 1e-5;
    assert.ok(cmp.worst <= tol, `parameter ${cmp.where} differs from the reference runtime by ${cmp.worst.toExponential(2)} (relative)`);
    console.log(`  ${keyOf(c)}: ${gpu} of ${res.manifest.step.operators} operators on the GPU (${two.kernels / 2} kernel launches a step); loss ${two.losses[0]} -> ${two.losses[1]}; worst parameter ${cmp.worst.toExponential(2)}; build ${(buildMs / 1000).toFixed(1)} s, case ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  });
}

/**
 * Each CUDA kernel against the C kernel it stands for, on the same inputs, beyond what the fixtures reach
 * (every unary and gradient code, dilated and grouped convolutions, overlapping pools, padding counted or
 * not, inner-axis softmax, middle-axis reductions, negative gather indices, the masks): the C kernels built
 * with gcc, the CUDA ones under the host shim, one program; it prints the worst difference of each pair.
 */
function kernelPairsSource(): string {
  const lines: string[] = [];
  const L = (x: string): void => { lines.push(`  ${x}`); };
  const f = (x: number): string => (Number.isInteger(x) ? `${x}.0f` : `${x}f`);
  // Unary codes with their parameters; the inputs span both signs, the Softplus threshold and zero.
  const unary: [number, number, number][] = Object.values(UNARY_OPS).map((code) => [code, code === UNARY_OPS.Clip ? -1 : code === UNARY_OPS.LeakyRelu ? 0.1 : 0.2, code === UNARY_OPS.Clip ? 2 : 0.5]);
  for (const [code, p0, p1] of unary) {
    L(`pe_unary(${code}, NX, X, A, ${f(p0)}, ${f(p1)}); PE_LAUNCH(pe_k_unary, NX, ${code}, (size_t)NX, X, B, ${f(p0)}, ${f(p1)}); report("unary ${code}", A, B, NX);`);
  }
  for (const code of Object.values(UNARY_GRAD_OPS)) {
    const [p0, p1] = code === UNARY_GRAD_OPS.ClipGrad ? [-1, 2] : code === UNARY_GRAD_OPS.LeakyReluGrad ? [0.1, 0] : [0.2, 0.5];
    L(`pe_unary_grad(${code}, NX, G, X, A, ${f(p0)}, ${f(p1)}); PE_LAUNCH(pe_k_unary_grad, NX, ${code}, (size_t)NX, G, X, B, ${f(p0)}, ${f(p1)}); report("unary_grad ${code}", A, B, NX);`);
  }
  // Bit-packed masks: the C pack and the CUDA pack give the same bytes; each side's gradient from the bits equals the plain one.
  for (const [op, lo, hi, grad] of [[0, 0, 0, UNARY_GRAD_OPS.ReluGrad], [1, -1, 2, UNARY_GRAD_OPS.ClipGrad]]) {
    L(`pe_mask_pack(${op}, NX - 3, X, ${f(lo)}, ${f(hi)}, M1); PE_LAUNCH(pe_k_mask_pack, (NX - 3 + 7) / 8, (size_t)((NX - 3 + 7) / 8), (size_t)(NX - 3), X, ${op}, ${f(lo)}, ${f(hi)}, M2); report_bytes("mask_pack ${op}", M1, M2, (NX - 3 + 7) / 8);`);
    L(`pe_unary_grad(${grad}, NX - 3, G, X, A, ${f(lo)}, ${f(hi)}); PE_LAUNCH(pe_k_mask_grad, NX - 3, (size_t)(NX - 3), G, M2, B); report("mask_grad ${op}", A, B, NX - 3);`);
    L(`pe_unary_grad_bits(NX - 3, G, M1, B); report("mask_grad_c ${op}", A, B, NX - 3);`);
  }
  // Broadcasting binary operators.
  for (const [ad, bd] of [[[2, 3, 4], [3, 1]], [[4, 1, 5], [1, 3, 1]], [[6], []]] as [number[], number[]][]) {
    const b = binaryArgs(ad, bd);
    const total = b.outDims.reduce((p, d) => p * d, 1);
    for (const [name, code] of Object.entries(BINARY_OPS)) {
      L(`{ static const int d[] = {${b.dims}}; static const ptrdiff_t as[] = {${b.as}}, bs[] = {${b.bs}}; static const pe_nd_t s = ${nd(b.dims, b.as, b.bs)};`);
      L(`  pe_binary(${code}, ${b.dims.length}, d, as, bs, X, P, A); PE_LAUNCH(pe_k_binary, ${total}, ${code}, (size_t)${total}, s, X, P, B); report("binary ${name} [${ad}]x[${bd}]", A, B, ${total}); }`);
    }
  }
  // Pools: overlapping windows with padding (max, both average counts), a dilated max pool.
  const pools = [
    { planes: 3, H: 9, W: 7, KH: 3, KW: 3, OH: 5, OW: 4, sh: 2, sw: 2, ph: 1, pw: 1, eh: 1, ew: 1, dh: 1, dw: 1 },
    { planes: 2, H: 8, W: 8, KH: 2, KW: 3, OH: 3, OW: 4, sh: 2, sw: 1, ph: 0, pw: 0, eh: 0, ew: 0, dh: 2, dw: 2 },
  ];
  pools.forEach((p, k) => {
    const nIn = p.planes * p.H * p.W, nOut = p.planes * p.OH * p.OW;
    L(`{ static const pe_pool2d_t p = ${pool2dInit(p)};`);
    // XI holds small integers: windows with tied maxima, where the first one wins.
    L(`  pe_maxpool2d(&p, XI, A); PE_LAUNCH(pe_k_maxpool, ${nOut}, p, XI, B); report("maxpool ${k}", A, B, ${nOut});`);
    L(`  pe_maxpool2d_grad(&p, G, XI, A); PE_LAUNCH(pe_k_maxpool_grad, ${nIn}, p, G, XI, B); report("maxpool_grad ${k}", A, B, ${nIn});`);
    for (const inc of [0, 1]) {
      L(`  pe_avgpool2d(&p, ${inc}, X, A); PE_LAUNCH(pe_k_avgpool, ${nOut}, p, ${inc}, X, B); report("avgpool ${k} pad ${inc}", A, B, ${nOut});`);
      L(`  pe_avgpool2d_grad(&p, ${inc}, G, A); PE_LAUNCH(pe_k_avgpool_grad, ${nIn}, p, ${inc}, G, B); report("avgpool_grad ${k} pad ${inc}", A, B, ${nIn});`);
    }
    L(`}`);
  });
  L(`pe_global_avgpool(6, 25, X, A); PE_LAUNCH(pe_k_global_avgpool, 6, 6, 25, X, B); report("global_avgpool", A, B, 6);`);
  L(`pe_global_avgpool_grad(6, 25, G, A); PE_LAUNCH(pe_k_global_avgpool_grad, 150, (size_t)150, 25, G, B); report("global_avgpool_grad", A, B, 150);`);
  // Softmax family over an inner axis (outer 3, n 7, inner 5) and the last one.
  for (const [outer, n, inner] of [[3, 7, 5], [4, 10, 1]]) {
    for (const log of [0, 1]) {
      const m = outer * n * inner;
      L(`pe_softmax(${outer}, ${n}, ${inner}, ${log}, X, A); PE_LAUNCH(pe_k_softmax, ${outer * inner}, ${outer}, ${n}, ${inner}, ${log}, X, B); report("softmax ${log} ${inner}", A, B, ${m});`);
      L(`pe_softmax_grad(${outer}, ${n}, ${inner}, ${log}, G, A, C1); PE_LAUNCH(pe_k_softmax_grad, ${outer * inner}, ${outer}, ${n}, ${inner}, ${log}, G, A, B); report("softmax_grad ${log} ${inner}", C1, B, ${m});`);
    }
  }
  L(`pe_softmax_xent(4, 10, X, IDX, A); PE_LAUNCH(pe_k_softmax_xent, 1, 4, 10, X, IDX, B); report("softmax_xent", A, B, 1);`);
  L(`pe_softmax_xent_grad(4, 10, G, X, IDX, A); PE_LAUNCH(pe_k_softmax_xent_grad, 4, 4, 10, G, X, IDX, B); report("softmax_xent_grad", A, B, 40);`);
  // Convolutions: grouped + strided + dilated + padded, depthwise, pointwise; the grad weight of the first channels only.
  const convs: Conv2dParams[] = [
    { N: 2, C: 4, H: 9, W: 8, M: 6, KH: 3, KW: 2, OH: 4, OW: 4, sh: 2, sw: 2, ph: 1, pw: 1, dh: 2, dw: 1, group: 2 },
    { N: 2, C: 5, H: 7, W: 7, M: 5, KH: 3, KW: 3, OH: 4, OW: 4, sh: 2, sw: 2, ph: 1, pw: 1, dh: 1, dw: 1, group: 5 },
    { N: 1, C: 8, H: 5, W: 6, M: 3, KH: 1, KW: 1, OH: 5, OW: 6, sh: 1, sw: 1, ph: 0, pw: 0, dh: 1, dw: 1, group: 1 },
  ];
  convs.forEach((p, k) => {
    const nx = p.N * p.C * p.H * p.W, ny = p.N * p.M * p.OH * p.OW, mlim = Math.max(1, p.M - 2), nw = mlim * (p.C / p.group) * p.KH * p.KW;
    L(`{ static const pe_conv2d_t p = ${conv2dInit(p)};`);
    L(`  pe_conv2d(&p, X, W, P, A, WS); PE_LAUNCH(pe_k_conv2d, ${ny}, p, X, W, P, B); report("conv2d ${k}", A, B, ${ny});`);
    L(`  pe_conv2d_grad_input(&p, G, W, A, WS); PE_LAUNCH(pe_k_conv2d_grad_input, ${nx}, p, G, W, B); report("conv2d_grad_input ${k}", A, B, ${nx});`);
    L(`  pe_conv2d_grad_weight(&p, X, G, A, ${mlim}, WS); PE_LAUNCH(pe_k_conv2d_grad_weight, ${nw}, p, ${mlim}, X, G, B); report("conv2d_grad_weight ${k}", A, B, ${nw});`);
    L(`  pe_conv2d_grad_bias(${p.N}, ${p.M}, ${p.OH * p.OW}, G, A); PE_LAUNCH(pe_k_conv2d_grad_bias, ${p.M}, ${p.N}, ${p.M}, ${p.OH * p.OW}, G, B); report("conv2d_grad_bias ${k}", A, B, ${p.M}); }`);
  });
  // GEMM with transposes and a broadcast row bias; batched MatMul with a broadcast batch.
  L(`pe_gemm_op(1, 1, 5, 7, 6, 0.5f, 2.0f, X, W, P, 0, 1, A, WS); PE_LAUNCH(pe_k_gemm, 35, 5, 7, 6, 1, 1, 0.5f, 2.0f, X, W, P, 0LL, 1LL, B); report("gemm", A, B, 35);`);
  L(`{ static const int d[] = {2, 3}; static const ptrdiff_t as[] = {0, 20}, bs[] = {60, 20}; static const pe_nd_t s = ${nd([2, 3], [0, 20], [60, 20])};`);
  L(`  pe_matmul(2, d, as, bs, 4, 5, 4, 0, 1, X, W, A, WS); PE_LAUNCH(pe_k_matmul, 120, (size_t)120, s, 4, 5, 4, 0, 1, X, W, B); report("matmul", A, B, 120); }`);
  // BatchNorm: training (running statistics updated), inference, both backward forms.
  L(`memcpy(R1, P, 64); memcpy(R2, P, 64); memcpy(R3, Q, 64); memcpy(R4, Q, 64);`);
  L(`pe_batchnorm_train(3, 4, 10, X, P, Q, R1, R3, 0.9f, 1e-5f, A, C1, C2); PE_LAUNCH(pe_k_bn_train_stats, 4, 3, 4, 10, X, P, Q, R2, R4, 0.9f, 1e-5f, KB, D1, D2); PE_LAUNCH(pe_k_bn_apply, 120, (size_t)120, 4, 10, X, KB, B);`);
  L(`report("bn_train", A, B, 120); report("bn_train running_mean", R1, R2, 4); report("bn_train running_var", R3, R4, 4); report("bn_train saved_mean", C1, D1, 4); report("bn_train saved_var", C2, D2, 4);`);
  L(`for (int c = 0; c < 4; c++) VAR[c] = 0.5f + c;`);
  L(`pe_batchnorm_infer(3, 4, 10, X, P, Q, Q, VAR, 1e-5f, A); PE_LAUNCH(pe_k_bn_infer_coef, 4, 4, P, Q, Q, VAR, 1e-5f, KB); PE_LAUNCH(pe_k_bn_apply, 120, (size_t)120, 4, 10, X, KB, B); report("bn_infer", A, B, 120);`);
  L(`pe_batchnorm_grad(3, 4, 10, G, X, P, 1e-5f, A, C1, C2); PE_LAUNCH(pe_k_bn_grad_stats, 4, 3, 4, 10, G, X, 1e-5f, KD, D1, D2); PE_LAUNCH(pe_k_bn_grad_dx, 120, (size_t)120, 3, 4, 10, G, X, P, KD, B);`);
  L(`report("bn_grad dx", A, B, 120); report("bn_grad dscale", C1, D1, 4); report("bn_grad dbias", C2, D2, 4);`);
  L(`pe_batchnorm_grad_frozen(3, 4, 10, G, X, P, Q, VAR, 1e-5f, A, C1, C2); PE_LAUNCH(pe_k_bn_grad_frozen_stats, 4, 3, 4, 10, G, X, P, Q, VAR, 1e-5f, KD, D1, D2); PE_LAUNCH(pe_k_bn_grad_frozen_dx, 120, (size_t)120, 4, 10, G, KD, B);`);
  L(`report("bn_grad_frozen dx", A, B, 120); report("bn_grad_frozen dscale", C1, D1, 4); report("bn_grad_frozen dbias", C2, D2, 4);`);
  // Reductions over a middle axis, the inner axis, and two separated axes.
  for (const [xd, kept] of [[[3, 4, 5], [3, 1, 5]], [[3, 4, 5], [3, 4, 1]], [[2, 3, 4, 5], [1, 3, 1, 5]]]) {
    const ra = reduceArgs(xd, kept), rs = reduceSpec(xd, kept);
    L(`{ static const int d[] = {${ra.dims}}; static const ptrdiff_t ys[] = {${ra.ys}}; static const pe_reduce_t r = ${rs.init};`);
    L(`  pe_reduce_sum(${ra.dims.length}, d, ys, X, A, ${ra.ny}, 0.25f, (double *)WS); PE_LAUNCH(pe_k_reduce_sum, ${rs.ny}, (size_t)${rs.ny}, r, X, B, 0.25f); report("reduce_sum [${xd}] -> [${kept}]", A, B, ${ra.ny}); }`);
  }
  // Gather and its gradient, with a negative and a repeated index.
  L(`pe_gather(2, 4, 10, 3, X, IDX, A); PE_LAUNCH(pe_k_gather, 24, (size_t)24, 4, 10, 3, X, IDX, B); report("gather", A, B, 24);`);
  L(`pe_gather_grad(2, 4, 10, 3, G, IDX, A); PE_LAUNCH(pe_k_gather_grad, 60, (size_t)60, 4, 10, 3, G, IDX, B); report("gather_grad", A, B, 60);`);
  // Optimizers, a second step (momentum buffer and Adam's bias correction at t = 2).
  L(`memcpy(A, X, 400); memcpy(B, X, 400); memcpy(C1, P, 400); memcpy(D1, P, 400);`);
  L(`pe_sgd(100, A, G, C1, 0.1f, 0.9f, 0.1f, 0.01f, 1, 0); PE_LAUNCH(pe_k_sgd, 100, (size_t)100, (size_t)100, (size_t)100, B, G, D1, 0.1f, 0.9f, 0.1f, 0.01f, 1, STEP1, 1); report("sgd nesterov", A, B, 100); report("sgd buffer", C1, D1, 100);`);
  L(`memcpy(C2, Q, 400); memcpy(D2, Q, 400);`);
  L(`pe_adam(100, A, G, C1, C2, 2, 0.01f, 0.8f, 0.99f, 1e-6f, 0.1f, 0); PE_LAUNCH(pe_k_adam, 100, (size_t)100, (size_t)100, (size_t)100, B, G, D1, D2, STEP1, 1, 0.01f, 0.8f, 0.99f, 1e-6f, 0.1f, 0); report("adam", A, B, 100); report("adam m", C1, D1, 100); report("adam v", C2, D2, 100);`);
  return `#include <cuda_runtime.h>
#include <stdint.h>
#include <stdio.h>
#include <math.h>
${CUDA_KERNELS}
extern "C" {
void pe_unary(int, size_t, const float *, float *, float, float);
void pe_unary_grad(int, size_t, const float *, const float *, float *, float, float);
void pe_mask_pack(int, size_t, const float *, float, float, uint8_t *);
void pe_unary_grad_bits(size_t, const float *, const uint8_t *, float *);
void pe_binary(int, int, const int *, const ptrdiff_t *, const ptrdiff_t *, const float *, const float *, float *);
void pe_maxpool2d(const pe_pool2d_t *, const float *, float *);
void pe_maxpool2d_grad(const pe_pool2d_t *, const float *, const float *, float *);
void pe_avgpool2d(const pe_pool2d_t *, int, const float *, float *);
void pe_avgpool2d_grad(const pe_pool2d_t *, int, const float *, float *);
void pe_global_avgpool(int, int, const float *, float *);
void pe_global_avgpool_grad(int, int, const float *, float *);
void pe_softmax(int, int, int, int, const float *, float *);
void pe_softmax_grad(int, int, int, int, const float *, const float *, float *);
void pe_softmax_xent(int, int, const float *, const int64_t *, float *);
void pe_softmax_xent_grad(int, int, const float *, const float *, const int64_t *, float *);
void pe_conv2d(const pe_conv2d_t *, const float *, const float *, const float *, float *, float *);
void pe_conv2d_grad_input(const pe_conv2d_t *, const float *, const float *, float *, float *);
void pe_conv2d_grad_weight(const pe_conv2d_t *, const float *, const float *, float *, int, float *);
void pe_conv2d_grad_bias(int, int, int, const float *, float *);
void pe_gemm_op(int, int, int, int, int, float, float, const float *, const float *, const float *, ptrdiff_t, ptrdiff_t, float *, float *);
void pe_matmul(int, const int *, const ptrdiff_t *, const ptrdiff_t *, int, int, int, int, int, const float *, const float *, float *, float *);
void pe_batchnorm_train(int, int, int, const float *, const float *, const float *, float *, float *, float, float, float *, float *, float *);
void pe_batchnorm_infer(int, int, int, const float *, const float *, const float *, const float *, const float *, float, float *);
void pe_batchnorm_grad(int, int, int, const float *, const float *, const float *, float, float *, float *, float *);
void pe_batchnorm_grad_frozen(int, int, int, const float *, const float *, const float *, const float *, const float *, float, float *, float *, float *);
void pe_reduce_sum(int, const int *, const ptrdiff_t *, const float *, float *, size_t, float, double *);
void pe_gather(int, int, int, int, const float *, const int64_t *, float *);
void pe_gather_grad(int, int, int, int, const float *, const int64_t *, float *);
void pe_sgd(size_t, float *, const float *, float *, float, float, float, float, int, int);
void pe_adam(size_t, float *, const float *, float *, float *, long, float, float, float, float, float, int);
}
#define NX 1000
static float X[NX], XI[NX], G[NX], W[NX], P[NX], Q[NX], A[NX], B[NX], C1[NX], C2[NX], D1[NX], D2[NX], R1[16], R2[16], R3[16], R4[16], VAR[16], KB[64];
static double KD[64];
static uint8_t M1[NX], M2[NX];
static int64_t IDX[4] = {3, -1, 3, 0}, STEP1[1] = {1};
static float *WS;
static void fill(float *a, unsigned seed, float scale) {
  for (int i = 0; i < NX; i++) { seed = seed * 1664525u + 1013904223u; a[i] = scale * ((float)(seed >> 8) / 16777216.0f * 2.0f - 1.0f); }
}
/* Worst |a - b| relative to max |a| (NaN where only one side is NaN). */
static void report(const char *name, const float *a, const float *b, int n) {
  double scale = 0, diff = 0;
  for (int i = 0; i < n; i++) {
    if (isnan(a[i]) || isnan(b[i])) { if (isnan(a[i]) != isnan(b[i])) diff = INFINITY; continue; }
    if (isinf(a[i]) || isinf(b[i])) { if (a[i] != b[i]) diff = INFINITY; continue; }
    scale = fmax(scale, fabs(a[i])); diff = fmax(diff, fabs((double)a[i] - b[i]));
  }
  printf("{\\"check\\": \\"%s\\", \\"err\\": %.3e}\\n", name, scale > 0 ? diff / scale : diff);
}
static void report_bytes(const char *name, const uint8_t *a, const uint8_t *b, int n) {
  int bad = 0;
  for (int i = 0; i < n; i++) bad += a[i] != b[i];
  printf("{\\"check\\": \\"%s\\", \\"err\\": %d}\\n", name, bad);
}
int main(void) {
  WS = (float *)malloc(sizeof(float) << 22);
  fill(X, 1, 4.0f); fill(G, 2, 1.0f); fill(W, 3, 0.5f); fill(P, 4, 1.0f); fill(Q, 5, 1.0f);
  X[0] = 0.0f; X[1] = -0.0f; X[2] = 25.0f; X[3] = -1.0f; X[4] = 2.0f; X[5] = 3.0f; X[6] = -3.0f;
  for (int i = 0; i < NX; i++) { Q[i] = 0.1f + fabsf(Q[i]); XI[i] = roundf(X[i] / 2.0f); }
${lines.join('\n')}
  return 0;
}
`;
}

/** Checks whose summation order differs between the C kernels (blocked GEMM, im2col) and the direct CUDA kernels. */
const REORDERED = /^(conv2d|gemm|matmul)/;

test('every CUDA kernel computes what its C kernel computes (all unary and gradient codes, pools, convolutions, norms, reductions, masks, optimizers)', async () => {
  const dir = path.join(work, 'kernel-pairs');
  fs.mkdirSync(path.join(dir, CUDA_HOST_SHIM_DIR), { recursive: true });
  fs.writeFileSync(path.join(dir, CUDA_HOST_SHIM_DIR, 'cuda_runtime.h'), CUDA_HOST_SHIM);
  fs.writeFileSync(path.join(dir, 'kernels.c'), emitKernels(['gemm', 'conv2d', 'elementwise', 'reduce', 'movement', 'softmax', 'norm', 'pool', 'optim']));
  fs.writeFileSync(path.join(dir, 'pairs.cpp'), kernelPairsSource());
  const opts = { cwd: dir, timeout: 300_000, maxBuffer: 16 << 20 };
  await run('gcc', ['-O1', '-std=gnu99', '-c', 'kernels.c'], opts);
  await run('g++', ['-O1', `-I${CUDA_HOST_SHIM_DIR}`, '-c', 'pairs.cpp'], opts);
  await run('g++', ['pairs.o', 'kernels.o', '-o', 'pairs', '-lm'], opts);
  const { stdout } = await run(path.join(dir, 'pairs'), [], opts);
  const checks = stdout.trim().split('\n').map((l) => JSON.parse(l) as { check: string; err: number });
  assert.ok(checks.length > 100, `${checks.length} checks`);
  const bad = checks.filter((c) => !(c.err <= (REORDERED.test(c.check) ? 1e-6 : 0)));
  const worstReordered = Math.max(...checks.filter((c) => REORDERED.test(c.check)).map((c) => c.err));
  console.log(`  ${checks.length} kernel pairs: ${checks.filter((c) => c.err === 0).length} bit-identical, the rest (reordered sums) within ${worstReordered.toExponential(2)}`);
  assert.deepEqual(bad, [], 'kernel pairs that differ');
});

test('SGD with momentum, Nesterov and weight decay, Adam and AdamW on the GPU: three steps give the reference runtime\'s parameters', async () => {
  const model = path.join(fixtures, 'mlp', 'model.onnx');
  const batch = path.join(fixtures, 'mlp', 'test_data');
  const specs: [string, OptimizerSpec][] = [
    ['sgd-nesterov', { kind: 'sgd', lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 0.01 }],
    ['sgd-dampening', { kind: 'sgd', lr: 0.1, momentum: 0.8, dampening: 0.3 }],
    ['adam', { kind: 'adam', lr: 0.02, beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: 0.1 }],
    ['adamw', { kind: 'adamw', lr: 0.01 }],
  ];
  for (const [name, optimizer] of specs) {
    const res = await exportTraining({ model, target: 'jetson-orin-nano', format: 'c', out: path.join(work, `opt-${name}`), cudaHostShim: true, optimizer, backendOverrides: ALL_ON_GPU });
    const opts = { cwd: res.out, timeout: 300_000 };
    await run('gcc', ['-O1', '-std=gnu99', '-DPE_CUDA', '-c', 'main.c', 'step.c'], opts);
    await run('g++', ['-O1', '-x', 'c++', `-I${CUDA_HOST_SHIM_DIR}`, '-c', 'step_cuda.cu', '-o', 'step_cuda.o'], opts);
    await run('g++', ['main.o', 'step.o', 'step_cuda.o', '-o', 'train-emulated', '-lm'], opts);
    const saved = path.join(work, `opt-${name}-saved`);
    const out = await runEmulated(path.join(res.out, 'train-emulated'), ['--data', batch, '--steps', '3', '--save', saved]);
    assert.equal(out.distinct, res.manifest.step.operators, 'every operator on the GPU');
    const tg = compile(loadModel(model), { optimizer, compare: 'none' }).training.tg;
    const session = new TrainingSession(tg);
    for (let k = 0; k < 3; k++) session.step(readBatch(batch, tg));
    const cmp = worstSavedParam(session.params, saved);
    console.log(`  ${name}: ${out.distinct} GPU operators, worst parameter after 3 steps ${cmp.worst.toExponential(2)} (${cmp.where})`);
    assert.ok(cmp.worst <= 1e-5, `${name}: parameter ${cmp.where} differs from the reference runtime by ${cmp.worst.toExponential(2)}`);
  }
});

test('MobileNetV2\'s step_cuda.cu compiles with nvcc -c -arch=sm_87; the Makefile builds train-gpu with nvcc and -DPE_CUDA', async () => {
  const nvcc = findToolchain('cuda').cc;
  const { res } = await emulated(CASES.find((c) => c.model === 'mobilenetv2_035' && c.allOnGpu)!);
  const t0 = performance.now();
  await run(nvcc, ['-c', '-arch=sm_87', 'step_cuda.cu', '-o', 'step_cuda.sm_87.o'], { cwd: res.out, timeout: 600_000 });
  const ms = performance.now() - t0;
  assert.ok(fs.statSync(path.join(res.out, 'step_cuda.sm_87.o')).size > 0);
  console.log(`  nvcc -c -arch=sm_87 of MobileNetV2's step_cuda.cu (${res.manifest.cuda!.gpuOperators} launchers): ${(ms / 1000).toFixed(1)} s`);
  const { stdout } = await run('make', ['-n', 'train-gpu'], { cwd: res.out });
  assert.match(stdout, /nvcc -O3 -arch=sm_87 -DPE_CUDA -Xcompiler -fopenmp main\.c step\.c step_cuda\.cu -o train-gpu/);
});

test('a normal Jetson export carries no host shim; a host export has no CUDA at all', async () => {
  const model = path.join(fixtures, 'mlp', 'model.onnx');
  const jetson = await exportTraining({ model, target: 'jetson-orin-nano', format: 'c', out: path.join(work, 'plain-jetson'), backendOverrides: ALL_ON_GPU });
  assert.ok(fs.existsSync(path.join(jetson.out, 'step_cuda.cu')) && !fs.existsSync(path.join(jetson.out, CUDA_HOST_SHIM_DIR)));
  assert.equal(jetson.manifest.cuda?.gpuOperators, jetson.manifest.step.operators);
  const host = await exportTraining({ model, target: 'host', format: 'c', out: path.join(work, 'plain-host') });
  assert.equal(host.manifest.cuda, undefined);
  assert.ok(!fs.existsSync(path.join(host.out, 'step_cuda.cu')) && !/pe_gpu_\d+\(o\)/.test(fs.readFileSync(path.join(host.out, 'step.c'), 'utf8')));
});

test.after(() => fs.rmSync(work, { recursive: true, force: true }));
