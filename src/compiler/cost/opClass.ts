// Operator classes for the cost model: each class reaches its own fraction of a unit's peak (a GEMM runs
// near peak, a depthwise convolution far below it, a transpose only moves bytes). 'none' is an operator
// that costs nothing at run time: a view (Reshape, Squeeze...) or a value known before the step (Shape).

export type OpClass = 'gemm' | 'conv' | 'depthwise' | 'elementwise' | 'reduction' | 'data' | 'none';

const CLASS_OF: Record<string, OpClass> = {
  MatMul: 'gemm', Gemm: 'gemm',
  Conv: 'conv', ConvTranspose: 'conv',
  BatchNormalization: 'reduction', LayerNormalization: 'reduction', InstanceNormalization: 'reduction',
  Softmax: 'reduction', LogSoftmax: 'reduction', SoftmaxCrossEntropyLoss: 'reduction',
  ReduceMean: 'reduction', ReduceSum: 'reduction', ReduceMax: 'reduction', ReduceMin: 'reduction', ReduceProd: 'reduction',
  ReduceSumSquare: 'reduction', ReduceL2: 'reduction',
  MaxPool: 'reduction', AveragePool: 'reduction', GlobalAveragePool: 'reduction', GlobalMaxPool: 'reduction',
  Transpose: 'data', Concat: 'data', Split: 'data', Slice: 'data', Gather: 'data', GatherElements: 'data',
  ScatterElements: 'data', Expand: 'data', Tile: 'data', Pad: 'data', Cast: 'data', Trilu: 'data',
  ConstantOfShape: 'data', Range: 'data',
  Reshape: 'none', Flatten: 'none', Squeeze: 'none', Unsqueeze: 'none', Identity: 'none', Shape: 'none',
  Constant: 'none', Size: 'none',
};

/** The class an operator type falls in by name; unknown operators count as elementwise. */
export function classOfOpType(opType: string): OpClass {
  return CLASS_OF[opType] ?? 'elementwise';
}
