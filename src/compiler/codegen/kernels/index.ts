// The C kernel library: every family by name, the operators each serves, and the emission of a single C
// translation unit holding only the families a model uses (with their dependencies, each once, in order).

import { common } from './common';
import { conv2d } from './conv';
import { elementwise } from './elementwise';
import { gemm } from './gemm';
import { movement } from './movement';
import { norm } from './norm';
import { optim } from './optim';
import { pool } from './pool';
import { reduce } from './reduce';
import { softmax } from './softmax';
import type { CKernel } from './types';

export type { CKernel } from './types';

const families: CKernel[] = [common, gemm, conv2d, elementwise, reduce, movement, softmax, norm, pool, optim];

export const kernelFamilies: ReadonlyMap<string, CKernel> = new Map(families.map((k) => [k.name, k]));

/** Operator (ONNX op type, or the 'pockengine' gradient operator's) -> the kernel family that runs it. */
export const opFamilies: Readonly<Record<string, string>> = {
  Gemm: 'gemm', MatMul: 'gemm', MatMulT: 'gemm',
  Conv: 'conv2d', ConvGradInput: 'conv2d', ConvGradWeight: 'conv2d', ConvGradBias: 'conv2d',
  Add: 'elementwise', Sub: 'elementwise', Mul: 'elementwise', Div: 'elementwise', Pow: 'elementwise',
  Relu: 'elementwise', Neg: 'elementwise', Sigmoid: 'elementwise', Tanh: 'elementwise', Exp: 'elementwise',
  Sqrt: 'elementwise', Erf: 'elementwise', Gelu: 'elementwise', HardSwish: 'elementwise', HardSigmoid: 'elementwise',
  Clip: 'elementwise', Log: 'elementwise', Abs: 'elementwise', LeakyRelu: 'elementwise', Reciprocal: 'elementwise',
  Softplus: 'elementwise', Cos: 'elementwise', Sin: 'elementwise',
  Sum: 'elementwise', Where: 'elementwise', Dropout: 'elementwise', DropoutGrad: 'elementwise', Cast: 'elementwise',
  // No kernel: the code generator aliases the buffer (or copies it when the plan gives it its own place),
  // and Constant values are baked into the weights file.
  Identity: 'common', Reshape: 'common', Flatten: 'common', Squeeze: 'common', Unsqueeze: 'common', Constant: 'common',
  ReluGrad: 'elementwise', SigmoidGrad: 'elementwise', TanhGrad: 'elementwise', HardSigmoidGrad: 'elementwise',
  HardSwishGrad: 'elementwise', GeluGrad: 'elementwise', ErfGrad: 'elementwise', LeakyReluGrad: 'elementwise',
  SoftplusGrad: 'elementwise', ClipGrad: 'elementwise',
  ReduceSum: 'reduce', ReduceMean: 'reduce', ReduceToShape: 'reduce', ReduceGrad: 'reduce', Transpose: 'reduce', Expand: 'reduce',
  Slice: 'reduce', SliceGrad: 'reduce', Concat: 'reduce', Split: 'reduce', SplitLike: 'reduce', Pad: 'reduce', PadGrad: 'reduce',
  Gather: 'movement', GatherGrad: 'movement',
  Softmax: 'softmax', LogSoftmax: 'softmax', SoftmaxGrad: 'softmax', LogSoftmaxGrad: 'softmax',
  SoftmaxCrossEntropy: 'softmax', SoftmaxCrossEntropyGrad: 'softmax',
  BatchNormalization: 'norm', BatchNormGrad: 'norm',
  MaxPool: 'pool', MaxPoolGrad: 'pool', AveragePool: 'pool', AveragePoolGrad: 'pool',
  GlobalAveragePool: 'pool', GlobalAveragePoolGrad: 'pool',
  SGD: 'optim', Adam: 'optim',
};

/** The family that runs `op`, or an error naming the operator. */
export function familyOf(op: string): string {
  const f = opFamilies[op];
  if (!f) throw new Error(`the C back end has no kernel for operator ${op}`);
  return f;
}

/** The families `names` need, dependencies first, each once. */
export function resolveFamilies(names: Iterable<string>): CKernel[] {
  const out: CKernel[] = [];
  const seen = new Set<string>();
  const visit = (name: string, path: string[]): void => {
    if (seen.has(name)) return;
    if (path.includes(name)) throw new Error(`kernel families depend on each other in a cycle: ${[...path, name].join(' -> ')}`);
    const k = kernelFamilies.get(name);
    if (!k) throw new Error(`unknown C kernel family '${name}'`);
    for (const d of k.deps) visit(d, [...path, name]);
    seen.add(name);
    out.push(k);
  };
  for (const n of names) visit(n, []);
  return out;
}

/** One C source holding the kernel families `names` need (for operators: `names` from familyOf). */
export function emitKernels(names: Iterable<string>): string {
  const parts = resolveFamilies(names).map((k) => k.source);
  return `/* PockEngine C kernels: generated, do not edit. */\n${parts.join('\n')}`;
}
