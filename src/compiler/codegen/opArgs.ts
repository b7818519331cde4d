// What each operator's kernel call needs, from the node, its operands' shapes and its constant operands
// (Clip bounds, Slice starts, Dropout ratio, ...): shared by the C step (cstep.ts) and the CUDA launchers
// (cuda.ts), so the CPU and the GPU of one export index the same elements with the same parameters. Each
// emitter keeps only how it spells the call.
//
// `values` is every value of the step as the reference runtime computed it once on a zero batch
// (exportValues): the source of the constant operands read here.

import type { Node } from '../ir/graph';
import { attrFloat, attrInt, attrInts } from '../ir/graph';
import { sliceRange } from '../ir/slice';
import type { Tensor } from '../ir/tensor';
import type { CompileResult } from '../compile';
import { convGeometry } from '../runtime/im2col';
import { convAttrs } from '../runtime/kernels/conv';
import { poolGeometry } from '../runtime/kernels/pool';
import type { Conv2dParams } from './kernels/conv';
import { UNARY_GRAD_OPS, UNARY_OPS } from './kernels/elementwise';
import type { Pool2dParams } from './kernels/pool';
import { boxArgs, broadcastArgs, transposeArgs } from './kernels/reduce';

export type Values = Map<string, Tensor>;

export const numel = (d: number[]): number => d.reduce((p, x) => p * x, 1);
export const normAxis = (a: number, r: number): number => (a < 0 ? a + r : a);

/** A float parameter as a C/CUDA literal (float precision, infinities and NaN by their math.h names). */
export function cFloat(v: number): string {
  if (v === Infinity) return 'INFINITY';
  if (v === -Infinity) return '-INFINITY';
  if (Number.isNaN(v)) return 'NAN';
  const s = String(Math.fround(v) === v ? v : Math.fround(v));
  return /[.eE]/.test(s) ? `${s}f` : `${s}.0f`;
}

/** First element of a constant operand (Clip bounds, Dropout ratio); `dflt` when there is none. */
export function scalar(values: Values, v: string | undefined, dflt: number): number {
  const t = v ? values.get(v) : undefined;
  return t ? Number(t.data[0] as number | bigint) : dflt;
}

/** A constant integer operand (Slice starts, Reduce axes); int64 extremes read as ±Infinity. */
export function intList(values: Values, v: string | undefined): number[] | undefined {
  const t = v ? values.get(v) : undefined;
  if (!t) return undefined;
  return Array.from(t.data as ArrayLike<number | bigint>, (x) => {
    const k = Number(x);
    return k > 2 ** 52 ? Infinity : k < -(2 ** 52) ? -Infinity : k;
  });
}

/** N, C and the spatial size S of an [N, C, ...] tensor (BatchNorm, bias gradients, global pooling). */
export function channelDims(d: number[]): { N: number; C: number; S: number } {
  return { N: d[0], C: d[1], S: numel(d.slice(2)) };
}

/** A convolution over x [N, C, (H,) W] with weights w and output y; 1-D runs as 2-D with H = 1. */
export function convArgs(n: Node, x: number[], w: number[], y: number[]): Conv2dParams {
  if (x.length === 3) {
    // One kernel row, no vertical stride, pad or dilation.
    const a = convAttrs(n, 1);
    const kernel = attrInts(n, 'kernel_shape') ?? w.slice(2);
    const geo = convGeometry(x.slice(2), kernel, { ...a });
    return {
      N: x[0], C: x[1], H: 1, W: x[2], M: w[0], KH: 1, KW: kernel[0], OH: 1, OW: y[2],
      sh: 1, sw: geo.strides[0], ph: 0, pw: geo.padsBegin[0], dh: 1, dw: geo.dilations[0], group: a.group,
    };
  }
  if (x.length !== 4) throw new Error(`${n.opType} ${n.id}: only 1-D and 2-D convolutions are exported (input [${x}])`);
  const a = convAttrs(n, 2);
  const kernel = attrInts(n, 'kernel_shape') ?? w.slice(2);
  const geo = convGeometry(x.slice(2), kernel, { ...a });
  return {
    N: x[0], C: x[1], H: x[2], W: x[3], M: w[0], KH: kernel[0], KW: kernel[1], OH: y[2], OW: y[3],
    sh: geo.strides[0], sw: geo.strides[1], ph: geo.padsBegin[0], pw: geo.padsBegin[1], dh: geo.dilations[0], dw: geo.dilations[1], group: a.group,
  };
}

/** The output channels ConvGradWeight computes (a sparse update's `channels`, else all of w's). */
export function convGradWeightChannels(n: Node, w: number[]): number {
  return n.attrs.channels ? attrInt(n, 'channels', w[0]) : w[0];
}

export interface GemmArgs {
  ta: number; tb: number; M: number; N: number; K: number; alpha: number; beta: number;
  /** Strides of the bias C over the output's rows and columns (0 where it broadcasts). */
  cs0: number; cs1: number;
}

/** Gemm of a [M, K] (or its transpose) by b [K, N] (or its transpose), plus the bias of dims c. */
export function gemmArgs(n: Node, a: number[], b: number[], c?: number[]): GemmArgs {
  const ta = attrInt(n, 'transA', 0), tb = attrInt(n, 'transB', 0);
  const M = ta ? a[1] : a[0], K = ta ? a[0] : a[1], N = tb ? b[0] : b[1];
  let cs0 = 0, cs1 = 0;
  if (c) {
    const full = [...new Array(Math.max(0, 2 - c.length)).fill(1), ...c];
    cs0 = full[0] === 1 ? 0 : full[1];
    cs1 = full[1] === 1 ? 0 : 1;
  }
  return { ta, tb, M, N, K, alpha: attrFloat(n, 'alpha', 1), beta: attrFloat(n, 'beta', 1), cs0, cs1 };
}

export interface MatmulArgs {
  ta: number; tb: number; M: number; N: number; K: number;
  /** The broadcast batch dims of the output ([] for one matrix) and each operand's matrix stride over them. */
  dims: number[]; as: number[]; bs: number[];
}

/** MatMul (and MatMulT with its transA/transB) of batched matrices a and b, batch dims broadcast. */
export function matmulArgs(n: Node, a: number[], b: number[]): MatmulArgs {
  const t = n.opType === 'MatMulT';
  const ta = t ? attrInt(n, 'transA', 0) : 0, tb = t ? attrInt(n, 'transB', 0) : 0;
  if (a.length < 2 || b.length < 2) throw new Error(`${n.opType} ${n.id}: 1-D operands are not exported`);
  const M = ta ? a[a.length - 1] : a[a.length - 2], K = ta ? a[a.length - 2] : a[a.length - 1];
  const N = tb ? b[b.length - 2] : b[b.length - 1];
  const ab = a.slice(0, -2), bb = b.slice(0, -2);
  const rank = Math.max(ab.length, bb.length);
  const pa = [...new Array(rank - ab.length).fill(1), ...ab], pb = [...new Array(rank - bb.length).fill(1), ...bb];
  const strides = (dims: number[], mat: number): number[] => {
    const s: number[] = new Array(dims.length).fill(0);
    let acc = mat;
    for (let i = dims.length - 1; i >= 0; i--) { s[i] = dims[i] === 1 ? 0 : acc; acc *= dims[i]; }
    return s;
  };
  return { ta, tb, M, N, K, dims: pa.map((d, i) => Math.max(d, pb[i])), as: strides(pa, M * K), bs: strides(pb, K * N) };
}

export interface UnaryParams { code: number; p0: number; p1: number }

/** Clip's bounds: inputs `lo`/`lo + 1` when present, else the min/max attributes. */
function clipBounds(n: Node, values: Values, lo: number): [number, number] {
  return [
    n.inputs[lo] ? scalar(values, n.inputs[lo], -Infinity) : attrFloat(n, 'min', -Infinity),
    n.inputs[lo + 1] ? scalar(values, n.inputs[lo + 1], Infinity) : attrFloat(n, 'max', Infinity),
  ];
}

/**
 * The elementwise unary kernel's op code and its two parameters (Clip bounds, LeakyRelu/HardSigmoid alpha,
 * beta), for an operator (pe_unary) or its gradient (pe_unary_grad: ClipGrad's bounds are inputs 2 and 3).
 */
export function unaryParams(n: Node, values: Values): UnaryParams {
  const grad = n.opType.endsWith('Grad');
  const op = grad ? n.opType.slice(0, -'Grad'.length) : n.opType;
  let p0 = 0, p1 = 0;
  let code: number = grad ? UNARY_GRAD_OPS[n.opType as keyof typeof UNARY_GRAD_OPS] : UNARY_OPS[op as keyof typeof UNARY_OPS];
  if (op === 'Clip') [p0, p1] = clipBounds(n, values, grad ? 2 : 1);
  else if (op === 'LeakyRelu') p0 = attrFloat(n, 'alpha', 0.01);
  else if (op === 'HardSigmoid') { p0 = attrFloat(n, 'alpha', 0.2); p1 = attrFloat(n, 'beta', 0.5); } else if (op === 'Gelu' && n.attrs.approximate) code = grad ? UNARY_GRAD_OPS.GeluTanhGrad : UNARY_OPS.GeluTanh;
  return { code, p0, p1 };
}

/** How a bit-packed mask is computed from `value`: op 0 (ReluGrad: value > 0) or 1 (ClipGrad: lo <= value <= hi). */
export interface MaskPack { value: string; op: 0 | 1; lo: number; hi: number }

/** The predicate of every `v#mask` of the plan, taken from the gradient operators that read it (all must agree). */
export function maskPacks(r: CompileResult, values: Values): Map<string, MaskPack> {
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
      const [lo, hi] = clipBounds(n, values, 2);
      pk = { value: maskOf.get(m)!, op: 1, lo, hi };
    } else throw new Error(`${n.opType} ${n.id} reads the bit-packed mask ${m}; only ReluGrad and ClipGrad can`);
    const prev = out.get(m);
    if (prev && (prev.op !== pk.op || prev.lo !== pk.lo || prev.hi !== pk.hi)) throw new Error(`the bit-packed mask ${m} is read by gradient operators with different predicates (${n.id})`);
    out.set(m, pk);
  }
  return out;
}

/** Dropout's ratio and training flag (Dropout: inputs 1, 2; DropoutGrad: inputs 2, 3). */
export function dropoutArgs(n: Node, values: Values): { ratio: number; training: boolean } {
  const at = n.opType === 'DropoutGrad' ? 2 : 1;
  const ratio = scalar(values, n.inputs[at], attrFloat(n, 'ratio', 0.5));
  const training = n.inputs[at + 1] ? scalar(values, n.inputs[at + 1], 0) !== 0 : false;
  return { ratio, training };
}

/** x's dims with the reduced axes 1: ReduceSum/ReduceMean (axes from input 1 or the attribute) or ReduceToShape (to od). */
export function reduceKept(n: Node, values: Values, xd: number[], od: number[]): number[] {
  if (n.opType === 'ReduceToShape') return [...new Array(xd.length - od.length).fill(1), ...od];
  const axes = (intList(values, n.inputs[1]) ?? attrInts(n, 'axes') ?? (attrInt(n, 'noop_with_empty_axes', 0) ? [] : xd.map((_, i) => i))).map((a) => normAxis(a, xd.length));
  return xd.map((d, i) => (axes.includes(i) ? 1 : d));
}

/** ReduceGrad: dy (dims dyd) broadcast back over x (dims xd), scaled by 1/count for a mean. */
export function reduceGradArgs(n: Node, values: Values, xd: number[], dyd: number[]): { dims: number[]; xs: number[]; scale: number } {
  const axes = (intList(values, n.inputs[2]) ?? attrInts(n, 'axes') ?? []).map((a) => normAxis(a, xd.length));
  const kept = axes.length ? xd.map((d, i) => (axes.includes(i) ? 1 : d)) : (numel(dyd) === 1 ? xd.map(() => 1) : xd);
  const count = numel(xd) / numel(kept);
  const b = broadcastArgs(kept, xd);
  return { dims: b.dims, xs: b.xs, scale: attrInt(n, 'mean', 0) ? 1 / count : 1 };
}

/** Transpose (perm, default reversed) or Expand of x (dims xd) to y (dims yd) as one strided copy. */
export function stridedCopyArgs(n: Node, xd: number[], yd: number[]): { dims: number[]; xs: number[] } {
  if (n.opType === 'Transpose') return transposeArgs(xd, attrInts(n, 'perm') ?? xd.map((_, i) => xd.length - 1 - i));
  return broadcastArgs(xd, yd);
}

export interface SliceArgs {
  /** Dims of the full tensor (Slice's input, SliceGrad's output) and of the slice (Slice's output, SliceGrad's dy). */
  full: number[]; dims: number[];
  /** Element offset of the slice's first element in the full tensor. */
  offset: number;
  /** Strides of the full tensor over the slice's dims, times each axis' step. */
  strided: number[];
  /** Dense strides of the slice. */
  dense: number[];
}

/** Slice (input 0 to output 0) or SliceGrad (dy, input 0, into output 0): starts/ends/axes/steps from inputs or attributes. */
export function sliceArgs(n: Node, values: Values, dimsOf: (v: string) => number[]): SliceArgs {
  const fwd = n.opType === 'Slice';
  const xd = dimsOf(fwd ? n.inputs[0] : n.outputs[0]), sd = dimsOf(fwd ? n.outputs[0] : n.inputs[0]);
  const base = fwd ? 1 : 2;
  const starts = intList(values, n.inputs[base]) ?? attrInts(n, 'starts') ?? [];
  const ends = intList(values, n.inputs[base + 1]) ?? attrInts(n, 'ends') ?? [];
  const axes = (intList(values, n.inputs[base + 2]) ?? attrInts(n, 'axes') ?? starts.map((_, i) => i)).map((a) => normAxis(a, xd.length));
  const steps = intList(values, n.inputs[base + 3]) ?? starts.map(() => 1);
  const first = xd.map(() => 0), step = xd.map(() => 1);
  axes.forEach((a, k) => { first[a] = sliceRange(xd[a], starts[k], ends[k], steps[k]).first; step[a] = steps[k]; });
  const box = boxArgs(xd, first, sd);
  return { full: xd, dims: sd, offset: box.offset, strided: box.strides.map((s, i) => s * step[i]), dense: box.dense };
}

export interface ConcatPart {
  value: string;
  /** The part's input (Concat) or output (SplitLike) slot. */
  slot: number;
  dims: number[];
  /** Element offset of the part in the full tensor, the full tensor's strides and the part's dense strides. */
  offset: number; strides: number[]; dense: number[];
}

/** The non-empty parts of Concat (inputs into the output) or SplitLike (the input into outputs) along `axis`. */
export function concatParts(n: Node, full: number[], dimsOf: (v: string) => number[]): ConcatPart[] {
  const axis = normAxis(attrInt(n, 'axis', 0), full.length);
  let at = 0;
  const parts: ConcatPart[] = [];
  (n.opType === 'Concat' ? n.inputs : n.outputs).forEach((value, slot) => {
    if (!value) return;
    const pd = dimsOf(value);
    const box = boxArgs(full, full.map((_, i) => (i === axis ? at : 0)), pd);
    at += pd[axis];
    if (numel(pd) !== 0) parts.push({ value, slot, dims: pd, offset: box.offset, strides: box.strides, dense: box.dense });
  });
  return parts;
}

/** Gather/GatherGrad over x (dims xd) along `axis`: the rows before it, its length, the elements after it. */
export function gatherArgs(n: Node, xd: number[]): { outer: number; len: number; inner: number } {
  const axis = normAxis(attrInt(n, 'axis', 0), xd.length);
  return { outer: numel(xd.slice(0, axis)), len: xd[axis], inner: numel(xd.slice(axis + 1)) };
}

/** (Log)Softmax and their gradients over x (dims xd) along `axis`. */
export function softmaxArgs(n: Node, opset: number, xd: number[]): { outer: number; len: number; inner: number; log: number } {
  const op = n.opType;
  const axis = normAxis(attrInt(n, 'axis', opset >= 13 ? -1 : 1), xd.length);
  if (opset < 13 && !op.endsWith('Grad')) throw new Error(`${op} ${n.id}: opset ${opset} softmax (flattened axes) is not exported`);
  return { outer: numel(xd.slice(0, axis)), len: xd[axis], inner: numel(xd.slice(axis + 1)), log: op.startsWith('Log') ? 1 : 0 };
}

/** SoftmaxCrossEntropy over logits xd: rows of C classes. */
export function xentArgs(xd: number[]): { rows: number; C: number } {
  const C = xd[xd.length - 1];
  return { rows: numel(xd) / C, C };
}

/** MaxPool/AveragePool and their gradients over x (dims xd) to y (dims yd); 1-D [N, C, L] runs as 2-D with H = 1. */
export function poolArgs(n: Node, xd: number[], yd: number[]): Pool2dParams {
  if (xd.length !== 4 && xd.length !== 3) throw new Error(`${n.opType} ${n.id}: only 1-D and 2-D pooling is exported (input [${xd}])`);
  const g = poolGeometry(n, xd.slice(2));
  const at = (xs: number[], k: number, one: number): number => (xd.length === 3 ? (k === 0 ? one : xs[0]) : xs[k]);
  return {
    planes: xd[0] * xd[1], H: xd.length === 3 ? 1 : xd[2], W: xd[xd.length - 1], KH: at(g.kernel, 0, 1), KW: at(g.kernel, 1, 1),
    OH: xd.length === 3 ? 1 : yd[2], OW: yd[yd.length - 1], sh: at(g.strides, 0, 1), sw: at(g.strides, 1, 1),
    ph: at(g.padsBegin, 0, 0), pw: at(g.padsBegin, 1, 0), eh: at(g.padsEnd, 0, 0), ew: at(g.padsEnd, 1, 0), dh: at(g.dilations, 0, 1), dw: at(g.dilations, 1, 1),
  };
}

/**
 * A channel-sliced update (SGD/Adam): the gradient (and the state) hold the first `keep` of the parameter's
 * `of` channels along `channel_axis`, in `outer` runs of `inner` elements per channel. Undefined when the
 * gradient has the parameter's shape.
 */
export function channelSlice(n: Node, pd: number[], gd: number[]): { outer: number; keep: number; of: number; inner: number } | undefined {
  if (pd.length === gd.length && pd.every((d, k) => d === gd[k])) return undefined;
  const a = normAxis(attrInt(n, 'channel_axis', 0), pd.length);
  if (gd.length !== pd.length || gd.some((d, k) => (k === a ? d > pd[k] : d !== pd[k]))) throw new Error(`${n.opType} ${n.id}: gradient [${gd}] is neither the parameter's shape [${pd}] nor its first channels along axis ${a}`);
  return { outer: numel(pd.slice(0, a)), keep: gd[a], of: pd[a], inner: numel(pd.slice(a + 1)) };
}

/** SGD's hyper-parameters (lr is the default when the host sets none). */
export function sgdParams(n: Node): { lr: number; momentum: number; dampening: number; weightDecay: number; nesterov: number } {
  return {
    lr: attrFloat(n, 'lr', 0.01), momentum: attrFloat(n, 'momentum', 0), dampening: attrFloat(n, 'dampening', 0),
    weightDecay: attrFloat(n, 'weight_decay', 0), nesterov: attrInt(n, 'nesterov', 0),
  };
}

/** Adam's hyper-parameters. */
export function adamParams(n: Node): { lr: number; beta1: number; beta2: number; epsilon: number; weightDecay: number; decoupled: number } {
  return {
    lr: attrFloat(n, 'lr', 1e-3), beta1: attrFloat(n, 'beta1', 0.9), beta2: attrFloat(n, 'beta2', 0.999), epsilon: attrFloat(n, 'epsilon', 1e-8),
    weightDecay: attrFloat(n, 'weight_decay', 0), decoupled: attrInt(n, 'decoupled', 0),
  };
}
