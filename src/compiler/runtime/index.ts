// The reference runtime: importing this module registers every kernel, ONNX and gradient operators alike.

import './kernels';
// The compiler's own gradient operators (domain 'pockengine'), so any training graph runs from here.
import './grad';

export { execute, scheduleNodes, initializerTensor, type ExecuteOptions } from './execute';
export { registerKernel, findKernel, registeredOps, type Kernel, type KernelContext } from './kernel';
export { gemm } from './gemm';
export { im2col, col2im, convGeometry, type ConvGeometry } from './im2col';
