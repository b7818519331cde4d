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
// of the step as the reference runtime computed it once on a zero batch (exportValues).

import type { Node } from '../ir/graph';
import { attrFloat, attrInt, attrInts } from '../ir/graph';
import type { Tensor } from '../ir/tensor';
import type { CompileResult } from '../compile';
import type { PlannedTensor } from '../plan/memoryPlan';
import { convGeometry } from '../runtime/im2col';
import { convAttrs } from '../runtime/kernels/conv';
import { poolGeometry } from '../runtime/kernels/pool';
import { batchNormTrains } from '../train/rules';
import { familyOf } from './kernels';
import { conv2dInit, conv2dWorkspace, type Conv2dParams } from './kernels/conv';
import { gemmWorkspace } from './kernels/gemm';
import { BINARY_OPS, CAST_TYPES, UNARY_OPS, UNARY_GRAD_OPS, binaryArgs, whereArgs } from './kernels/elementwise';
import { boxArgs, broadcastArgs, reduceArgs, reduceWorkspace, transposeArgs } from './kernels/reduce';
import { pool2dInit } from './kernels/pool';

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
const numel = (d: number[]): number => d.reduce((p, x) => p * x, 1);
function cf(v: number): string {
  if (v === Infinity) return 'INFINITY';
  if (v === -Infinity) return '-INFINITY';
  if (Number.isNaN(v)) return 'NAN';
  const s = String(Math.fround(v) === v ? v : Math.fround(v));
  return /[.eE]/.test(s) ? `${s}f` : `${s}.0f`;
}
const normAxis = (a: number, r: number): number => (a < 0 ? a + r : a);

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

/** Scalar value of a constant operand (Clip bounds, Dropout ratio). */
function scalar(values: Map<string, Tensor>, v: string | undefined, dflt: number): number {
  if (!v) return dflt;
  const t = values.get(v);
  if (!t) return dflt;
  return Number(t.data[0] as number | bigint);
}
function intList(values: Map<string, Tensor>, v: string | undefined): number[] | undefined {
  if (!v) return undefined;
  const t = values.get(v);
  if (!t) return undefined;
  return Array.from(t.data as ArrayLike<number | bigint>, (x) => {
    const n = Number(x);
    return n > 2 ** 52 ? Infinity : n < -(2 ** 52) ? -Infinity : n;
  });
}
function sliceStart(dim: number, start: number, end: number, step: number): { first: number; count: number } {
  const clamp = (v: number, lo: number, hi: number): number => Math.min(Math.max(v, lo), hi);
  let s = start < 0 ? start + dim : start;
  let e = end < 0 ? end + dim : end;
  if (step > 0) { s = clamp(s, 0, dim); e = clamp(e, 0, dim); } else { s = clamp(s, 0, dim - 1); e = clamp(e, -1, dim - 1); }
  const count = step > 0 ? Math.max(0, Math.ceil((e - s) / step)) : Math.max(0, Math.ceil((s - e) / -step));
  return { first: s, count };
}

/** How each bit-packed mask is computed: from `value`, op 0 (ReluGrad: value > 0) or 1 (ClipGrad: lo <= value <= hi). */
interface MaskPack { value: string; op: 0 | 1; lo: number; hi: number }

/** The predicate of every `v#mask` of the plan, taken from the gradient operators that read it (all must agree). */
function maskPacks(r: CompileResult, values: Map<string, Tensor>): Map<string, MaskPack> {
  const maskOf = new Map([...r.plan.masks].map(([v, m]) => [m, v]));
  const byId = new Map(r.program.order.map((n) => [n.id, n]));
  const out = new Map<string, MaskPack>();
  for (const s of r.plan.steps) {
    const m = s.inputs[1];
    if (!m || !maskOf.has(m)) continue;
    const n = byId.get(s.id)!;
    let pk: MaskPack;
    if (n.opType === 'ReluGrad') pk = { value: maskOf.get(m)!, op: 0, lo: 0, hi: 0 };
    else if (n.opType === 'ClipGrad') {
      // The bounds as the reference runtime's ClipGrad reads them: inputs 2 and 3, else the min/max attributes.
      const lo = n.inputs[2] ? scalar(values, n.inputs[2], -Infinity) : n.attrs.min ? attrFloat(n, 'min', -Infinity) : -Infinity;
      const hi = n.inputs[3] ? scalar(values, n.inputs[3], Infinity) : n.attrs.max ? attrFloat(n, 'max', Infinity) : Infinity;
      pk = { value: maskOf.get(m)!, op: 1, lo, hi };
    } else throw new Error(`${n.opType} ${n.id} reads the bit-packed mask ${m}; only ReluGrad and ClipGrad can`);
    const prev = out.get(m);
    if (prev && (prev.op !== pk.op || prev.lo !== pk.lo || prev.hi !== pk.hi)) throw new Error(`the bit-packed mask ${m} is read by gradient operators with different predicates (${n.id})`);
    out.set(m, pk);
  }
  return out;
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

  const convParams = (x: number[], w: number[], y: number[], node: Node): Conv2dParams => {
    if (x.length === 3) {
      // 1-D [N, C, L]: the 2-D kernels with H = 1 (one kernel row, no vertical stride, pad or dilation).
      const a = convAttrs(node, 1);
      const kernel = attrInts(node, 'kernel_shape') ?? w.slice(2);
      const geo = convGeometry(x.slice(2), kernel, { ...a });
      return {
        N: x[0], C: x[1], H: 1, W: x[2], M: w[0], KH: 1, KW: kernel[0], OH: 1, OW: y[2],
        sh: 1, sw: geo.strides[0], ph: 0, pw: geo.padsBegin[0], dh: 1, dw: geo.dilations[0], group: a.group,
      };
    }
    if (x.length !== 4) throw new Error(`${node.opType} ${node.id}: only 1-D and 2-D convolutions are exported (input [${x}])`);
    const a = convAttrs(node, 2);
    const kernel = attrInts(node, 'kernel_shape') ?? w.slice(2);
    const geo = convGeometry(x.slice(2), kernel, { ...a });
    return {
      N: x[0], C: x[1], H: x[2], W: x[3], M: w[0], KH: kernel[0], KW: kernel[1], OH: y[2], OW: y[3],
      sh: geo.strides[0], sw: geo.strides[1], ph: geo.padsBegin[0], pw: geo.padsBegin[1], dh: geo.dilations[0], dw: geo.dilations[1], group: a.group,
    };
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
        const a = dimsOf(i0), b = dimsOf(i1);
        const ta = attrInt(n, 'transA', 0), tb = attrInt(n, 'transB', 0);
        const M = ta ? a[1] : a[0], K = ta ? a[0] : a[1], N = tb ? b[0] : b[1];
        let cs0 = 0, cs1 = 0;
        if (i2) {
          const cd = dimsOf(i2);
          const full = [...new Array(Math.max(0, 2 - cd.length)).fill(1), ...cd];
          cs0 = full[0] === 1 ? 0 : full[1];
          cs1 = full[1] === 1 ? 0 : 1;
        }
        emit(`pe_gemm_op(${ta}, ${tb}, ${M}, ${N}, ${K}, ${cf(attrFloat(n, 'alpha', 1))}, ${cf(attrFloat(n, 'beta', 1))}, ${ptr(i0)}, ${ptr(i1)}, ${i2 ? ptr(i2) : 'NULL'}, ${cs0}, ${cs1}, ${ptr(o0)}, pe_scratch);`);
        break;
      }
      case 'MatMul': case 'MatMulT': {
        const a = dimsOf(i0), b = dimsOf(i1);
        const ta = op === 'MatMulT' ? attrInt(n, 'transA', 0) : 0, tb = op === 'MatMulT' ? attrInt(n, 'transB', 0) : 0;
        if (a.length < 2 || b.length < 2) throw new Error(`${op} ${n.id}: 1-D operands are not exported`);
        const M = ta ? a[a.length - 1] : a[a.length - 2], K = ta ? a[a.length - 2] : a[a.length - 1];
        const N = tb ? b[b.length - 2] : b[b.length - 1];
        const ab = a.slice(0, -2), bb = b.slice(0, -2);
        const rank = Math.max(ab.length, bb.length);
        const pa = [...new Array(rank - ab.length).fill(1), ...ab], pb = [...new Array(rank - bb.length).fill(1), ...bb];
        const out = pa.map((d, i) => Math.max(d, pb[i]));
        const strides = (dims: number[], mat: number): number[] => {
          const s: number[] = new Array(dims.length).fill(0);
          let acc = mat;
          for (let i = dims.length - 1; i >= 0; i--) { s[i] = dims[i] === 1 ? 0 : acc; acc *= dims[i]; }
          return s;
        };
        const as = strides(pa, M * K), bs = strides(pb, K * N);
        if (rank === 0) emit(stat(`pe_matmul(1, dims, as, bs, ${M}, ${N}, ${K}, ${ta}, ${tb}, ${ptr(i0)}, ${ptr(i1)}, ${ptr(o0)}, pe_scratch);`, { dims: [1], as: [0], bs: [0] }));
        else emit(stat(`pe_matmul(${rank}, dims, as, bs, ${M}, ${N}, ${K}, ${ta}, ${tb}, ${ptr(i0)}, ${ptr(i1)}, ${ptr(o0)}, pe_scratch);`, { dims: out, as, bs }));
        break;
      }
      case 'Conv': {
        const p = convParams(dimsOf(i0), dimsOf(i1), dimsOf(o0), n);
        need(conv2dWorkspace(p));
        emit(`{ static const pe_conv2d_t p = ${conv2dInit(p)}; pe_conv2d(&p, ${ptr(i0)}, ${ptr(i1)}, ${i2 ? ptr(i2) : 'NULL'}, ${ptr(o0)}, pe_scratch); }`);
        break;
      }
      case 'ConvGradInput': {
        const p = convParams(dimsOf(o0), dimsOf(i1), dimsOf(i0), n);
        need(conv2dWorkspace(p));
        emit(`{ static const pe_conv2d_t p = ${conv2dInit(p)}; pe_conv2d_grad_input(&p, ${ptr(i0)}, ${ptr(i1)}, ${ptr(o0)}, pe_scratch); }`);
        break;
      }
      case 'ConvGradWeight': {
        const w = dimsOf(i2);
        const p = convParams(dimsOf(i0), w, dimsOf(i1), n);
        need(conv2dWorkspace(p));
        const mlimit = n.attrs.channels ? attrInt(n, 'channels', w[0]) : w[0];
        emit(`{ static const pe_conv2d_t p = ${conv2dInit(p)}; pe_conv2d_grad_weight(&p, ${ptr(i0)}, ${ptr(i1)}, ${ptr(o0)}, ${mlimit}, pe_scratch); }`);
        break;
      }
      case 'ConvGradBias': {
        const d = dimsOf(i0);
        emit(`pe_conv2d_grad_bias(${d[0]}, ${d[1]}, ${numel(d.slice(2))}, ${ptr(i0)}, ${ptr(o0)});`);
        break;
      }
      case 'BatchNormalization': {
        const d = dimsOf(i0);
        const N = d[0], C = d[1], S = numel(d.slice(2));
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
        const d = dimsOf(i0);
        const N = d[0], C = d[1], S = numel(d.slice(2));
        const eps = cf(attrFloat(n, 'epsilon', 1e-5));
        const [dx, ds, db] = n.outputs;
        need(gemmWorkspace() + 3 * numel(d));
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
        let p0 = 0, p1 = 0;
        let code: number = UNARY_OPS[op as keyof typeof UNARY_OPS];
        if (op === 'Clip') {
          p0 = i1 ? scalar(values, i1, -Infinity) : attrFloat(n, 'min', -Infinity);
          p1 = i2 ? scalar(values, i2, Infinity) : attrFloat(n, 'max', Infinity);
        } else if (op === 'LeakyRelu') p0 = attrFloat(n, 'alpha', 0.01);
        else if (op === 'HardSigmoid') { p0 = attrFloat(n, 'alpha', 0.2); p1 = attrFloat(n, 'beta', 0.5); } else if (op === 'Gelu' && n.attrs.approximate) code = UNARY_OPS.GeluTanh;
        emit(`pe_unary(${code}, ${numel(dimsOf(i0))}, ${ptr(i0)}, ${ptr(o0)}, ${cf(p0)}, ${cf(p1)});`);
        break;
      }
      case 'ReluGrad': case 'SigmoidGrad': case 'TanhGrad': case 'HardSwishGrad': case 'ErfGrad': case 'SoftplusGrad':
      case 'ClipGrad': case 'LeakyReluGrad': case 'HardSigmoidGrad': case 'GeluGrad': {
        let p0 = 0, p1 = 0;
        let code: number = UNARY_GRAD_OPS[op as keyof typeof UNARY_GRAD_OPS];
        if (op === 'ClipGrad') {
          p0 = i2 ? scalar(values, i2, -Infinity) : attrFloat(n, 'min', -Infinity);
          p1 = i3 ? scalar(values, i3, Infinity) : attrFloat(n, 'max', Infinity);
        } else if (op === 'LeakyReluGrad') p0 = attrFloat(n, 'alpha', 0.01);
        else if (op === 'HardSigmoidGrad') { p0 = attrFloat(n, 'alpha', 0.2); p1 = attrFloat(n, 'beta', 0.5); } else if (op === 'GeluGrad' && n.attrs.approximate) code = UNARY_GRAD_OPS.GeluTanhGrad;
        const saved = planStep.get(n.id)?.inputs[1];
        if (saved && maskOf.has(saved)) emit(`pe_unary_grad_bits(${numel(dimsOf(i0))}, ${ptr(i0)}, ${ptr(saved)}, ${ptr(o0)});`);
        else emit(`pe_unary_grad(${code}, ${numel(dimsOf(i0))}, ${ptr(i0)}, ${ptr(i1)}, ${ptr(o0)}, ${cf(p0)}, ${cf(p1)});`);
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
        const ratio = scalar(values, i1, attrFloat(n, 'ratio', 0.5));
        const training = i2 ? scalar(values, i2, 0) !== 0 : false;
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
        const ratio = scalar(values, i2, attrFloat(n, 'ratio', 0.5));
        const training = i3 ? scalar(values, i3, 0) !== 0 : false;
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
        const xd = dimsOf(i0), od = dimsOf(o0);
        let kept: number[];
        if (op === 'ReduceToShape') kept = [...new Array(xd.length - od.length).fill(1), ...od];
        else {
          const axes = (intList(values, i1) ?? attrInts(n, 'axes') ?? (attrInt(n, 'noop_with_empty_axes', 0) ? [] : xd.map((_, i) => i))).map((a) => normAxis(a, xd.length));
          kept = xd.map((d, i) => (axes.includes(i) ? 1 : d));
        }
        if (numel(kept) === numel(xd)) { copyIfMoved(i0, o0); if (op !== 'ReduceMean') break; }
        const ra = reduceArgs(xd, kept);
        const count = numel(xd) / numel(kept);
        need(reduceWorkspace(ra.ny));
        emit(stat(`pe_reduce_sum(${ra.dims.length}, dims, ys, ${ptr(i0)}, ${ptr(o0)}, ${ra.ny}, ${cf(op === 'ReduceMean' ? 1 / count : 1)}, (double *)pe_scratch);`, { dims: ra.dims, ys: ra.ys }));
        break;
      }
      case 'ReduceGrad': {
        const xd = dimsOf(o0), dyd = dimsOf(i0);
        const axes = (intList(values, i2) ?? attrInts(n, 'axes') ?? []).map((a) => normAxis(a, xd.length));
        const kept = axes.length ? xd.map((d, i) => (axes.includes(i) ? 1 : d)) : (numel(dyd) === 1 ? xd.map(() => 1) : xd);
        const count = numel(xd) / numel(kept);
        const b = broadcastArgs(kept, xd);
        emit(stat(`pe_copy_strided(${b.dims.length}, dims, xs, ${ptr(i0)}, ${ptr(o0)}, ${cf(attrInt(n, 'mean', 0) ? 1 / count : 1)});`, { dims: b.dims, xs: b.xs }));
        break;
      }
      case 'Transpose': {
        const xd = dimsOf(i0);
        const perm = attrInts(n, 'perm') ?? xd.map((_, i) => xd.length - 1 - i);
        const t = transposeArgs(xd, perm);
        emit(stat(`pe_copy_strided(${t.dims.length}, dims, xs, ${ptr(i0)}, ${ptr(o0)}, 1.0f);`, { dims: t.dims, xs: t.xs }));
        break;
      }
      case 'Expand': {
        const b = broadcastArgs(dimsOf(i0), dimsOf(o0));
        emit(stat(`pe_copy_strided(${b.dims.length}, dims, xs, ${ptr(i0)}, ${ptr(o0)}, 1.0f);`, { dims: b.dims, xs: b.xs }));
        break;
      }
      case 'Slice': case 'SliceGrad': {
        const fwd = op === 'Slice';
        const xd = fwd ? dimsOf(i0) : dimsOf(o0);
        const sd = fwd ? dimsOf(o0) : dimsOf(i0);
        const base = fwd ? 1 : 2;
        const starts = intList(values, n.inputs[base]) ?? attrInts(n, 'starts') ?? [];
        const ends = intList(values, n.inputs[base + 1]) ?? attrInts(n, 'ends') ?? [];
        const axes = (intList(values, n.inputs[base + 2]) ?? attrInts(n, 'axes') ?? starts.map((_, i) => i)).map((a) => normAxis(a, xd.length));
        const steps = intList(values, n.inputs[base + 3]) ?? starts.map(() => 1);
        const first = xd.map(() => 0), step = xd.map(() => 1);
        axes.forEach((a, k) => { first[a] = sliceStart(xd[a], starts[k], ends[k], steps[k]).first; step[a] = steps[k]; });
        const box = boxArgs(xd, first, sd);
        const sx = box.strides.map((s, i) => s * step[i]);
        if (numel(sd) === 0) break;
        if (fwd) emit(stat(`pe_copy_nd(${sd.length}, dims, xs, ys, ${ptr(i0)} + ${box.offset}, ${ptr(o0)}, 0);`, { dims: sd, xs: sx, ys: box.dense }));
        else {
          emit(`memset(${ptr(o0)}, 0, ${numel(xd) * 4});`);
          emit(stat(`pe_copy_nd(${sd.length}, dims, xs, ys, ${ptr(i0)}, ${ptr(o0)} + ${box.offset}, 1);`, { dims: sd, xs: box.dense, ys: sx }));
        }
        break;
      }
      case 'Concat': case 'SplitLike': {
        const concat = op === 'Concat';
        const full = concat ? dimsOf(o0) : dimsOf(i0);
        if (!isFloat(concat ? o0 : i0)) throw new Error(`${op} ${n.id}: only float tensors are exported`);
        const axis = normAxis(attrInt(n, 'axis', 0), full.length);
        let at = 0;
        const parts = concat ? n.inputs.filter(Boolean) : n.outputs.filter(Boolean);
        for (const part of parts) {
          const pd = dimsOf(part);
          const start = full.map((_, i) => (i === axis ? at : 0));
          const box = boxArgs(full, start, pd);
          at += pd[axis];
          if (numel(pd) === 0) continue;
          if (concat) emit(stat(`pe_copy_nd(${pd.length}, dims, xs, ys, ${ptr(part)}, ${ptr(o0)} + ${box.offset}, 0);`, { dims: pd, xs: box.dense, ys: box.strides }));
          else emit(stat(`pe_copy_nd(${pd.length}, dims, xs, ys, ${ptr(i0)} + ${box.offset}, ${ptr(part)}, 0);`, { dims: pd, xs: box.strides, ys: box.dense }));
        }
        break;
      }
      case 'Gather': case 'GatherGrad': {
        const fwd = op === 'Gather';
        const xd = fwd ? dimsOf(i0) : dimsOf(o0);
        const idx = i1;
        const axis = normAxis(attrInt(n, 'axis', 0), xd.length);
        const outer = numel(xd.slice(0, axis)), inner = numel(xd.slice(axis + 1));
        const nidx = numel(dimsOf(idx));
        if (dtypeOf(idx) !== 'int64') throw new Error(`${op} ${n.id}: indices must be int64`);
        emit(`pe_${fwd ? 'gather' : 'gather_grad'}(${outer}, ${nidx}, ${xd[axis]}, ${inner}, ${ptr(i0)}, ${ptr(idx)}, ${ptr(o0)});`);
        break;
      }
      case 'Softmax': case 'LogSoftmax': case 'SoftmaxGrad': case 'LogSoftmaxGrad': {
        const xd = dimsOf(i0);
        const axis = normAxis(attrInt(n, 'axis', opset >= 13 ? -1 : 1), xd.length);
        const log = op.startsWith('Log') ? 1 : 0;
        const outer = numel(xd.slice(0, axis)), len = xd[axis], inner = numel(xd.slice(axis + 1));
        if (opset < 13 && !op.endsWith('Grad')) throw new Error(`${op} ${n.id}: opset ${opset} softmax (flattened axes) is not exported`);
        if (op.endsWith('Grad')) emit(`pe_softmax_grad(${outer}, ${len}, ${inner}, ${log}, ${ptr(i0)}, ${ptr(i1)}, ${ptr(o0)});`);
        else emit(`pe_softmax(${outer}, ${len}, ${inner}, ${log}, ${ptr(i0)}, ${ptr(o0)});`);
        break;
      }
      case 'SoftmaxCrossEntropy': case 'SoftmaxCrossEntropyGrad': {
        const x = op === 'SoftmaxCrossEntropy' ? i0 : i1;
        const xd = dimsOf(x);
        const C = xd[xd.length - 1], rows = numel(xd) / C;
        if (op === 'SoftmaxCrossEntropy') emit(`pe_softmax_xent(${rows}, ${C}, ${ptr(i0)}, ${ptr(i1)}, ${ptr(o0)});`);
        else emit(`pe_softmax_xent_grad(${rows}, ${C}, ${ptr(i0)}, ${ptr(i1)}, ${ptr(i2)}, ${ptr(o0)});`);
        break;
      }
      case 'GlobalAveragePool': case 'GlobalAveragePoolGrad': {
        const xd = op === 'GlobalAveragePool' ? dimsOf(i0) : dimsOf(o0);
        const planes = xd[0] * xd[1], S = numel(xd.slice(2));
        emit(`pe_global_avgpool${op.endsWith('Grad') ? '_grad' : ''}(${planes}, ${S}, ${ptr(i0)}, ${ptr(o0)});`);
        break;
      }
      case 'MaxPool': case 'MaxPoolGrad': case 'AveragePool': case 'AveragePoolGrad': {
        const xd = op === 'MaxPool' || op === 'AveragePool' ? dimsOf(i0) : dimsOf(o0);
        const yd = op === 'MaxPool' || op === 'AveragePool' ? dimsOf(o0) : dimsOf(i0);
        if (xd.length !== 4 && xd.length !== 3) throw new Error(`${op} ${n.id}: only 1-D and 2-D pooling is exported (input [${xd}])`);
        const g = poolGeometry(n, xd.slice(2));
        // 1-D [N, C, L] runs as 2-D with H = 1.
        const at = (xs: number[], k: number, one: number): number => (xd.length === 3 ? (k === 0 ? one : xs[0]) : xs[k]);
        const p = pool2dInit({
          planes: xd[0] * xd[1], H: xd.length === 3 ? 1 : xd[2], W: xd[xd.length - 1], KH: at(g.kernel, 0, 1), KW: at(g.kernel, 1, 1),
          OH: xd.length === 3 ? 1 : yd[2], OW: yd[yd.length - 1], sh: at(g.strides, 0, 1), sw: at(g.strides, 1, 1),
          ph: at(g.padsBegin, 0, 0), pw: at(g.padsBegin, 1, 0), eh: at(g.padsEnd, 0, 0), ew: at(g.padsEnd, 1, 0), dh: at(g.dilations, 0, 1), dw: at(g.dilations, 1, 1),
        });
        const inc = attrInt(n, 'count_include_pad', 0);
        const call = op === 'MaxPool' ? `pe_maxpool2d(&p, ${ptr(i0)}, ${ptr(o0)})`
          : op === 'MaxPoolGrad' ? `pe_maxpool2d_grad(&p, ${ptr(i0)}, ${ptr(i1)}, ${ptr(o0)})`
            : op === 'AveragePool' ? `pe_avgpool2d(&p, ${inc}, ${ptr(i0)}, ${ptr(o0)})` : `pe_avgpool2d_grad(&p, ${inc}, ${ptr(i0)}, ${ptr(o0)})`;
        emit(`{ static const pe_pool2d_t p = ${p}; ${call}; }`);
        break;
      }
      case 'SGD': case 'Adam': {
        const pd = dimsOf(i0), gd = dimsOf(i1);
        // A channel-sliced update: g (and the state) hold the first k channels of p along `channel_axis`.
        let slice = '';
        if (pd.length !== gd.length || pd.some((d, k) => d !== gd[k])) {
          const a = normAxis(attrInt(n, 'channel_axis', 0), pd.length);
          if (gd.length !== pd.length || gd.some((d, k) => (k === a ? d > pd[k] : d !== pd[k]))) throw new Error(`${op} ${n.id}: gradient [${gd}] is neither the parameter's shape [${pd}] nor its first channels along axis ${a}`);
          const outer = numel(pd.slice(0, a)), inner = numel(pd.slice(a + 1));
          if (outer > 1) slice = `${outer}, ${gd[a]}, ${pd[a]}, ${inner}, `;
        }
        const fn = `pe_${op.toLowerCase()}${slice ? '_sliced' : ''}(${slice || `${numel(gd)}, `}`;
        copyIfMoved(i0, o0);
        if (op === 'SGD') {
          const momentum = attrFloat(n, 'momentum', 0);
          if (momentum && n.outputs[1]) copyIfMoved(i2, n.outputs[1]);
          const first = i3 ? `(${ptr(i3)}[0] == 0)` : '0';
          const lrC = `(pe_lr_set ? pe_lr : ${cf(attrFloat(n, 'lr', 0.01))})`;
          emit(`${fn}${ptr(o0)}, ${ptr(i1)}, ${momentum && n.outputs[1] ? ptr(n.outputs[1]) : 'NULL'}, ${lrC}, ${cf(momentum)}, ${cf(attrFloat(n, 'dampening', 0))}, ${cf(attrFloat(n, 'weight_decay', 0))}, ${attrInt(n, 'nesterov', 0)}, ${first});`);
        } else {
          copyIfMoved(i2, n.outputs[1]);
          copyIfMoved(i3, n.outputs[2]);
          const lrC = `(pe_lr_set ? pe_lr : ${cf(attrFloat(n, 'lr', 1e-3))})`;
          emit(`${fn}${ptr(o0)}, ${ptr(i1)}, ${ptr(n.outputs[1])}, ${ptr(n.outputs[2])}, (long)${ptr(i4)}[0] + 1, ${lrC}, ${cf(attrFloat(n, 'beta1', 0.9))}, ${cf(attrFloat(n, 'beta2', 0.999))}, ${cf(attrFloat(n, 'epsilon', 1e-8))}, ${cf(attrFloat(n, 'weight_decay', 0))}, ${attrInt(n, 'decoupled', 0)});`);
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
