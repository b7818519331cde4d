// The contract between the reference runtime's executor and its kernels. A kernel computes a node's
// outputs from its inputs; ONNX operators and the compiler's own gradient operators register the same way.

import type { Node } from '../ir/graph';
import type { Tensor } from '../ir/tensor';

export interface KernelContext {
  /** Opset version of the node's domain in the model being run. */
  opset: number;
}

/** inputs[i] is undefined where the node omits optional input i (''). Returns one tensor per output. */
export type Kernel = (inputs: (Tensor | undefined)[], node: Node, ctx: KernelContext) => Tensor[];

const registry = new Map<string, Kernel>();

const key = (domain: string, opType: string): string => `${domain === 'ai.onnx' ? '' : domain}::${opType}`;

export function registerKernel(opType: string, kernel: Kernel, domain = ''): void {
  registry.set(key(domain, opType), kernel);
}

export function findKernel(opType: string, domain = ''): Kernel | undefined {
  return registry.get(key(domain, opType));
}

export function registeredOps(): string[] {
  return [...registry.keys()];
}
