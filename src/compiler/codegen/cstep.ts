// The training step as C: one call into the kernel library per scheduled operator, in the plan's order,
// every operand a pointer at its planned offset in ONE static arena (`pe_arena`). Nothing is allocated
// during a step. Besides the arena there is one fixed scratch buffer (`pe_scratch`): the GEMM packing
// panels and reduction accumulators the kernels need and results no one reads (a BatchNorm's saved
// statistics) — its size is fixed per model and reported beside the plan's peak.
//
// Bit-packed masks (the plan's `v#mask`): the plan step of v's producer writes the bits right after v
// (pe_mask_pack with the predicate of the gradient operator that reads them) and ReluGrad / ClipGrad read
// the bits (pe_unary_grad_bits), so the arena is the plan's with packing on.
//
// Shapes, dtypes and constant operands (Clip bounds, Slice starts, ...) come from `values`: every value
// of the step as the reference runtime computed it once on a zero batch (exportValues). What each kernel
// call needs from them is opArgs.ts's, shared with the CUDA launchers (cuda.ts).

import type { Node } from '../ir/graph';
import { attrFloat, attrInt } from '../ir/graph';
import type { Tensor } from '../ir/tensor';
import type { CompileResult } from '../compile';
import type { PlannedTensor } from '../plan/memoryPlan';
import { batchNormTrains } from '../train/rules';
import { familyOf } from './kernels';
import { conv2dInit, conv2dWorkspace } from './kernels/conv';
import { gemmWorkspace } from './kernels/gemm';
import { BINARY_OPS, CAST_TYPES, binaryArgs, whereArgs } from './kernels/elementwise';
import { reduceArgs, reduceWorkspace } from './kernels/reduce';
import { pool2dInit } from './kernels/pool';
import {
  adamParams, cFloat as cf, channelDims, channelSlice, concatParts, convArgs, convGradWeightChannels, dropoutArgs, gatherArgs, gemmArgs,
  maskPacks, matmulArgs, numel, poolArgs, reduceGradArgs, reduceKept, sgdParams, sliceArgs, softmaxArgs, stridedCopyArgs, unaryParams,
  xentArgs,
} from './opArgs';

export interface StepSlot {
  name: string;
  offset: number;
  bytes: number;
}

export interface EmittedStep {
  /** C source of the step (kernels included by the caller). */
  source: string;
  /** The operators dispatched to `pe_gpu_<k>` launchers under PE_CUDA, k being the index here. */
  gpuNodes: Node[];
  families: string[];
  arenaBytes: number;
  scratchBytes: number;
}

const ints = (xs: number[]): string => `{${xs.length ? xs.join(', ') : '0'}}`;

/** The planned tensor holding a graph value (following in-place aliases). */
export function slotResolver(r: CompileResult): (v: string) => PlannedTensor | undefined {
  const byName = new Map(r.plan.tensors.map((t) => [t.name, t]));
  return (v: string) => {
    let name = v;
    for (let i = 0; i < 64 && !byName.has(name) && r.plan.aliasOf.has(name); i++) name = r.plan.aliasOf.get(name)!;
    if (!byName.has(name) && r.plan.aliasOf.has(v)) name = r.plan.aliasOf.get(v)!;
    return byName.get(name);
  };
}

export interface StepOptions {
  /**
   * Operators to run on the GPU when step.c is built with -DPE_CUDA: each becomes a call
   * `pe_gpu_<k>(operands)` (operands: the plan step's inputs then outputs as pointers, NULL where a
   * value has no place in the arena) with the CPU code kept in the #else branch, so one step.c builds
   * both ways. The CPU waits (`pe_gpu_sync`) before the first CPU operator after GPU ones.
   */
  gpu?: (n: Node) => boolean;
}

export function emitStep(r: CompileResult, values: Map<string, Tensor>, opts: StepOptions = {}): EmittedStep {
  const tg = r.program.tg;
  const opset = tg.opsets[''] ?? 17;
  const slotOf = slotResolver(r);
  const families = new Set<string>(['common']);
  let scratchFloats = gemmWorkspace();
  const need = (floats: number): void => { scratchFloats = Math.max(scratchFloats, floats); };
  const dimsOf = (v: string): number[] => {
    const t = values.get(v);
    if (!t) throw new Error(`the exporter has no shape for value "${v}"`);
    return t.dims;
  };
  const maskOf = new Map([...r.plan.masks].map(([v, m]) => [m, v]));
  const dtypeOf = (v: string): string => (maskOf.has(v) ? 'uint8' : values.get(v)?.dtype ?? 'float32');
  const cType = (v: string): string => ({ float32: 'float', int64: 'int64_t', bool: 'uint8_t', uint8: 'uint8_t', int32: 'int32_t' } as Record<string, string>)[dtypeOf(v)] ?? 'float';
  const elemBytes = (v: string): number => ({ float32: 4, int64: 8, bool: 1, uint8: 1, int32: 4, float64: 8 } as Record<string, number>)[dtypeOf(v)] ?? 4;
  // Results no one reads go to the scratch buffer (sized to the largest of them).
  const ptr = (v: string, forWrite = false): string => {
    if (!v) return 'NULL';
    const t = slotOf(v);
    if (!t) {
      if (forWrite) {
        // Unread results of one operator get distinct places after the kernels' workspace.
        const at = gemmWorkspace() + unusedAt;
        unusedAt += Math.ceil((numel(dimsOf(v)) * elemBytes(v)) / 64) * 16;
        need(gemmWorkspace() + unusedAt);
        return `((${cType(v)} *)(pe_scratch + ${at}))`;
      }
      throw new Error(`value "${v}" has no place in the memory plan`);
    }
    return `((${cType(v)} *)(pe_arena + ${t.offset}))`;
  };
  const optOut = (v: string | undefined): string => (v ? ptr(v, true) : 'NULL');
  let unusedAt = 0;
  const lines: string[] = [];
  const emit = (s: string): void => { lines.push(`  ${s}`); };
  const copyIfMoved = (from: string, to: string): void => {
    const a = slotOf(from), b = slotOf(to);
    if (!a || !b || a.offset === b.offset) return;
    emit(`memmove(${ptr(to)}, ${ptr(from)}, ${numel(dimsOf(from)) * elemBytes(from)});`);
  };
  const stat = (c: string, arrays: Record<string, number[]>): string => {
    const decl = Object.entries(arrays).map(([n, xs]) => `static const ${n.startsWith('d') ? 'int' : 'ptrdiff_t'} ${n}[] = ${ints(xs)};`).join(' ');
    return `{ ${decl} ${c} }`;
  };

  const gpuNodes: Node[] = [];
  let prevOnGpu = false;
  const planStep = new Map(r.plan.steps.map((s) => [s.id, s]));
  const packs = maskPacks(r, values);
  let dropouts = 0;
  r.program.order.forEach((n, index) => {
    const [i0, i1, i2, i3, i4] = n.inputs;
    const o0 = n.outputs[0];
    const op = n.opType;
    unusedAt = 0;
    families.add(familyOf(op));
    emit(`/* ${n.id}: ${n.domain ? `${n.domain}::` : ''}${op} */`);
    const onGpu = !!opts.gpu?.(n);
    if (!onGpu && prevOnGpu) lines.push('#ifdef PE_CUDA\n  pe_gpu_sync();\n#endif');
    prevOnGpu = onGpu;
    let cpuFrom = lines.length;
    if (onGpu) {
      const s = planStep.get(n.id);
      const ins = s?.inputs ?? n.inputs, outs = s?.outputs ?? n.outputs;
      const operands = [...ins.map((v) => (v && slotOf(v) ? ptr(v) : 'NULL')), ...outs.map((v) => (v ? ptr(v, true) : 'NULL'))];
      lines.push(`#ifdef PE_CUDA\n  { void *const o[] = {${operands.join(', ')}}; pe_gpu_${gpuNodes.length}(o); }\n#else`);
      gpuNodes.push(n);
      unusedAt = 0;
      cpuFrom = lines.length;
    }
    void index;
    const isFloat = (v: string): boolean => dtypeOf(v) === 'float32';
    switch (op) {
      case 'Gemm': {
        const g = gemmArgs(n, dimsOf(i0), dimsOf(i1), i2 ? dimsOf(i2) : undefined);
        emit(`pe_gemm_op(${g.ta}, ${g.tb}, ${g.M}, ${g.N}, ${g.K}, ${cf(g.alpha)}, ${cf(g.beta)}, ${ptr(i0)}, ${ptr(i1)}, ${i2 ? ptr(i2) : 'NULL'}, ${g.cs0}, ${g.cs1}, ${ptr(o0)}, pe_scratch);`);
        break;
      }
      case 'MatMul': case 'MatMulT': {
        const m = matmulArgs(n, dimsOf(i0), dimsOf(i1));
        const call = `pe_matmul(${m.dims.length || 1}, dims, as, bs, ${m.M}, ${m.N}, ${m.K}, ${m.ta}, ${m.tb}, ${ptr(i0)}, ${ptr(i1)}, ${ptr(o0)}, pe_scratch);`;
        emit(stat(call, m.dims.length ? { dims: m.dims, as: m.as, bs: m.bs } : { dims: [1], as: [0], bs: [0] }));
        break;
      }
      case 'Conv': {
        const p = convArgs(n, dimsOf(i0), dimsOf(i1), dimsOf(o0));
        need(conv2dWorkspace(p));
        emit(`{ static const pe_conv2d_t p = ${conv2dInit(p)}; pe_conv2d(&p, ${ptr(i0)}, ${ptr(i1)}, ${i2 ? ptr(i2) : 'NULL'}, ${ptr(o0)}, pe_scratch); }`);
        break;
      }
      case 'ConvGradInput': {
        const p = convArgs(n, dimsOf(o0), dimsOf(i1), dimsOf(i0));
        need(conv2dWorkspace(p));
        emit(`{ static const pe_conv2d_t p = ${conv2dInit(p)}; pe_conv2d_grad_input(&p, ${ptr(i0)}, ${ptr(i1)}, ${ptr(o0)}, pe_scratch); }`);
        break;
      }
      case 'ConvGradWeight': {
        const w = dimsOf(i2);
        const p = convArgs(n, dimsOf(i0), w, dimsOf(i1));
        need(conv2dWorkspace(p));
        emit(`{ static const pe_conv2d_t p = ${conv2dInit(p)}; pe_conv2d_grad_weight(&p, ${ptr(i0)}, ${ptr(i1)}, ${ptr(o0)}, ${convGradWeightChannels(n, w)}, pe_scratch); }`);
        break;
      }
      case 'ConvGradBias': {
        const { N, C, S } = channelDims(dimsOf(i0));
        emit(`pe_conv2d_grad_bias(${N}, ${C}, ${S}, ${ptr(i0)}, ${ptr(o0)});`);
        break;
      }
      case 'BatchNormalization': {
        const { N, C, S } = channelDims(dimsOf(i0));
        const eps = cf(attrFloat(n, 'epsilon', 1e-5));
        if (batchNormTrains(n, opset)) {
          const [, rm, rv, sm, sv] = n.outputs;
          if (rm) copyIfMoved(i3, rm);
          if (rv) copyIfMoved(i4, rv);
          emit(`pe_batchnorm_train(${N}, ${C}, ${S}, ${ptr(i0)}, ${ptr(i1)}, ${ptr(i2)}, ${rm ? ptr(rm, true) : 'NULL'}, ${rv ? ptr(rv, true) : 'NULL'}, ${cf(attrFloat(n, 'momentum', 0.9))}, ${eps}, ${ptr(o0)}, ${optOut(sm)}, ${optOut(sv)});`);
        } else {
          emit(`pe_batchnorm_infer(${N}, ${C}, ${S}, ${ptr(i0)}, ${ptr(i1)}, ${ptr(i2)}, ${ptr(i3)}, ${ptr(i4)}, ${eps}, ${ptr(o0)});`);
        }
        break;
      }
      case 'BatchNormGrad': {
        const { N, C, S } = channelDims(dimsOf(i0));
        const eps = cf(attrFloat(n, 'epsilon', 1e-5));
        const [dx, ds, db] = n.outputs;
        need(gemmWorkspace() + 3 * numel(dimsOf(i0)));
        if (attrInt(n, 'training_mode', 1) !== 0) emit(`pe_batchnorm_grad(${N}, ${C}, ${S}, ${ptr(i0)}, ${ptr(i1)}, ${ptr(i2)}, ${eps}, ${optOut(dx)}, ${optOut(ds)}, ${optOut(db)});`);
        else emit(`pe_batchnorm_grad_frozen(${N}, ${C}, ${S}, ${ptr(i0)}, ${i1 ? ptr(i1) : 'NULL'}, ${ptr(i2)}, ${ptr(i3)}, ${ptr(i4)}, ${eps}, ${optOut(dx)}, ${optOut(ds)}, ${optOut(db)});`);
        break;
      }
      case 'Add': case 'Sub': case 'Mul': case 'Div': case 'Pow': {
        if (!isFloat(i0)) {
          if (numel(dimsOf(o0)) !== 1) throw new Error(`${op} ${n.id}: integer ${op} on non-scalars is not exported`);
          const sym = { Add: '+', Sub: '-', Mul: '*', Div: '/', Pow: '' }[op];
          emit(`${ptr(o0)}[0] = ${ptr(i0)}[0] ${sym} ${ptr(i1)}[0];`);
          break;
        }
        const b = binaryArgs(dimsOf(i0), dimsOf(i1));
        emit(stat(`pe_binary(${BINARY_OPS[op]}, ${b.dims.length || 1}, dims, as, bs, ${ptr(i0)}, ${ptr(i1)}, ${ptr(o0)});`, b.dims.length ? { dims: b.dims, as: b.as, bs: b.bs } : { dims: [1], as: [0], bs: [0] }));
        break;
      }
      case 'Relu': case 'Neg': case 'Sigmoid': case 'Tanh': case 'Exp': case 'Sqrt': case 'Erf': case 'HardSwish': case 'Log': case 'Abs':
      case 'Reciprocal': case 'Softplus': case 'Cos': case 'Sin': case 'Clip': case 'LeakyRelu': case 'HardSigmoid': case 'Gelu': {
        const u = unaryParams(n, values);
        emit(`pe_unary(${u.code}, ${numel(dimsOf(i0))}, ${ptr(i0)}, ${ptr(o0)}, ${cf(u.p0)}, ${cf(u.p1)});`);
        break;
      }
      case 'ReluGrad': case 'SigmoidGrad': case 'TanhGrad': case 'HardSwishGrad': case 'ErfGrad': case 'SoftplusGrad':
      case 'ClipGrad': case 'LeakyReluGrad': case 'HardSigmoidGrad': case 'GeluGrad': {
        const saved = planStep.get(n.id)?.inputs[1];
        if (saved && maskOf.has(saved)) {
          emit(`pe_unary_grad_bits(${numel(dimsOf(i0))}, ${ptr(i0)}, ${ptr(saved)}, ${ptr(o0)});`);
          break;
        }
        const u = unaryParams(n, values);
        emit(`pe_unary_grad(${u.code}, ${numel(dimsOf(i0))}, ${ptr(i0)}, ${ptr(i1)}, ${ptr(o0)}, ${cf(u.p0)}, ${cf(u.p1)});`);
        break;
      }
      case 'Sum': {
        const ins = n.inputs.filter(Boolean);
        const od = dimsOf(o0);
        if (ins.every((v) => numel(dimsOf(v)) === numel(od))) {
          emit(`{ const float *xs[${ins.length}] = {${ins.map((v) => ptr(v)).join(', ')}}; pe_sum_n(${numel(od)}, ${ins.length}, xs, ${ptr(o0)}); }`);
        } else {
          throw new Error(`Sum ${n.id}: broadcasting Sum is not exported`);
        }
        break;
      }
      case 'Where': {
        const w = whereArgs(dimsOf(i0), dimsOf(i1), dimsOf(i2));
        emit(stat(`pe_where(${w.dims.length}, dims, cs, xs, ys, ${ptr(i0)}, ${ptr(i1)}, ${ptr(i2)}, ${ptr(o0)});`, { dims: w.dims, cs: w.cs, xs: w.xs, ys: w.ys }));
        break;
      }
      case 'Dropout': {
        const { ratio, training } = dropoutArgs(n, values);
        if (training && ratio > 0) {
          // A fresh mask each step: the counter is the steps taken; the key tells this Dropout from the others.
          const key = (BigInt(attrInt(n, 'seed', 0)) * 0x100000001b3n + BigInt(dropouts++)) & 0xffffffffffffffffn;
          emit(`pe_dropout(${numel(dimsOf(i0))}, ${ptr(i0)}, ${cf(ratio)}, ${key}ull, pe_steps_taken, ${n.outputs[1] ? ptr(n.outputs[1], true) : 'NULL'}, ${ptr(o0)});`);
          break;
        }
        copyIfMoved(i0, o0);
        if (n.outputs[1]) emit(`memset(${ptr(n.outputs[1], true)}, 1, ${numel(dimsOf(i0))});`);
        break;
      }
      case 'DropoutGrad': {
        const { ratio, training } = dropoutArgs(n, values);
        emit(`pe_dropout_grad(${numel(dimsOf(i0))}, ${ptr(i0)}, ${ptr(i1)}, ${training && ratio < 1 ? `1.0 / (1.0 - (double)${cf(ratio)})` : '1.0'}, ${ptr(o0)});`);
        break;
      }
      case 'Cast': {
        const from = CAST_TYPES[dtypeOf(i0) as keyof typeof CAST_TYPES], to = CAST_TYPES[dtypeOf(o0) as keyof typeof CAST_TYPES];
        if (from === undefined || to === undefined) throw new Error(`Cast ${n.id}: ${dtypeOf(i0)} -> ${dtypeOf(o0)} is not exported`);
        emit(`pe_cast(${numel(dimsOf(i0))}, ${from}, ${ptr(i0)}, ${to}, ${ptr(o0)});`);
        break;
      }
      case 'Identity': case 'Reshape': case 'Flatten': case 'Squeeze': case 'Unsqueeze':
        copyIfMoved(i0, o0);
        break;
      case 'Constant':
        throw new Error(`Constant ${n.id} in the step: expected it folded into the prologue`);
      case 'ReduceSum': case 'ReduceMean': case 'ReduceToShape': {
        const xd = dimsOf(i0);
        const kept = reduceKept(n, values, xd, dimsOf(o0));
        if (numel(kept) === numel(xd)) { copyIfMoved(i0, o0); if (op !== 'ReduceMean') break; }
        const ra = reduceArgs(xd, kept);
        const count = numel(xd) / numel(kept);
        need(reduceWorkspace(ra.ny));
        emit(stat(`pe_reduce_sum(${ra.dims.length}, dims, ys, ${ptr(i0)}, ${ptr(o0)}, ${ra.ny}, ${cf(op === 'ReduceMean' ? 1 / count : 1)}, (double *)pe_scratch);`, { dims: ra.dims, ys: ra.ys }));
        break;
      }
      case 'ReduceGrad': {
        const b = reduceGradArgs(n, values, dimsOf(o0), dimsOf(i0));
        emit(stat(`pe_copy_strided(${b.dims.length}, dims, xs, ${ptr(i0)}, ${ptr(o0)}, ${cf(b.scale)});`, { dims: b.dims, xs: b.xs }));
        break;
      }
      case 'Transpose': case 'Expand': {
        const t = stridedCopyArgs(n, dimsOf(i0), dimsOf(o0));
        emit(stat(`pe_copy_strided(${t.dims.length}, dims, xs, ${ptr(i0)}, ${ptr(o0)}, 1.0f);`, { dims: t.dims, xs: t.xs }));
        break;
      }
      case 'Slice': case 'SliceGrad': {
        const sl = sliceArgs(n, values, dimsOf);
        if (numel(sl.dims) === 0) break;
        if (op === 'Slice') emit(stat(`pe_copy_nd(${sl.dims.length}, dims, xs, ys, ${ptr(i0)} + ${sl.offset}, ${ptr(o0)}, 0);`, { dims: sl.dims, xs: sl.strided, ys: sl.dense }));
        else {
          emit(`memset(${ptr(o0)}, 0, ${numel(sl.full) * 4});`);
          emit(stat(`pe_copy_nd(${sl.dims.length}, dims, xs, ys, ${ptr(i0)}, ${ptr(o0)} + ${sl.offset}, 1);`, { dims: sl.dims, xs: sl.dense, ys: sl.strided }));
        }
        break;
      }
      case 'Concat': case 'SplitLike': {
        const concat = op === 'Concat';
        if (!isFloat(concat ? o0 : i0)) throw new Error(`${op} ${n.id}: only float tensors are exported`);
        for (const p of concatParts(n, concat ? dimsOf(o0) : dimsOf(i0), dimsOf)) {
          if (concat) emit(stat(`pe_copy_nd(${p.dims.length}, dims, xs, ys, ${ptr(p.value)}, ${ptr(o0)} + ${p.offset}, 0);`, { dims: p.dims, xs: p.dense, ys: p.strides }));
          else emit(stat(`pe_copy_nd(${p.dims.length}, dims, xs, ys, ${ptr(i0)} + ${p.offset}, ${ptr(p.value)}, 0);`, { dims: p.dims, xs: p.strides, ys: p.dense }));
        }
        break;
      }
      case 'Gather': case 'GatherGrad': {
        const fwd = op === 'Gather';
        const g = gatherArgs(n, fwd ? dimsOf(i0) : dimsOf(o0));
        if (dtypeOf(i1) !== 'int64') throw new Error(`${op} ${n.id}: indices must be int64`);
        emit(`pe_${fwd ? 'gather' : 'gather_grad'}(${g.outer}, ${numel(dimsOf(i1))}, ${g.len}, ${g.inner}, ${ptr(i0)}, ${ptr(i1)}, ${ptr(o0)});`);
        break;
      }
      case 'Softmax': case 'LogSoftmax': case 'SoftmaxGrad': case 'LogSoftmaxGrad': {
        const { outer, len, inner, log } = softmaxArgs(n, opset, dimsOf(i0));
        if (op.endsWith('Grad')) emit(`pe_softmax_grad(${outer}, ${len}, ${inner}, ${log}, ${ptr(i0)}, ${ptr(i1)}, ${ptr(o0)});`);
        else emit(`pe_softmax(${outer}, ${len}, ${inner}, ${log}, ${ptr(i0)}, ${ptr(o0)});`);
        break;
      }
      case 'SoftmaxCrossEntropy': case 'SoftmaxCrossEntropyGrad': {
        const { rows, C } = xentArgs(dimsOf(op === 'SoftmaxCrossEntropy' ? i0 : i1));
        if (op === 'SoftmaxCrossEntropy') emit(`pe_softmax_xent(${rows}, ${C}, ${ptr(i0)}, ${ptr(i1)}, ${ptr(o0)});`);
        else emit(`pe_softmax_xent_grad(${rows}, ${C}, ${ptr(i0)}, ${ptr(i1)}, ${ptr(i2)}, ${ptr(o0)});`);
        break;
      }
      case 'GlobalAveragePool': case 'GlobalAveragePoolGrad': {
        const { N, C, S } = channelDims(op === 'GlobalAveragePool' ? dimsOf(i0) : dimsOf(o0));
        emit(`pe_global_avgpool${op.endsWith('Grad') ? '_grad' : ''}(${N * C}, ${S}, ${ptr(i0)}, ${ptr(o0)});`);
        break;
      }
      case 'MaxPool': case 'MaxPoolGrad': case 'AveragePool': case 'AveragePoolGrad': {
        const fwd = op === 'MaxPool' || op === 'AveragePool';
        const p = pool2dInit(poolArgs(n, fwd ? dimsOf(i0) : dimsOf(o0), fwd ? dimsOf(o0) : dimsOf(i0)));
        const inc = attrInt(n, 'count_include_pad', 0);
        const call = op === 'MaxPool' ? `pe_maxpool2d(&p, ${ptr(i0)}, ${ptr(o0)})`
          : op === 'MaxPoolGrad' ? `pe_maxpool2d_grad(&p, ${ptr(i0)}, ${ptr(i1)}, ${ptr(o0)})`
            : op === 'AveragePool' ? `pe_avgpool2d(&p, ${inc}, ${ptr(i0)}, ${ptr(o0)})` : `pe_avgpool2d_grad(&p, ${inc}, ${ptr(i0)}, ${ptr(o0)})`;
        emit(`{ static const pe_pool2d_t p = ${p}; ${call}; }`);
        break;
      }
      case 'SGD': case 'Adam': {
        const gd = dimsOf(i1);
        // A channel-sliced update over more than one run takes the _sliced kernel; one run is a plain update.
        const cs = channelSlice(n, dimsOf(i0), gd);
        const slice = cs && cs.outer > 1 ? `${cs.outer}, ${cs.keep}, ${cs.of}, ${cs.inner}, ` : '';
        const fn = `pe_${op.toLowerCase()}${slice ? '_sliced' : ''}(${slice || `${numel(gd)}, `}`;
        copyIfMoved(i0, o0);
        if (op === 'SGD') {
          const h = sgdParams(n);
          if (h.momentum && n.outputs[1]) copyIfMoved(i2, n.outputs[1]);
          const first = i3 ? `(${ptr(i3)}[0] == 0)` : '0';
          const lrC = `(pe_lr_set ? pe_lr : ${cf(h.lr)})`;
          emit(`${fn}${ptr(o0)}, ${ptr(i1)}, ${h.momentum && n.outputs[1] ? ptr(n.outputs[1]) : 'NULL'}, ${lrC}, ${cf(h.momentum)}, ${cf(h.dampening)}, ${cf(h.weightDecay)}, ${h.nesterov}, ${first});`);
        } else {
          const h = adamParams(n);
          copyIfMoved(i2, n.outputs[1]);
          copyIfMoved(i3, n.outputs[2]);
          const lrC = `(pe_lr_set ? pe_lr : ${cf(h.lr)})`;
          emit(`${fn}${ptr(o0)}, ${ptr(i1)}, ${ptr(n.outputs[1])}, ${ptr(n.outputs[2])}, (long)${ptr(i4)}[0] + 1, ${lrC}, ${cf(h.beta1)}, ${cf(h.beta2)}, ${cf(h.epsilon)}, ${cf(h.weightDecay)}, ${h.decoupled});`);
        }
        break;
      }
      default:
        throw new Error(`the C exporter has no emitter for operator ${op} (node ${n.id})`);
    }
    // Masks this step saves for the backward: packed from the value while it is still whole.
    for (const m of planStep.get(n.id)?.outputs.slice(n.outputs.length) ?? []) {
      const pk = m ? packs.get(m) : undefined;
      if (!pk) continue;
      emit(`pe_mask_pack(${pk.op}, ${numel(dimsOf(pk.value))}, ${ptr(pk.value)}, ${cf(pk.lo)}, ${cf(pk.hi)}, ${ptr(m)});`);
    }
    if (onGpu) lines.push('#endif');
    void cpuFrom;
  });
  if (prevOnGpu) lines.push('#ifdef PE_CUDA\n  pe_gpu_sync();\n#endif');
  // What the step returns but the plan placed apart from the value it replaces: copied back for the next step.
  const carry: [string, string][] = [...tg.updated, ...tg.bufferUpdates, ...tg.state.map((s): [string, string] => [s.name, s.next])];
  const tail: string[] = [];
  for (const [from, next] of carry) {
    const a = slotOf(from), b = slotOf(next);
    if (a && b && a.offset !== b.offset) tail.push(`  memmove(pe_arena + ${a.offset}, pe_arena + ${b.offset}, ${numel(dimsOf(from)) * elemBytes(from)});`);
  }
  const loss = slotOf(tg.loss.loss);
  if (!loss) throw new Error('the loss has no place in the memory plan');
  const scratchBytes = scratchFloats * 4 + 64;
  const scratchFloatsTotal = Math.ceil(scratchBytes / 4);
  const launchers = gpuNodes.map((_, k) => `void pe_gpu_${k}(void *const *o);`).join('\n');
  const source = `/* The training step of ${r.model.name || 'the model'}: generated by pockengine export, do not edit. */
#include "kernels.c"
#include "step.h"

#ifdef PE_CUDA
/* Jetson: CPU and GPU share DRAM; the arena is CUDA managed memory so both run on the same offsets. */
void *pe_gpu_alloc(size_t bytes);
void pe_gpu_sync(void);
${launchers}
unsigned char *pe_arena;
static float *pe_scratch;
void pe_init(void) {
  pe_arena = (unsigned char *)pe_gpu_alloc(${r.plan.arenaBytes});
  pe_scratch = (float *)pe_gpu_alloc(${scratchFloatsTotal * 4});
}
#else
static unsigned char pe_arena_storage[${r.plan.arenaBytes}] __attribute__((aligned(64)));
static float pe_scratch[${scratchFloatsTotal}] __attribute__((aligned(64)));
unsigned char *pe_arena = pe_arena_storage;
void pe_init(void) {}
#endif
float pe_lr = 0.0f;
int pe_lr_set = 0;
/* Steps taken by this process: the counter of the Dropout masks' generator. */
static uint64_t pe_steps_taken = 0;
const size_t pe_arena_bytes = ${r.plan.arenaBytes};
const size_t pe_scratch_bytes = ${scratchFloatsTotal * 4};

float pe_step(void) {
${lines.join('\n')}
  {
    const float loss = ((const float *)(pe_arena + ${loss.offset}))[0];
${tail.join('\n')}
    pe_steps_taken++;
    return loss;
  }
}
`;
  return { source, gpuNodes, families: [...families], arenaBytes: r.plan.arenaBytes, scratchBytes };
}
