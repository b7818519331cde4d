// The reference runtime: importing this module registers every ONNX kernel.

import './kernels';

export { execute, scheduleNodes, initializerTensor, type ExecuteOptions } from './execute';
export { registerKernel, findKernel, registeredOps, type Kernel, type KernelContext } from './kernel';
export { gemm } from './gemm';
export { im2col, col2im, convGeometry, type ConvGeometry } from './im2col';
