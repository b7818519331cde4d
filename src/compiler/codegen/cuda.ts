// step_cuda.cu: the GPU half of a Jetson training step. step.c, built with -DPE_CUDA, calls
// `pe_gpu_<k>(o)` for its k-th GPU operator (emitStep's gpuNodes), o[] being the plan step's inputs then
// outputs as pointers into the arena (CUDA managed memory: CPU and GPU share a Jetson's DRAM, so both
// work on the plan's offsets). Each launcher starts the device kernels of cudaKernels.ts on the default
// stream and returns; step.c calls `pe_gpu_sync()` before the CPU next touches the arena.
//
// The launchers mirror cstep.ts operator by operator (shapes and constant operands are baked in from
// `values`, through the same per-operator geometry, opArgs.ts), including what cstep does around the kernels: an updated value placed apart from the value
// it replaces is copied first (SGD/Adam state, BatchNorm running statistics), and bit-packed masks
// (`v#mask` in the plan step) are written by v's producer and read by ReluGrad/ClipGrad. Values the host
// may not read while kernels run (optimizer step counters) are read on the device.

import type { Node } from '../ir/graph';
import { attrFloat, attrInt } from '../ir/graph';
import type { Tensor } from '../ir/tensor';
import type { CompileResult } from '../compile';
import { stridesOf } from '../runtime/kernels/util';
import { batchNormTrains } from '../train/rules';
import { slotResolver } from './cstep';
import { CUDA_KERNELS, CUDA_MAX_RANK } from './cudaKernels';
import { conv2dInit } from './kernels/conv';
import { BINARY_OPS, CAST_TYPES, binaryArgs, whereArgs } from './kernels/elementwise';
import { pool2dInit } from './kernels/pool';
import { reduceArgs } from './kernels/reduce';
import {
  adamParams, cFloat as cf, channelDims, channelSlice, concatParts, convArgs, convGradWeightChannels, dropoutArgs, gatherArgs, gemmArgs,
  maskPacks, matmulArgs, numel, poolArgs, reduceGradArgs, reduceKept, sgdParams, sliceArgs, softmaxArgs, stridedCopyArgs, unaryParams,
  xentArgs,
} from './opArgs';

const UNARY = ['Relu', 'Neg', 'Sigmoid', 'Tanh', 'Exp', 'Sqrt', 'Erf', 'HardSwish', 'Log', 'Abs', 'Reciprocal', 'Softplus', 'Cos', 'Sin', 'Clip', 'LeakyRelu', 'HardSigmoid', 'Gelu'];
const UNARY_GRAD = ['ReluGrad', 'SigmoidGrad', 'TanhGrad', 'HardSwishGrad', 'ErfGrad', 'SoftplusGrad', 'ClipGrad', 'LeakyReluGrad', 'HardSigmoidGrad', 'GeluGrad'];

/**
 * Every operator with a CUDA launcher: exactly the operators the C step exports (cstep.ts) but Constant,
 * which is folded before the step. The Jetson profiles' GPU units list these and no others.
 */
export const CUDA_OPS: readonly string[] = [
  'Gemm', 'MatMul', 'MatMulT', 'Conv', 'ConvGradInput', 'ConvGradWeight', 'ConvGradBias', 'BatchNormalization', 'BatchNormGrad',
  'Add', 'Sub', 'Mul', 'Div', 'Pow', ...UNARY, ...UNARY_GRAD, 'Sum', 'Where', 'Dropout', 'DropoutGrad', 'Cast',
  'Identity', 'Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'ReduceSum', 'ReduceMean', 'ReduceToShape', 'ReduceGrad',
  'Transpose', 'Expand', 'Slice', 'SliceGrad', 'Concat', 'SplitLike', 'Gather', 'GatherGrad',
  'Softmax', 'LogSoftmax', 'SoftmaxGrad', 'LogSoftmaxGrad', 'SoftmaxCrossEntropy', 'SoftmaxCrossEntropyGrad',
  'GlobalAveragePool', 'GlobalAveragePoolGrad', 'MaxPool', 'MaxPoolGrad', 'AveragePool', 'AveragePoolGrad', 'SGD', 'Adam',
];
const CUDA_OP_SET = new Set(CUDA_OPS);

/**
 * The "ops" of the Jetson profiles' GPU units: the operators with a CUDA launcher, plus Constant, which
 * never reaches a launcher (folded into the prologue) but costs nothing on either unit of the estimates.
 */
export const GPU_PROFILE_OPS: readonly string[] = [...CUDA_OPS, 'Constant'];

/**
 * Why operator n, assigned to the GPU, still runs on the CPU; undefined when a launcher runs it. Random
 * dropout stays on the CPU: its mask hashes the step count, which the host keeps.
 */
export function cpuOnlyReason(n: Node, values: Map<string, Tensor>): string | undefined {
  if (!CUDA_OP_SET.has(n.opType)) return 'no CUDA kernel';
  if (n.opType === 'Dropout') {
    const { ratio, training } = dropoutArgs(n, values);
    if (training && ratio > 0) return 'random dropout draws its mask on the CPU';
  }
  return undefined;
}

/** Ids of the step's operators the backend assignment put on a GPU unit. */
export function gpuAssigned(r: CompileResult): Set<string> {
  return new Set(r.assignment.ops.filter((a) => /gpu|cuda/i.test(a.unit)).map((a) => a.id));
}

export interface EmittedCuda {
  source: string;
  /** Device scratch the kernels share (BatchNorm per-channel coefficients), allocated once with the arena. */
  gpuScratchBytes: number;
}

/** Text safe inside a C comment. */
const inComment = (t: string): string => t.replace(/\*\//g, '* /');
const C_TYPE: Record<string, string> = { float32: 'float', int64: 'int64_t', bool: 'uint8_t', uint8: 'uint8_t', int32: 'int32_t' };
const ELEM_BYTES: Record<string, number> = { float32: 4, int64: 8, bool: 1, uint8: 1, int32: 4, float64: 8 };

/** A pe_nd_t initializer: dims and up to three operands' strides (dims [1] for a scalar). */
export function nd(dims: number[], ...st: number[][]): string {
  if (dims.length > CUDA_MAX_RANK) throw new Error(`a ${dims.length}-D strided operand exceeds the CUDA kernels' ${CUDA_MAX_RANK} dims`);
  const d = dims.length ? dims : [1];
  const s = dims.length ? st : st.map(() => [0]);
  return `{${d.length}, {${d.join(', ')}}, {${s.map((x) => `{${x.join(', ')}}`).join(', ')}}}`;
}

/**
 * A pe_reduce_t initializer summing x (dims xd) down to `kept` (xd with reduced axes 1): the kept dims with
 * x's strides (the output dense over them), the reduced ones, and the contiguous reduced run summed first
 * when the last collapsed dim is reduced, as pe_reduce_sum does.
 */
export function reduceSpec(xd: number[], kept: number[]): { init: string; ny: number } {
  const ra = reduceArgs(xd, kept);
  const xs = stridesOf(ra.dims);
  const last = ra.dims.length - 1;
  const inner = ra.ys[last] === 0 ? ra.dims[last] : 0;
  const kd: number[] = [], ks: number[] = [], ys: number[] = [], rd: number[] = [], rs: number[] = [];
  ra.dims.forEach((d, i) => {
    if (inner && i === last) return;
    if (ra.ys[i] !== 0) { kd.push(d); ks.push(xs[i]); ys.push(ra.ys[i]); } else { rd.push(d); rs.push(xs[i]); }
  });
  if (ys.some((y, i) => y !== stridesOf(kd)[i])) throw new Error(`reducing [${xd}] to [${kept}]: the kept dims are not dense in the output`);
  if (kd.length > CUDA_MAX_RANK || rd.length > CUDA_MAX_RANK) throw new Error(`reducing [${xd}] to [${kept}]: too many dims for the CUDA reduction`);
  const list = (v: number[]): string => `{${v.length ? v.join(', ') : '0'}}`;
  return { init: `{${kd.length}, ${rd.length}, ${inner}, ${list(kd)}, ${list(ks)}, ${list(rd)}, ${list(rs)}}`, ny: ra.ny };
}

export function emitCuda(r: CompileResult, values: Map<string, Tensor>, gpuNodes: Node[]): EmittedCuda {
  const opset = r.program.tg.opsets[''] ?? 17;
  const slotOf = slotResolver(r);
  const planStep = new Map(r.plan.steps.map((s) => [s.id, s]));
  const dimsOf = (v: string): number[] => {
    const t = values.get(v);
    if (!t) throw new Error(`the exporter has no shape for value "${v}"`);
    return t.dims;
  };
  const dtypeOf = (v: string): string => values.get(v)?.dtype ?? 'float32';
  const bytesOf = (v: string): number => numel(dimsOf(v)) * (ELEM_BYTES[dtypeOf(v)] ?? 4);
  // The backward readers of a masked value decide what its bits mean (the same predicates as the C step's).
  const packs = maskPacks(r, values);

  let tmpBytes = 0;
  const launchers: string[] = [];
  const names: string[] = [];
  gpuNodes.forEach((n, k) => {
    const s = planStep.get(n.id);
    const ins = s?.inputs ?? n.inputs, outs = s?.outputs ?? n.outputs;
    const nin = ins.length;
    const [i0, i1, i2, i3, i4] = n.inputs;
    const o0 = n.outputs[0];
    const op = n.opType;
    const ty = (v: string): string => C_TYPE[dtypeOf(v)] ?? 'float';
    const I = (j: number, type = ty(n.inputs[j])): string => `((const ${type} *)o[${j}])`;
    const O = (j: number, type = ty(n.outputs[j])): string => (n.outputs[j] ? `((${type} *)o[${nin + j}])` : 'NULL');
    const body: string[] = [];
    const emit = (line: string): void => { body.push(`  ${line}`); };
    const launch = (kernel: string, count: number | string, ...args: (string | number)[]): void => emit(`PE_LAUNCH(${kernel}, ${count}, ${args.join(', ')});`);
    let statics = 0;
    const stat = (type: string, init: string): string => {
      const name = `s${statics++}`;
      emit(`static const ${type} ${name} = ${init};`);
      return name;
    };
    const copyIfMoved = (fromSlot: number, toOut: number, from: string): void => emit(`pe_copy_if_moved(o[${nin + toOut}], o[${fromSlot}], ${bytesOf(from)});`);

    switch (op) {
      case 'Gemm': {
        const g = gemmArgs(n, dimsOf(i0), dimsOf(i1), i2 ? dimsOf(i2) : undefined);
        launch('pe_k_gemm', g.M * g.N, g.M, g.N, g.K, g.ta, g.tb, cf(g.alpha), cf(g.beta), I(0), I(1), i2 ? I(2) : 'NULL', g.cs0, g.cs1, O(0));
        break;
      }
      case 'MatMul': case 'MatMulT': {
        const m = matmulArgs(n, dimsOf(i0), dimsOf(i1));
        const sv = stat('pe_nd_t', nd(m.dims, m.as, m.bs));
        const total = numel(m.dims) * m.M * m.N;
        launch('pe_k_matmul', total, `(size_t)${total}`, sv, m.M, m.N, m.K, m.ta, m.tb, I(0), I(1), O(0));
        break;
      }
      case 'Conv': {
        const p = convArgs(n, dimsOf(i0), dimsOf(i1), dimsOf(o0));
        const sv = stat('pe_conv2d_t', conv2dInit(p));
        launch('pe_k_conv2d', p.N * p.M * p.OH * p.OW, sv, I(0), I(1), i2 ? I(2) : 'NULL', O(0));
        break;
      }
      case 'ConvGradInput': {
        const p = convArgs(n, dimsOf(o0), dimsOf(i1), dimsOf(i0));
        const sv = stat('pe_conv2d_t', conv2dInit(p));
        launch('pe_k_conv2d_grad_input', p.N * p.C * p.H * p.W, sv, I(0), I(1), O(0));
        break;
      }
      case 'ConvGradWeight': {
        const w = dimsOf(i2);
        const p = convArgs(n, dimsOf(i0), w, dimsOf(i1));
        const mlimit = Math.min(convGradWeightChannels(n, w), p.M);
        if (mlimit <= 0) break;
        const sv = stat('pe_conv2d_t', conv2dInit(p));
        launch('pe_k_conv2d_grad_weight', mlimit * (p.C / p.group) * p.KH * p.KW, sv, mlimit, I(0), I(1), O(0));
        break;
      }
      case 'ConvGradBias': {
        const { N, C, S } = channelDims(dimsOf(i0));
        launch('pe_k_conv2d_grad_bias', C, N, C, S, I(0), O(0));
        break;
      }
      case 'BatchNormalization': {
        const { N, C, S } = channelDims(dimsOf(i0));
        const eps = cf(attrFloat(n, 'epsilon', 1e-5));
        tmpBytes = Math.max(tmpBytes, 8 * C);
        if (batchNormTrains(n, opset)) {
          const [, rm, rv] = n.outputs;
          if (rm) copyIfMoved(3, 1, i3);
          if (rv) copyIfMoved(4, 2, i4);
          launch('pe_k_bn_train_stats', C, N, C, S, I(0), I(1), I(2), O(1), O(2), cf(attrFloat(n, 'momentum', 0.9)), eps, '(float *)pe_gpu_tmp', O(3), O(4));
        } else {
          launch('pe_k_bn_infer_coef', C, C, I(1), I(2), I(3), I(4), eps, '(float *)pe_gpu_tmp');
        }
        launch('pe_k_bn_apply', N * C * S, `(size_t)${N * C * S}`, C, S, I(0), '(const float *)pe_gpu_tmp', O(0));
        break;
      }
      case 'BatchNormGrad': {
        const { N, C, S } = channelDims(dimsOf(i0));
        const eps = cf(attrFloat(n, 'epsilon', 1e-5));
        if (attrInt(n, 'training_mode', 1) !== 0) {
          tmpBytes = Math.max(tmpBytes, 32 * C);
          launch('pe_k_bn_grad_stats', C, N, C, S, I(0), I(1), eps, '(double *)pe_gpu_tmp', O(1), O(2));
          if (n.outputs[0]) launch('pe_k_bn_grad_dx', N * C * S, `(size_t)${N * C * S}`, N, C, S, I(0), I(1), I(2), '(const double *)pe_gpu_tmp', O(0));
        } else {
          tmpBytes = Math.max(tmpBytes, 8 * C);
          launch('pe_k_bn_grad_frozen_stats', C, N, C, S, I(0), i1 ? I(1) : 'NULL', I(2), I(3), I(4), eps, '(double *)pe_gpu_tmp', O(1), O(2));
          if (n.outputs[0]) launch('pe_k_bn_grad_frozen_dx', N * C * S, `(size_t)${N * C * S}`, C, S, I(0), '(const double *)pe_gpu_tmp', O(0));
        }
        break;
      }
      case 'Add': case 'Sub': case 'Mul': case 'Div': case 'Pow': {
        if (dtypeOf(i0) !== 'float32') {
          const type = dtypeOf(i0) === 'int64' ? 1 : dtypeOf(i0) === 'int32' ? 2 : 0;
          if (numel(dimsOf(o0)) !== 1 || op === 'Pow' || !type) throw new Error(`${op} ${n.id}: ${dtypeOf(i0)} ${op} is exported for int32/int64 scalars only`);
          launch('pe_k_int_binary', 1, BINARY_OPS[op], type, 'o[0]', 'o[1]', `o[${nin}]`);
          break;
        }
        const b = binaryArgs(dimsOf(i0), dimsOf(i1));
        const sv = stat('pe_nd_t', nd(b.dims, b.as, b.bs));
        const total = numel(dimsOf(o0));
        launch('pe_k_binary', total, BINARY_OPS[op], `(size_t)${total}`, sv, I(0), I(1), O(0));
        break;
      }
      case 'Relu': case 'Neg': case 'Sigmoid': case 'Tanh': case 'Exp': case 'Sqrt': case 'Erf': case 'HardSwish': case 'Log': case 'Abs':
      case 'Reciprocal': case 'Softplus': case 'Cos': case 'Sin': case 'Clip': case 'LeakyRelu': case 'HardSigmoid': case 'Gelu': {
        const u = unaryParams(n, values);
        const total = numel(dimsOf(i0));
        launch('pe_k_unary', total, u.code, `(size_t)${total}`, I(0), O(0), cf(u.p0), cf(u.p1));
        break;
      }
      case 'ReluGrad': case 'SigmoidGrad': case 'TanhGrad': case 'HardSwishGrad': case 'ErfGrad': case 'SoftplusGrad':
      case 'ClipGrad': case 'LeakyReluGrad': case 'HardSigmoidGrad': case 'GeluGrad': {
        const total = numel(dimsOf(i0));
        if (ins[1] && ins[1] !== i1 && ins[1].endsWith('#mask')) {
          launch('pe_k_mask_grad', total, `(size_t)${total}`, I(0), '(const uint8_t *)o[1]', O(0));
          break;
        }
        const u = unaryParams(n, values);
        launch('pe_k_unary_grad', total, u.code, `(size_t)${total}`, I(0), I(1), O(0), cf(u.p0), cf(u.p1));
        break;
      }
      case 'Sum': {
        const slots = n.inputs.map((v, j) => (v ? j : -1)).filter((j) => j >= 0);
        const total = numel(dimsOf(o0));
        if (!slots.every((j) => numel(dimsOf(n.inputs[j])) === total)) throw new Error(`Sum ${n.id}: broadcasting Sum is not exported`);
        // At most 16 pointers per launch: later groups add onto the running result.
        let acc: string[] = slots.map((j) => I(j));
        let first = true;
        while (acc.length) {
          const group = first ? acc.slice(0, 16) : [O(0), ...acc.slice(0, 15)];
          acc = acc.slice(first ? 16 : 15);
          first = false;
          emit(`{ const pe_ptrs_t xs = {{${group.join(', ')}}}; PE_LAUNCH(pe_k_sum, ${total}, (size_t)${total}, ${group.length}, xs, ${O(0)}); }`);
        }
        break;
      }
      case 'Where': {
        const w = whereArgs(dimsOf(i0), dimsOf(i1), dimsOf(i2));
        const sv = stat('pe_nd_t', nd(w.dims, w.cs, w.xs, w.ys));
        const total = numel(w.outDims);
        launch('pe_k_where', total, `(size_t)${total}`, sv, I(0, 'uint8_t'), I(1), I(2), O(0));
        break;
      }
      case 'Dropout': {
        const { ratio, training } = dropoutArgs(n, values);
        if (training && ratio > 0) throw new Error(`Dropout ${n.id}: random dropout (ratio ${ratio}) in training mode is not exported; export with ratio 0`);
        copyIfMoved(0, 0, i0);
        if (n.outputs[1]) emit(`pe_memset(o[${nin + 1}], 1, ${numel(dimsOf(i0))});`);
        break;
      }
      case 'DropoutGrad': {
        const { ratio, training } = dropoutArgs(n, values);
        const total = numel(dimsOf(i0));
        launch('pe_k_dropout_grad', total, `(size_t)${total}`, I(0), I(1, 'uint8_t'), cf(training && ratio < 1 ? 1 / (1 - ratio) : 1), O(0));
        break;
      }
      case 'Cast': {
        const from = CAST_TYPES[dtypeOf(i0) as keyof typeof CAST_TYPES], to = CAST_TYPES[dtypeOf(o0) as keyof typeof CAST_TYPES];
        if (from === undefined || to === undefined) throw new Error(`Cast ${n.id}: ${dtypeOf(i0)} -> ${dtypeOf(o0)} is not exported`);
        const total = numel(dimsOf(i0));
        launch('pe_k_cast', total, `(size_t)${total}`, from, 'o[0]', to, `o[${nin}]`);
        break;
      }
      case 'Identity': case 'Reshape': case 'Flatten': case 'Squeeze': case 'Unsqueeze':
        copyIfMoved(0, 0, i0);
        break;
      case 'ReduceSum': case 'ReduceMean': case 'ReduceToShape': {
        const xd = dimsOf(i0);
        const kept = reduceKept(n, values, xd, dimsOf(o0));
        // Nothing reduced: a copy (the C kernel's ReduceMean then divides by 1).
        if (numel(kept) === numel(xd)) { copyIfMoved(0, 0, i0); break; }
        const rs = reduceSpec(xd, kept);
        const sv = stat('pe_reduce_t', rs.init);
        const count = numel(xd) / numel(kept);
        launch('pe_k_reduce_sum', rs.ny, `(size_t)${rs.ny}`, sv, I(0), O(0), cf(op === 'ReduceMean' ? 1 / count : 1));
        break;
      }
      case 'ReduceGrad': {
        const xd = dimsOf(o0);
        const b = reduceGradArgs(n, values, xd, dimsOf(i0));
        const sv = stat('pe_nd_t', nd(b.dims, b.xs));
        launch('pe_k_copy_strided', numel(xd), `(size_t)${numel(xd)}`, sv, I(0), O(0), cf(b.scale));
        break;
      }
      case 'Transpose': case 'Expand': {
        const t = stridedCopyArgs(n, dimsOf(i0), dimsOf(o0));
        const sv = stat('pe_nd_t', nd(t.dims, t.xs));
        const total = numel(dimsOf(o0));
        launch('pe_k_copy_strided', total, `(size_t)${total}`, sv, I(0), O(0), '1.0f');
        break;
      }
      case 'Slice': case 'SliceGrad': {
        const sl = sliceArgs(n, values, dimsOf);
        if (op === 'SliceGrad') emit(`pe_memset(o[${nin}], 0, ${numel(sl.full) * 4});`);
        const total = numel(sl.dims);
        if (total === 0) break;
        if (op === 'Slice') launch('pe_k_copy_nd', total, `(size_t)${total}`, stat('pe_nd_t', nd(sl.dims, sl.strided, sl.dense)), `${I(0)} + ${sl.offset}`, O(0), 0);
        else launch('pe_k_copy_nd', total, `(size_t)${total}`, stat('pe_nd_t', nd(sl.dims, sl.dense, sl.strided)), I(0), `${O(0)} + ${sl.offset}`, 1);
        break;
      }
      case 'Concat': case 'SplitLike': {
        const concat = op === 'Concat';
        if (dtypeOf(concat ? o0 : i0) !== 'float32') throw new Error(`${op} ${n.id}: only float tensors are exported`);
        for (const p of concatParts(n, concat ? dimsOf(o0) : dimsOf(i0), dimsOf)) {
          const total = numel(p.dims);
          if (concat) launch('pe_k_copy_nd', total, `(size_t)${total}`, stat('pe_nd_t', nd(p.dims, p.dense, p.strides)), I(p.slot), `${O(0)} + ${p.offset}`, 0);
          else launch('pe_k_copy_nd', total, `(size_t)${total}`, stat('pe_nd_t', nd(p.dims, p.strides, p.dense)), `${I(0)} + ${p.offset}`, O(p.slot), 0);
        }
        break;
      }
      case 'Gather': case 'GatherGrad': {
        const fwd = op === 'Gather';
        const g = gatherArgs(n, fwd ? dimsOf(i0) : dimsOf(o0));
        const nidx = numel(dimsOf(i1));
        if (dtypeOf(i1) !== 'int64') throw new Error(`${op} ${n.id}: indices must be int64`);
        const total = g.outer * (fwd ? nidx : g.len) * g.inner;
        launch(fwd ? 'pe_k_gather' : 'pe_k_gather_grad', total, `(size_t)${total}`, nidx, g.len, g.inner, I(0), I(1), O(0));
        break;
      }
      case 'Softmax': case 'LogSoftmax': case 'SoftmaxGrad': case 'LogSoftmaxGrad': {
        const { outer, len, inner, log } = softmaxArgs(n, opset, dimsOf(i0));
        if (op.endsWith('Grad')) launch('pe_k_softmax_grad', outer * inner, outer, len, inner, log, I(0), I(1), O(0));
        else launch('pe_k_softmax', outer * inner, outer, len, inner, log, I(0), O(0));
        break;
      }
      case 'SoftmaxCrossEntropy': case 'SoftmaxCrossEntropyGrad': {
        const { rows, C } = xentArgs(dimsOf(op === 'SoftmaxCrossEntropy' ? i0 : i1));
        if (op === 'SoftmaxCrossEntropy') launch('pe_k_softmax_xent', 1, rows, C, I(0), I(1), O(0));
        else launch('pe_k_softmax_xent_grad', rows, rows, C, I(0), I(1), I(2), O(0));
        break;
      }
      case 'GlobalAveragePool': case 'GlobalAveragePoolGrad': {
        const { N, C, S } = channelDims(op === 'GlobalAveragePool' ? dimsOf(i0) : dimsOf(o0));
        const planes = N * C;
        if (op === 'GlobalAveragePool') launch('pe_k_global_avgpool', planes, planes, S, I(0), O(0));
        else launch('pe_k_global_avgpool_grad', planes * S, `(size_t)${planes * S}`, S, I(0), O(0));
        break;
      }
      case 'MaxPool': case 'MaxPoolGrad': case 'AveragePool': case 'AveragePoolGrad': {
        const fwd = op === 'MaxPool' || op === 'AveragePool';
        const xd = fwd ? dimsOf(i0) : dimsOf(o0), yd = fwd ? dimsOf(o0) : dimsOf(i0);
        const sv = stat('pe_pool2d_t', pool2dInit(poolArgs(n, xd, yd)));
        const inc = attrInt(n, 'count_include_pad', 0);
        const nOut = numel(yd), nIn = numel(xd);
        if (op === 'MaxPool') launch('pe_k_maxpool', nOut, sv, I(0), O(0));
        else if (op === 'MaxPoolGrad') launch('pe_k_maxpool_grad', nIn, sv, I(0), I(1), O(0));
        else if (op === 'AveragePool') launch('pe_k_avgpool', nOut, sv, inc, I(0), O(0));
        else launch('pe_k_avgpool_grad', nIn, sv, inc, I(0), O(0));
        break;
      }
      case 'SGD': case 'Adam': {
        const gd = dimsOf(i1);
        const total = numel(gd);
        // A channel-sliced update runs over rows of `run` elements `pstride` apart in the parameter.
        const cs = channelSlice(n, dimsOf(i0), gd);
        const run = cs ? cs.keep * cs.inner : total, pstride = cs ? cs.of * cs.inner : total;
        copyIfMoved(0, 0, i0);
        if (op === 'Adam') {
          copyIfMoved(2, 1, i2);
          copyIfMoved(3, 2, i3);
        }
        if (op === 'SGD') {
          const h = sgdParams(n);
          const buf = h.momentum && n.outputs[1];
          if (buf) copyIfMoved(2, 1, i2);
          const stepc = i3 ? [`o[3]`, CAST_TYPES[dtypeOf(i3) as keyof typeof CAST_TYPES] ?? 0] : ['NULL', 0];
          launch('pe_k_sgd', total, `(size_t)${total}`, `(size_t)${run}`, `(size_t)${pstride}`, O(0), I(1), buf ? O(1) : 'NULL', `(pe_lr_set ? pe_lr : ${cf(h.lr)})`, cf(h.momentum),
            cf(h.dampening), cf(h.weightDecay), h.nesterov, ...stepc);
          break;
        }
        const h = adamParams(n);
        launch('pe_k_adam', total, `(size_t)${total}`, `(size_t)${run}`, `(size_t)${pstride}`, O(0), I(1), O(1), O(2), 'o[4]', CAST_TYPES[dtypeOf(i4) as keyof typeof CAST_TYPES] ?? 0,
          `(pe_lr_set ? pe_lr : ${cf(h.lr)})`, cf(h.beta1), cf(h.beta2), cf(h.epsilon), cf(h.weightDecay), h.decoupled);
        break;
      }
      default:
        throw new Error(`the CUDA exporter has no launcher for operator ${op} (node ${n.id}); it must run on the CPU`);
    }
    // Bit-packed masks this operator's plan step also produces, written from the value just computed.
    outs.forEach((m, j) => {
      if (j < n.outputs.length || !m.endsWith('#mask')) return;
      const v = m.slice(0, -'#mask'.length);
      const at = n.outputs.indexOf(v);
      if (at < 0) throw new Error(`${op} ${n.id}: the plan gives it the mask "${m}" of a value it does not produce`);
      const rule = packs.get(m);
      if (!rule) throw new Error(`the mask of "${v}" has no ReluGrad or ClipGrad reader`);
      const count = numel(dimsOf(v)), bytes = Math.ceil(count / 8);
      launch('pe_k_mask_pack', bytes, `(size_t)${bytes}`, `(size_t)${count}`, `(const float *)o[${nin + at}]`, rule.op, cf(rule.lo), cf(rule.hi), `(uint8_t *)o[${nin + j}]`);
    });
    names.push(`${n.id} (${op})`.replace(/[^\x20-\x7e]|["\\]/g, '_'));
    launchers.push(`/* ${k}: ${inComment(n.id)}: ${op} */\nextern "C" void pe_gpu_${k}(void *const *o) {\n  pe_gpu_enter(${k});\n${body.join('\n')}\n}`);
  });

  const source = `/* GPU operators of ${inComment(r.model.name || 'the model')} for ${r.target}: generated by pockengine export, do not edit.
   ${gpuNodes.length} operators run here, each through its launcher pe_gpu_<k>(o) called by step.c built with -DPE_CUDA
   (o: the plan step's inputs, then its outputs, as pointers into the managed-memory arena).
   Builds with nvcc; with -I<export>/cuda-host-shim and g++ -x c++ it runs on the CPU for checking. */
#include <cuda_runtime.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>

${CUDA_KERNELS}
/* ---- launch, errors, memory ---- */
#ifndef PE_CUDA_HOST_SHIM
#define PE_BLOCK 256
#define PE_GPU_ENTER(k) ((void)0)
#define PE_LAUNCH(kernel, n, ...) do { \\
    const size_t pe_n_ = (size_t)(n); \\
    if (pe_n_) { kernel<<<(unsigned)((pe_n_ + PE_BLOCK - 1) / PE_BLOCK), PE_BLOCK>>>(__VA_ARGS__); pe_check(cudaGetLastError(), "launching " #kernel); } \\
  } while (0)
#endif

extern "C" { extern float pe_lr; extern int pe_lr_set; }
static const char *const pe_gpu_names[] = {${names.length ? names.map((x) => `"${x}"`).join(', ') : '""'}};
static int pe_gpu_current = -1;
static void *pe_gpu_tmp;
#define PE_GPU_TMP_BYTES ${tmpBytes}

static inline void pe_gpu_enter(int k) { pe_gpu_current = k; PE_GPU_ENTER(k); }

/* A failed CUDA call ends the program with the call and the operator it served. */
static void pe_check(cudaError_t e, const char *what) {
  if (e == cudaSuccess) return;
  if (pe_gpu_current >= 0) fprintf(stderr, "train-gpu: CUDA error in %s (operator %s, the last one launched): %s\\n", what, pe_gpu_names[pe_gpu_current], cudaGetErrorString(e));
  else fprintf(stderr, "train-gpu: CUDA error in %s: %s\\n", what, cudaGetErrorString(e));
  exit(1);
}

/* The arena and the scratch buffer: managed memory, on the same offsets for the CPU and the GPU. */
extern "C" void *pe_gpu_alloc(size_t bytes) {
  void *p = NULL;
  pe_check(cudaMallocManaged(&p, bytes ? bytes : 1, cudaMemAttachGlobal), "cudaMallocManaged (the arena)");
  if (!pe_gpu_tmp && PE_GPU_TMP_BYTES) pe_check(cudaMalloc(&pe_gpu_tmp, PE_GPU_TMP_BYTES), "cudaMalloc (kernel scratch)");
  return p;
}

extern "C" void pe_gpu_sync(void) {
  pe_check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
}

static void pe_copy_if_moved(void *dst, const void *src, size_t bytes) {
  if (dst != src && bytes) pe_check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, 0), "cudaMemcpyAsync");
}
static void pe_memset(void *dst, int v, size_t bytes) {
  if (bytes) pe_check(cudaMemsetAsync(dst, v, bytes, 0), "cudaMemsetAsync");
}

${launchers.join('\n\n')}
`;
  return { source, gpuScratchBytes: tmpBytes };
}
