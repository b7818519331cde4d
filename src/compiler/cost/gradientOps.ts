// FLOPs of the training compiler's own operators (gradient and optimizer operators outside the ONNX
// standard, e.g. domain 'pockengine'), keyed by operator type. Add a line here when autodiff gains an
// operator; an operator missing from every table is costed as one FLOP per output element and flagged
// approximate, so a gap shows in the report instead of breaking it.

import type { OpClass } from './opClass';

export type GradientRule =
  /** Same FLOPs (and class) as the forward node it differentiates: e.g. both convolution gradients. */
  | { like: string }
  /** `flops` per element of the first output. */
  | { opClass: OpClass; perOutputElement: number }
  /** `flops` per element of the largest input (reductions back to a smaller shape). */
  | { opClass: OpClass; perInputElement: number };

export const GRADIENT_OPS: Record<string, GradientRule> = {
  // Convolution and GEMM gradients each cost one forward pass worth of multiply-adds.
  ConvGradInput: { like: 'Conv' },
  ConvGradWeight: { like: 'Conv' },
  ConvBackwardData: { like: 'Conv' },
  ConvBackwardWeight: { like: 'Conv' },
  ConvTransposeGradInput: { like: 'ConvTranspose' },
  ConvTransposeGradWeight: { like: 'ConvTranspose' },
  // The autodiff's own names (src/compiler/runtime/grad/OPS.md).
  MatMulT: { like: 'MatMul' },
  SoftmaxCrossEntropy: { opClass: 'reduction', perInputElement: 5 },
  ReduceGrad: { opClass: 'elementwise', perOutputElement: 1 },
  BatchNormGrad: { opClass: 'reduction', perInputElement: 10 },
  LayerNormGrad: { opClass: 'reduction', perInputElement: 10 },
  InstanceNormGrad: { opClass: 'reduction', perInputElement: 10 },
  LeakyReluGrad: { opClass: 'elementwise', perOutputElement: 2 },
  SplitLike: { opClass: 'data', perOutputElement: 0 },
  SliceGrad: { opClass: 'data', perOutputElement: 0 },
  PadGrad: { opClass: 'data', perOutputElement: 0 },
  TileGrad: { opClass: 'reduction', perInputElement: 1 },
  MatMulGradA: { like: 'MatMul' },
  MatMulGradB: { like: 'MatMul' },
  GemmGradA: { like: 'Gemm' },
  GemmGradB: { like: 'Gemm' },
  // Bias and broadcast gradients sum the incoming gradient down to a smaller shape.
  ConvGradBias: { opClass: 'reduction', perInputElement: 1 },
  ReduceToShape: { opClass: 'reduction', perInputElement: 1 },
  SumToShape: { opClass: 'reduction', perInputElement: 1 },
  // Activation gradients: dy times the local derivative.
  ReluGrad: { opClass: 'elementwise', perOutputElement: 1 },
  ClipGrad: { opClass: 'elementwise', perOutputElement: 2 },
  SigmoidGrad: { opClass: 'elementwise', perOutputElement: 3 },
  TanhGrad: { opClass: 'elementwise', perOutputElement: 3 },
  HardSigmoidGrad: { opClass: 'elementwise', perOutputElement: 3 },
  HardSwishGrad: { opClass: 'elementwise', perOutputElement: 5 },
  GeluGrad: { opClass: 'elementwise', perOutputElement: 8 },
  ErfGrad: { opClass: 'elementwise', perOutputElement: 4 },
  DropoutGrad: { opClass: 'elementwise', perOutputElement: 1 },
  // Normalisation and softmax gradients: two reductions over the input and an elementwise pass.
  BatchNormalizationGrad: { opClass: 'reduction', perInputElement: 10 },
  LayerNormalizationGrad: { opClass: 'reduction', perInputElement: 10 },
  InstanceNormalizationGrad: { opClass: 'reduction', perInputElement: 10 },
  SoftmaxGrad: { opClass: 'reduction', perOutputElement: 4 },
  LogSoftmaxGrad: { opClass: 'reduction', perOutputElement: 4 },
  SoftmaxCrossEntropyLossGrad: { opClass: 'reduction', perOutputElement: 6 },
  // Pooling gradients scatter dy back over the windows.
  MaxPoolGrad: { opClass: 'data', perOutputElement: 1 },
  AveragePoolGrad: { opClass: 'elementwise', perOutputElement: 1 },
  GlobalAveragePoolGrad: { opClass: 'elementwise', perOutputElement: 1 },
  GatherGrad: { opClass: 'data', perInputElement: 1 },
  // Optimizer steps per parameter element: SGD with momentum, weight decay and nesterov is at most
  // 6 FLOP; Adam/AdamW about 15 (two moments, bias corrections, sqrt, divide, decay).
  SGD: { opClass: 'elementwise', perOutputElement: 6 },
  SGDUpdate: { opClass: 'elementwise', perOutputElement: 6 },
  Momentum: { opClass: 'elementwise', perOutputElement: 6 },
  Adam: { opClass: 'elementwise', perOutputElement: 15 },
  AdamW: { opClass: 'elementwise', perOutputElement: 15 },
  AdamUpdate: { opClass: 'elementwise', perOutputElement: 15 },
};
